"""From raw files to arrays, and the cache that makes the second load take a fraction of a second.

The readers turn a data set's raw files into two numpy arrays,

- ``images``: uint8, shape N x C x H x W (channels first, as PyTorch expects);
- ``labels``: int64, shape N,

and check the STRUCTURE of what they read (keys, shapes, dtypes, label range,
counts). A file that is damaged or is not what it claims to be gives a
``DataFormatError`` saying what was expected, what was found and what to do.

The cache keeps each decoded split in ``<data dir>/cache/<name>-<split>.npz``
(uncompressed, so it reads fast) with a *fingerprint* of the raw files it came
from (names, sizes, modification times). A cache whose fingerprint no longer
matches, that is damaged, or whose arrays cannot be this data set (wrong image
shape, labels out of range, wrong count) is never used: the split is decoded
again. A data folder you may not write to (a class's shared, read-only copy)
gets its cache in your own cache folder instead (``own_folder``), so nothing is
ever written into it. Files are written under a ``.part`` name and renamed.

Example::

    images, labels = read_cifar10(info, Path("data/cifar-10-batches-py"), "test", 10_000)
    arrays = read_cache(info, "test", Path("data"), folder)   # None: missing, stale, damaged or implausible
"""
from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import pickle
import secrets
import struct
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import DATA_DIR_ENV, user_cache_dir

if TYPE_CHECKING:   # (registry imports this module; the type is only named here)
    from .registry import DatasetInfo


class DataFormatError(ValueError):
    """A data file exists but its content is not what the data set should hold.

    ``path`` is the file (or folder) and ``problem`` what is wrong with it, when known.
    """

    path: Path | None = None
    problem: str | None = None


def _fail(path: Path, problem: str, advice: str | None = None) -> DataFormatError:
    """A DataFormatError that names the file and says what to do about it."""
    if advice is None:
        advice = ("Delete it (or its folder) and load the data set again to download a fresh copy, "
                  "or replace it with the original file.")
    error = DataFormatError(f"{path} does not look like the expected data file: {problem}. {advice}")
    error.path, error.problem = path, problem
    return error


def _check_labels(path: Path, labels: np.ndarray, num_classes: int, absent: tuple[int, ...] = ()) -> None:
    if labels.size == 0:
        raise _fail(path, "it holds no images")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise _fail(path, f"labels should lie in 0..{num_classes - 1}, found {low}..{high}")
    for label in absent:
        if np.any(labels == label):
            raise _fail(path, f"label {label} should never occur, but it does")


def _check_count(path: Path, found: int, expected: int | None) -> None:
    if expected is not None and found != expected:
        raise _fail(path, f"expected {expected:,} images, found {found:,} (is the file incomplete?)")


# ---------------------------------------------------------------------------
# CIFAR-10: pickled Python dictionaries ("python version" of the data set)
# ---------------------------------------------------------------------------

def _load_pickle(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"Missing data file {path}.")
    try:
        with open(path, "rb") as f:
            # The official files were pickled by Python 2: keys come back as bytes.
            content = pickle.load(f, encoding="bytes")
    except Exception as error:  # any unpickling problem means a damaged file
        raise _fail(path, f"it cannot be unpickled ({error.__class__.__name__}: {error})") from error
    if not isinstance(content, dict):
        raise _fail(path, f"expected a pickled dict, found {type(content).__name__}")
    return content


