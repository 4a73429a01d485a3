"""The registry of course data sets, and readers that decode their raw files.

Each data set is described once, by a ``DatasetInfo``: where to download its
files (``RemoteFile``: URL + checksum), the folder they live in inside the
data directory, the class names, the image shape, and the mean and standard
deviation used to normalise the images.

The readers turn raw files into two numpy arrays,

- ``images``: uint8, shape N x C x H x W (channels first, as PyTorch expects);
- ``labels``: int64, shape N,

and check the STRUCTURE of what they read (keys, shapes, dtypes, label range,
counts). A file that is damaged or is not what it claims to be gives a
``DataFormatError`` saying what was expected, what was found and what to do.

Example:
    >>> from course_utils.datasets import dataset_info
    >>> info = dataset_info("cifar10")
    >>> info.classes[:3], info.image_shape
    (('airplane', 'automobile', 'bird'), (3, 32, 32))
"""
from __future__ import annotations

import difflib
import gzip
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

SPLITS = ("train", "test")

#: Name of the marker file that identifies a folder of synthetic stand-in data.
SYNTHETIC_MARKER = "SYNTHETIC.txt"


class DataFormatError(ValueError):
    """A data file exists but its content is not what the data set should hold.

    ``path`` is the file (or folder) and ``problem`` what is wrong with it, when known.
    """

    path: Path | None = None
    problem: str | None = None


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: where from, its name on disk, and how to check it.

    ``md5`` / ``sha256`` / ``size`` are checked after the download when given.
    ``warn_only=True`` turns a checksum or size mismatch into a warning; we use it
    when the published checksum was never confirmed for this exact URL (the file's
    structure is still checked strictly by the reader).

    Example:
        >>> RemoteFile("https://example.org/a.csv", "a.csv", sha256="ab12...")   # doctest: +SKIP
    """

    url: str
    filename: str
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    warn_only: bool = False


Reader = Callable[["DatasetInfo", Path, str, "int | None"], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class DatasetInfo:
    """Everything the loaders need to know about one data set.

    Fields:
        name: the short key used in code, e.g. ``"cifar10"``.
        title: the name for people, e.g. ``"CIFAR-10"``.
        classes: class names, indexed by label.
        image_shape: (channels, height, width).
        mean, std: per-channel statistics of the training images scaled to [0, 1],
            used by ``normalize``; None means "computed from the training split".
        files: what to download (for CIFAR-10: one archive).
        homepage, citation, license: where the data comes from and whom to credit.
        folder: the sub-folder of the data directory that holds the raw files.
        train_files, test_files: the raw files each split is read from.
        train_size, test_size: the official number of images (None: not checked).
        reader: the function that decodes a split (see ``read_cifar10``).
        archive: True when ``files[0]`` is an archive that unpacks into ``folder``.
        system_folders: places outside the data directory where an operating
            system package may already have put the files. Such a folder is used
            in place when all of a split's files are there; nothing else is
            checked at that point (not their checksums: Debian recompresses
            Fashion-MNIST). Their content is checked, like any raw file's, by the
            reader when the split is decoded.
        has_synthetic: True when a synthetic stand-in can replace the data in tests.

    To fetch the data from somewhere else (a mirror, or a local test server), make
    a modified copy: ``dataclasses.replace(info, files=(RemoteFile(...),))`` and
    pass it to ``load_dataset(..., info=...)``.
    """

    name: str
    title: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    files: tuple[RemoteFile, ...]
    homepage: str
    citation: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    train_size: int | None
    test_size: int | None
    reader: Reader = field(repr=False, compare=False)
    archive: bool = False
    system_folders: tuple[str, ...] = ()
    has_synthetic: bool = False
    license: str = ""

    def split_files(self, split: str) -> tuple[str, ...]:
        """The raw file names that ``split`` ("train" or "test") is read from."""
        check_split(split)
        return self.train_files if split == "train" else self.test_files

    def split_size(self, split: str) -> int | None:
        """The official number of images in ``split`` (None when not checked)."""
        check_split(split)
        return self.train_size if split == "train" else self.test_size

    def read(self, folder: Path, split: str, *, check_count: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``split`` from the raw files in ``folder`` (see the reader functions).

        A damaged file in one of the ``system_folders`` belongs to an operating
        system package: the error then says how to repair or bypass it, instead
        of telling you to delete it.
        """
        folder = Path(folder)
        expected = self.split_size(split) if check_count else None
        try:
            return self.reader(self, folder, split, expected)
        except DataFormatError as error:
            if folder not in {Path(f) for f in self.system_folders} or error.problem is None:
                raise
            advice = (f"It was installed by an operating-system package, so do not delete it: reinstall that "
                      f"package (on Debian/Ubuntu, `dpkg -S {folder}` names it; then "
                      f"`sudo apt-get install --reinstall` it), or put good copies of the files into the "
                      f"folder {self.folder}/ of your data directory (COURSE_DATA_DIR or root=), "
                      f"which is searched before {folder}.")
            raise _fail(error.path, error.problem, advice) from error.__cause__