def read_cifar10(info: DatasetInfo, folder: Path, split: str, expected: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Decode CIFAR-10 from the official ``cifar-10-batches-py`` folder.

    Each batch file is a pickled dict with ``b"data"`` (a uint8 array, one row of
    3072 = 3 x 32 x 32 values per image: all red values, then green, then blue)
    and ``b"labels"`` (a list of ints 0-9). ``batches.meta`` holds the class names.

    Example::

        images, labels = read_cifar10(dataset_info("cifar10"), Path("data/cifar-10-batches-py"), "test", 10_000)
        print(images.shape, labels.shape)   # (10000, 3, 32, 32) (10000,)
    """
    channels, height, width = info.image_shape
    row_length = channels * height * width
    batch_names = [name for name in info.split_files(split) if name != "batches.meta"]
    per_batch = expected // len(batch_names) if expected is not None else None

    meta_path = folder / "batches.meta"
    names = _load_pickle(meta_path).get(b"label_names")
    if not isinstance(names, list) or len(names) != len(info.classes):
        raise _fail(meta_path, f"expected {len(info.classes)} class names under b'label_names'")

    all_images, all_labels = [], []
    for name in batch_names:
        path = folder / name
        batch = _load_pickle(path)
        for key in (b"data", b"labels"):
            if key not in batch:
                raise _fail(path, f"the key {key!r} is missing (found {sorted(batch)})")
        data = batch[b"data"]
        labels = np.asarray(batch[b"labels"])
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row_length:
            found = f"{type(data).__name__} {getattr(data, 'dtype', '')} {getattr(data, 'shape', '')}"
            raise _fail(path, f"b'data' should be a uint8 array N x {row_length}, found {found}")
        if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
            raise _fail(path, f"b'labels' should hold {len(data)} whole numbers, found {labels.shape} {labels.dtype}")
        _check_labels(path, labels, len(info.classes))
        if per_batch is not None and len(data) != per_batch:
            raise _fail(path, f"expected {per_batch:,} images in this batch, found {len(data):,}")
        all_images.append(data.reshape(-1, channels, height, width))
        all_labels.append(labels.astype(np.int64))

    images, labels = np.concatenate(all_images), np.concatenate(all_labels)
    _check_count(folder, len(images), expected)
    return images, labels


# ---------------------------------------------------------------------------
# Fashion-MNIST: gzipped IDX files (a tiny header, then raw bytes)
# ---------------------------------------------------------------------------

IDX_IMAGES_MAGIC = 2051   # 0x00000803: unsigned bytes, 3 dimensions (N, rows, cols)
IDX_LABELS_MAGIC = 2049   # 0x00000801: unsigned bytes, 1 dimension (N)


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST format) into a uint8 array.

    The header is a big-endian 4-byte magic number whose last byte is the number
    of dimensions, then one 4-byte size per dimension; the data follow.

    Example:
        >>> read_idx(Path("t10k-labels-idx1-ubyte.gz"), IDX_LABELS_MAGIC).shape   # doctest: +SKIP
        (10000,)
    """
    if not path.is_file():
        raise FileNotFoundError(f"Missing data file {path}.")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise _fail(path, f"it cannot be decompressed ({error})") from error
    if len(raw) < 4:
        raise _fail(path, "it is too short to hold an IDX header")
    (found_magic,) = struct.unpack(">i", raw[:4])
    if found_magic != magic:
        raise _fail(path, f"IDX magic number should be {magic}, found {found_magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    expected_bytes = int(np.prod(shape))
    if len(raw) - header != expected_bytes:
        raise _fail(path, f"header promises {shape} = {expected_bytes:,} bytes, found {len(raw) - header:,}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_fashion_mnist(info: DatasetInfo, folder: Path, split: str,
                       expected: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Decode Fashion-MNIST from its four official ``*-ubyte.gz`` IDX files.

    Example::

        folder = Path("/usr/share/datasets/fashion-mnist")
        images, labels = read_fashion_mnist(dataset_info("fashion_mnist"), folder, "test", 10_000)
        print(images.shape)   # (10000, 1, 28, 28)
    """
    image_name, label_name = info.split_files(split)
    image_path, label_path = folder / image_name, folder / label_name
    images = read_idx(image_path, IDX_IMAGES_MAGIC)
    labels = read_idx(label_path, IDX_LABELS_MAGIC).astype(np.int64)
    _, height, width = info.image_shape
    if images.shape[1:] != (height, width):
        raise _fail(image_path, f"images should be {height} x {width}, found {images.shape[1]} x {images.shape[2]}")
    if len(images) != len(labels):
        raise _fail(label_path, f"{len(labels):,} labels for {len(images):,} images in {image_name}")
    _check_labels(label_path, labels, len(info.classes))
    _check_count(image_path, len(images), expected)
    return images[:, None, :, :].copy(), labels


# ---------------------------------------------------------------------------
# Sign-Language MNIST: CSV, a "label" column then pixel1 ... pixel784
# ---------------------------------------------------------------------------

SIGN_COLUMNS = ["label"] + [f"pixel{i}" for i in range(1, 785)]
#: The file that marks a folder of synthetic stand-in data (see ``synthetic.py``).
SYNTHETIC_MARKER = "SYNTHETIC.txt"
SIGN_ABSENT_LABELS = (9,)   # J needs motion, so it has no images (Z = 25 is outside 0..24)


def read_sign_language(info: DatasetInfo, folder: Path, split: str,
                       expected: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Decode Sign-Language MNIST from ``sign_mnist_train.csv`` / ``sign_mnist_test.csv``.

    Each row is one 28 x 28 grey image: its label (0-24, never 9) and 784 pixel
    values 0-255, row by row.

    Example::

        folder = Path("data/sign-language-mnist")
        images, labels = read_sign_language(dataset_info("sign_language_mnist"), folder, "test", 7_172)
        print(images.shape)   # (7172, 1, 28, 28)
    """
    import pandas as pd   # imported here: only this reader needs pandas

    (name,) = info.split_files(split)
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"Missing data file {path}.")
    if path.stat().st_size == 0:
        raise _fail(path, "it is empty (0 bytes)")
    try:
        table = pd.read_csv(path)
    except Exception as error:
        raise _fail(path, f"it cannot be read as CSV ({error.__class__.__name__}: {error})") from error
    columns = [str(column) for column in table.columns]
    if columns != SIGN_COLUMNS:
        raise _fail(path, f"expected 785 columns 'label,pixel1,...,pixel784', found {len(columns)} "
                          f"starting {','.join(columns[:3])}")
    if len(table) == 0:
        raise _fail(path, "it has the header line but no rows of images (an interrupted copy?)")
    values = table.to_numpy()
    if not np.issubdtype(values.dtype, np.integer):
        raise _fail(path, "every value should be a whole number (some are empty or not numbers)")
    pixels, labels = values[:, 1:], values[:, 0].astype(np.int64)
    if pixels.min() < 0 or pixels.max() > 255:
        raise _fail(path, f"pixel values should lie in 0..255, found {pixels.min()}..{pixels.max()}")
    _check_labels(path, labels, len(info.classes), absent=SIGN_ABSENT_LABELS)
    _check_count(path, len(labels), expected)
    _, height, width = info.image_shape
    return pixels.astype(np.uint8).reshape(-1, 1, height, width), labels


# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------

#: Bump this when the cache layout or a reader changes: old cache files are then rebuilt.
CACHE_FORMAT_VERSION = 2
#: A ``.part`` file in a cache folder older than this was left by a process that died while writing.
STALE_PART_SECONDS = 60 * 60

#: Error numbers that mean "you may not write here" and "the disk is full".
READ_ONLY_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS}
DISK_FULL_ERRORS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

#: The data folders for which this process has already said where their cache goes instead.
_told: set[str] = set()


def own_folder(root: Path) -> Path:
    """Your own folder that stands in for the data folder ``root`` when you may not write to it.

    It lies in ``config.user_cache_dir()`` (``~/.cache/course-utils`` unless
    ``XDG_CACHE_HOME`` says otherwise), one sub-folder per data folder, e.g.
    ``~/.cache/course-utils/course-data-1f3a9c0e``. Not created here.
    """
    resolved = Path(root).resolve()
    return user_cache_dir() / f"{resolved.name or 'data'}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


def cache_path(root: Path, name: str, split: str, synthetic: bool = False) -> Path:
    """Where the decoded arrays of one split are cached: ``<root>/cache/<name>-<split>.npz``.

    Synthetic stand-ins get their own file, ``<name>-synthetic-<split>.npz``.
    """
    middle = f"{name}-synthetic" if synthetic else name
    return Path(root) / "cache" / f"{middle}-{split}.npz"


def fingerprint(info: DatasetInfo, root: Path, folder: Path, split: str) -> str:
    """A text that changes whenever the raw files change (their sizes and modification times).

    Paths inside the data folder are relative to it, so a data folder that is
    moved or unpacked elsewhere (with its modification times) keeps its cache.
    """
    files = []
    for file_name in info.split_files(split):
        path = Path(folder) / file_name
        stat = path.stat()
        try:
            shown = str(path.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            shown = str(path.resolve())
        files.append([shown, stat.st_size, stat.st_mtime_ns])
    return json.dumps({"version": CACHE_FORMAT_VERSION, "name": info.name, "split": split, "files": files})


def read_cache(info: DatasetInfo, split: str, root: Path, folder: Path,
               synthetic: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (images, labels) of ``split``, from the data folder's cache or your own; or None.

    None means: no cache, or one that is stale, damaged, or whose arrays cannot
    be this data set. Each of those is said in one line, and never used.
    """
    stamp = fingerprint(info, root, folder, split)
    problems = []
    for place in (Path(root), own_folder(root)):
        path = cache_path(place, info.name, split, synthetic)
        if path.is_file():
            arrays, problem = _read_one_cache(path, stamp, info, split, synthetic)
            if arrays is not None:
                return arrays
            problems.append(problem)
    for problem in problems:
        print(f"{problem}: decoding again.")
    return None


def _read_one_cache(path: Path, stamp: str, info: DatasetInfo, split: str,
                    synthetic: bool) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
    """(the arrays, "") from one cache file, or (None, why it cannot be used)."""
    try:
        with np.load(path, allow_pickle=False) as cached:
            if str(cached["source"]) != stamp:
                return None, f"The raw files changed since {path} was written"
            images, labels = cached["images"], cached["labels"]
        if images.dtype != np.uint8 or images.ndim != 4 or labels.dtype != np.int64 or labels.shape != images.shape[:1]:
            raise ValueError("unexpected arrays")
    except Exception as error:   # truncated or otherwise damaged files fail in many ways
        return None, f"The cache file {path} is damaged ({error.__class__.__name__})"
    problem = implausible(info, split, images, labels, synthetic)
    if problem:
        return None, f"The cache file {path} cannot hold {info.title}'s {split} split ({problem})"
    return (images, labels), ""


def implausible(info: DatasetInfo, split: str, images: np.ndarray, labels: np.ndarray,
                synthetic: bool = False) -> str:
    """Why these arrays cannot be ``split`` of this data set, or "" when they can."""
    if tuple(images.shape[1:]) != tuple(info.image_shape):
        shape = "×".join(map(str, images.shape[1:]))
        return f"images of {shape}, expected {'×'.join(map(str, info.image_shape))}"
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= len(info.classes)):
        return f"labels {int(labels.min())}..{int(labels.max())}, expected 0..{len(info.classes) - 1}"
    expected = None if synthetic else info.split_size(split)
    if expected is not None and len(labels) != expected:
        return f"{len(labels):,} images, expected {expected:,}"
    return ""


def write_cache(info: DatasetInfo, split: str, root: Path, folder: Path, images: np.ndarray, labels: np.ndarray,
                synthetic: bool = False) -> None:
    """Save the arrays uncompressed (fast to read): in the data folder's cache, or in your own if it is read-only."""
    stamp = np.array(fingerprint(info, root, folder, split))

    def save(file) -> None:
        np.savez(file, images=images, labels=labels, source=stamp)

    _write_where_allowed(root, cache_path(Path("."), info.name, split, synthetic), save,
                         "the data will be decoded again next time")


def statistics_path(name: str, synthetic: bool = False) -> Path:
    """Where a computed mean/std is kept, relative to the data folder: ``cache/<name>-train.stats.json``."""
    return cache_path(Path("."), name, "train", synthetic).with_suffix(".stats.json")


def read_statistics(info: DatasetInfo, root: Path, folder: Path,
                    synthetic: bool = False) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The kept (mean, std) of the training split for these raw files; None when missing, stale or damaged."""
    stamp = fingerprint(info, root, folder, "train")
    for place in (Path(root), own_folder(root)):
        try:
            saved = json.loads((place / statistics_path(info.name, synthetic)).read_text())
            if saved["source"] == stamp:
                return tuple(float(m) for m in saved["mean"]), tuple(float(s) for s in saved["std"])
        except (OSError, ValueError, KeyError, TypeError):
            pass   # not written yet, or damaged: compute them (again)
    return None


def write_statistics(info: DatasetInfo, root: Path, folder: Path, mean: tuple[float, ...], std: tuple[float, ...],
                     synthetic: bool = False) -> None:
    """Keep (mean, std) beside the cache, written like a cache file (``.part`` name, then rename)."""
    text = json.dumps({"source": fingerprint(info, root, folder, "train"), "mean": mean, "std": std}).encode()
    _write_where_allowed(root, statistics_path(info.name, synthetic), lambda file: file.write(text),
                         "the statistics will be computed again next time")


def _write_where_allowed(root: Path, relative: Path, write, consequence: str) -> None:
    """Write ``root / relative``; if ``root`` is read-only, write it into ``own_folder(root)`` instead.

    Only a read-only data folder sends the file elsewhere (said once per folder). A
    full disk, a file where the cache folder should be, or a read-only own folder
    too end in one warning: the data are used without a cache.
    """
    root = Path(root)
    try:
        _write_atomically(root / relative, write)
        return
    except OSError as error:
        if error.errno not in READ_ONLY_ERRORS:
            _warn_no_cache(root / relative, error, consequence)
            return
    own = own_folder(root)
    if str(root) not in _told:
        _told.add(str(root))
        print(f"The data folder {root} is read-only for you (a shared copy?), so nothing is written into it: "
              f"decoded arrays are kept in {own} instead.", flush=True)
    try:
        _write_atomically(own / relative, write)
    except OSError as error:
        _warn_no_cache(own / relative, error, consequence)


def _write_atomically(path: Path, write) -> None:
    """Create ``path`` through a ``.part`` file (``write(file)`` fills it), then rename; clean up on failure."""
    made = [parent for parent in (path.parent, path.parent.parent) if not parent.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path.parent)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")   # one per writer: no lock needed
    try:
        with open(temp, "xb") as file:
            write(file)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        for folder in made:   # leave the folders as they were
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def _remove_stale_parts(folder: Path) -> None:
    """Remove ``.part`` files that a process which died while writing left in ``folder``."""
    for leftover in folder.glob(".*.part"):
        try:
            if time.time() - leftover.stat().st_mtime > STALE_PART_SECONDS:
                leftover.unlink()
        except OSError:
            pass   # removed by someone else meanwhile, or not ours to remove


#: The folders for which this process has already warned that no cache can be written.
_warned_folders: set[str] = set()


def _warn_no_cache(path: Path, error: OSError, consequence: str) -> None:
    """Say once per folder that ``path`` could not be written, and why."""
    folder = path.parent.parent
    if str(folder) in _warned_folders:
        return
    _warned_folders.add(str(folder))
    if error.errno in READ_ONLY_ERRORS:
        message = (f"Neither the data folder nor your own cache folder {folder} can be written, so the data are "
                   f"loaded without a cache ({consequence}). That works; to get a cache, set XDG_CACHE_HOME to a "
                   f"folder you can write to, or copy the data and point {DATA_DIR_ENV} (or root=) at the copy.")
    elif error.errno in DISK_FULL_ERRORS:
        message = (f"The disk is full, so the cache file {path} was not written; {consequence}. "
                   f"Free some space to get a cache.")
    elif path.parent.exists() and not path.parent.is_dir():
        message = (f"{path.parent} is a file, not a folder, so the cache file {path.name} cannot be written there; "
                   f"{consequence}. Move that file away to get a cache.")
    else:
        message = f"Could not write the cache file {path} ({error.__class__.__name__}: {error}); {consequence}."
    warnings.warn(message, stacklevel=4)