def check_split(split: str) -> None:
    """Raise a clear TypeError/ValueError unless ``split`` is "train" or "test"."""
    if not isinstance(split, str):
        raise TypeError(f"split must be 'train' or 'test', got {type(split).__name__} {split!r:.60}.")
    if split not in SPLITS:
        hint = ""
        if split.strip().lower() in {"val", "valid", "validation", "dev"}:
            hint = (" A validation set is held out of the training split: use "
                    "cu.make_loaders(name, validation=5_000) or cu.validation_split(train, 5_000).")
        elif split.strip().lower() in SPLITS:
            hint = f" (lower case, without spaces: {split.strip().lower()!r})"
        elif split.strip().lower().replace("-", "_") in DATASETS:
            hint = " That is a data set's name: load_dataset takes the name first, then the split."
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.{hint}")


# ---------------------------------------------------------------------------
# Small checks shared by the readers
# ---------------------------------------------------------------------------

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
    meta = _load_pickle(meta_path)
    names = meta.get(b"label_names")
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

    images = np.concatenate(all_images)
    labels = np.concatenate(all_labels)
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


def read_fashion_mnist(info: DatasetInfo, folder: Path, split: str, expected: int | None) -> tuple[np.ndarray, np.ndarray]:
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
SIGN_ABSENT_LABELS = (9,)   # J needs motion, so it has no images (Z = 25 is outside 0..24)


def read_sign_language(info: DatasetInfo, folder: Path, split: str, expected: int | None) -> tuple[np.ndarray, np.ndarray]:
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
    try:
        table = pd.read_csv(path)
    except Exception as error:
        raise _fail(path, f"it cannot be read as CSV ({error.__class__.__name__}: {error})") from error
    columns = [str(column) for column in table.columns]
    if columns != SIGN_COLUMNS:
        raise _fail(path, f"expected 785 columns 'label,pixel1,...,pixel784', found {len(columns)} "
                          f"starting {','.join(columns[:3])}")
    values = table.to_numpy()
    if not np.issubdtype(values.dtype, np.integer):
        raise _fail(path, "every value should be a whole number (some are empty or not numbers)")
    pixels, labels = values[:, 1:], values[:, 0].astype(np.int64)
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
        raise _fail(path, f"pixel values should lie in 0..255, found {pixels.min()}..{pixels.max()}")
    _check_labels(path, labels, len(info.classes), absent=SIGN_ABSENT_LABELS)
    _check_count(path, len(labels), expected)
    _, height, width = info.image_shape
    images = pixels.astype(np.uint8).reshape(-1, 1, height, width)
    return images, labels


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------

CIFAR10 = DatasetInfo(
    name="cifar10",
    title="CIFAR-10",
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    image_shape=(3, 32, 32),
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    files=(RemoteFile(
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        filename="cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
    ),),
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    citation="Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009.",
    folder="cifar-10-batches-py",
    train_files=("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "batches.meta"),
    test_files=("test_batch", "batches.meta"),
    train_size=50_000,
    test_size=10_000,
    reader=read_cifar10,
    archive=True,
)

# URLs and MD5 sums as in torchvision.datasets.FashionMNIST (mirrors + resources).
_FASHION_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST = DatasetInfo(
    name="fashion_mnist",
    title="Fashion-MNIST",
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    image_shape=(1, 28, 28),
    mean=(0.2860,),
    std=(0.3530,),
    files=(
        RemoteFile(_FASHION_MIRROR + "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz",
                   md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        RemoteFile(_FASHION_MIRROR + "train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz",
                   md5="25c81989df183df01b3e8a0aad5dffbe"),
        RemoteFile(_FASHION_MIRROR + "t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                   md5="bef4ecab320f06d8554ea6380940ec79"),
        RemoteFile(_FASHION_MIRROR + "t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                   md5="bb300cfdad3c16e7a12a480ee83cd310"),
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    citation="Han Xiao, Kashif Rasul, Roland Vollgraf, Fashion-MNIST: a Novel Image Dataset for "
             "Benchmarking Machine Learning Algorithms, arXiv:1708.07747, 2017.",
    folder="fashion-mnist",
    train_files=("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    test_files=("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    train_size=60_000,
    test_size=10_000,
    reader=read_fashion_mnist,
    # Debian's package "dataset-fashion-mnist" (recompressed: .gz MD5s differ, content is official).
    system_folders=("/usr/share/datasets/fashion-mnist",),
    license="MIT",
)

# The course's copy. The size and SHA-256 are those of the Kaggle originals (taken
# from a mirror's Git LFS pointer); that this URL serves the very same bytes is
# unconfirmed, so a mismatch only warns and the reader checks the structure.
_SIGN_BASE = "https://raw.githubusercontent.com/PhilChodrow/ml-notes/main/data/sign-language-mnist/"
SIGN_LANGUAGE_MNIST = DatasetInfo(
    name="sign_language_mnist",
    title="Sign-Language MNIST",
    classes=tuple(chr(ord("A") + i) for i in range(25)),   # "A".."Y"; J (9) never occurs
    image_shape=(1, 28, 28),
    mean=None,   # computed from the training split when loaded
    std=None,
    files=(
        RemoteFile(_SIGN_BASE + "sign_mnist_train.csv", "sign_mnist_train.csv", size=83_253_609,
                   sha256="b7ff39ad5f1210fa765ce11aa5f20c2e97fe467ffc22231aac923c863eef75c4", warn_only=True),
        RemoteFile(_SIGN_BASE + "sign_mnist_test.csv", "sign_mnist_test.csv", size=21_770_312,
                   sha256="178c0dd21c4b0e86d58df12f14ea1e9efa795ad19d146802b3b28094a16d56ae", warn_only=True),
    ),
    homepage="https://www.kaggle.com/datasets/datamunge/sign-language-mnist",
    citation="tecperson (Kaggle), Sign Language MNIST, 2017; images of American Sign Language letters "
             "after the format of MNIST.",
    folder="sign-language-mnist",
    train_files=("sign_mnist_train.csv",),
    test_files=("sign_mnist_test.csv",),
    train_size=27_455,
    test_size=7_172,
    reader=read_sign_language,
    has_synthetic=True,
    license="CC0 (public domain), as published on Kaggle",
)

DATASETS: dict[str, DatasetInfo] = {
    info.name: info for info in (CIFAR10, FASHION_MNIST, SIGN_LANGUAGE_MNIST)
}


def dataset_info(name: str) -> DatasetInfo:
    """Look up a data set by its short name.

    Case, dashes and underscores do not matter (``"CIFAR-10"`` works); an unknown
    name gives a ValueError that lists the known ones and the closest match.

    Example:
        >>> dataset_info("fashion_mnist").title
        'Fashion-MNIST'
    """
    if not isinstance(name, str):
        raise TypeError(f"A data set's name is a string such as \"cifar10\", got {type(name).__name__} {name!r:.60}.")
    # Case, dashes, spaces and underscores do not matter: "CIFAR-10" and "Fashion-MNIST" work too.
    squeezed = {key.replace("_", ""): key for key in DATASETS}
    key = "".join(name.lower().split()).replace("-", "").replace("_", "")
    if key not in squeezed:
        known = ", ".join(repr(k) for k in DATASETS)
        close = difflib.get_close_matches(key, list(squeezed), n=1, cutoff=0.7)
        hint = f" Did you mean {squeezed[close[0]]!r}?" if close else ""
        if key in SPLITS:
            hint = " That is a split: the data set's name comes first, e.g. load_dataset(\"cifar10\", \"train\")."
        raise ValueError(f"Unknown data set {name!r}.{hint} Known data sets: {known}.")
    return DATASETS[squeezed[key]]
