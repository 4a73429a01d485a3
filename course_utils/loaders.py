"""Loading a data set into tensors, and cutting it into mini-batches.

The path from raw files to batches:

1. ``find_local_files`` / ``download_dataset`` (in ``download.py``) make sure
   the raw files are on disk;
2. the data set's reader (in ``datasets.py``) decodes them ONCE into uint8
   arrays, which are cached in ``<data dir>/cache/<name>-<split>.npz``; the next
   load reads the cache (well under a second for CIFAR-10); Sign-Language
   MNIST's mean and std, computed from its training images, are kept beside it
   in ``<name>-train.stats.json``;
3. in fast mode (``COURSE_FAST=1``) a fixed, class-balanced subset is kept;
4. ``TensorLoader`` (in ``batches.py``) normalises the images once, moves them to
   the device once, and slices mini-batches from those tensors.

Example::

    import course_utils as cu
    train = cu.load_dataset("cifar10", "train")
    print(train)     # ImageSet(CIFAR-10 — train: 50,000 images of 3×32×32, 10 classes)
    train_loader, test_loader = cu.make_loaders("cifar10", batch_size=128)
    X, y = next(iter(train_loader))
    print(X.shape, y.shape)     # torch.Size([128, 3, 32, 32]) torch.Size([128])
"""
from __future__ import annotations

import json
import operator
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from .config import FAST_TEST_PER_CLASS, FAST_TRAIN_PER_CLASS, data_dir, fast_mode, synthetic_fallback
from .datasets import SYNTHETIC_MARKER, DatasetInfo, check_split, dataset_info
from .download import download_dataset, find_local_files, missing_files_message
from .synthetic import MARKER_TEXT, write_synthetic_sign_language

#: Bump this when the cache layout or a reader changes: old cache files are then rebuilt.
CACHE_FORMAT_VERSION = 1

#: The seed that picks the fast-mode subset (the same subset every run).
FAST_SEED = 0


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

def _channel_shape(x: torch.Tensor, values: Sequence[float], what: str) -> torch.Tensor:
    """``values`` (one per channel) as a tensor that broadcasts over C x H x W."""
    if x.dim() not in (3, 4):
        raise ValueError(f"expected images shaped C×H×W or N×C×H×W, got shape {tuple(x.shape)}.")
    channels = x.shape[-3]
    if len(values) != channels:
        raise ValueError(f"{what} has {len(values)} values but the images have {channels} channel(s).")
    return torch.tensor(list(values), dtype=torch.float32, device=x.device).view(channels, 1, 1)


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Scale uint8 images to [0, 1], then subtract ``mean`` and divide by ``std`` per channel.

    After this, each channel has (about) mean 0 and standard deviation 1 over the
    training set, which helps gradient descent. Float input is taken to be in [0, 1].

    Example:
        >>> x = normalize(torch.full((1, 28, 28), 255, dtype=torch.uint8), (0.5,), (0.25,))
        >>> float(x[0, 0, 0])
        2.0
    """
    images = torch.as_tensor(images)
    x = images.to(torch.float32, copy=True)   # a new tensor: the input is never changed
    mean_t, std_t = _channel_shape(x, mean, "mean"), _channel_shape(x, std, "std")
    scale = 1.0 / std_t / 255.0 if images.dtype == torch.uint8 else 1.0 / std_t
    # (x / 255 - mean) / std, written as x * scale - mean / std and computed in place:
    # one pass over the data and no temporary copies (this matters for 50,000 images).
    return x.mul_(scale).sub_(mean_t / std_t)


def denormalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Undo ``normalize``: back to floats in [0, 1] (clipped), ready to show.

    Example:
        >>> x = normalize(torch.zeros(3, 2, 2, dtype=torch.uint8), (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))
        >>> denormalize(x, (0.5, 0.5, 0.5), (0.2, 0.2, 0.2)).max().item()
        0.0
    """
    x = torch.as_tensor(x).float()
    return (x * _channel_shape(x, std, "std") + _channel_shape(x, mean, "mean")).clamp(0.0, 1.0)


# ---------------------------------------------------------------------------
# ImageSet: a whole split in memory
# ---------------------------------------------------------------------------

@dataclass
class ImageSet:
    """One split of a data set, in memory: uint8 images N×C×H×W and int64 labels N.

    Where the images came from:

    - ``source``: the folder holding the raw files this split was decoded from
      (the real data, or the ``synthetic/`` folder of a stand-in); None for an
      ImageSet made by hand. It is kept by ``subset`` and in fast mode, and set
      even when the images were read from the cache.
    - ``files``: the raw files of this split inside ``source`` (for
      Sign-Language MNIST the one CSV file; for CIFAR-10 the pickled batches and
      ``batches.meta``); empty when ``source`` is None.

    Example::

        data = load_dataset("fashion_mnist", "test")
        image, label = data[0]
        print(image.shape, data.classes[label])   # torch.Size([1, 28, 28]) Ankle boot
        print(data.class_counts()["Trouser"])     # 1000
        print(data.files[0].name)                 # t10k-images-idx3-ubyte.gz
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str
    split: str
    synthetic: bool = False
    fast: bool = False
    dataset_title: str = ""
    source: Path | None = None
    files: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be a uint8 tensor N×C×H×W, got {self.images.dtype} "
                             f"{tuple(self.images.shape)}.")
        if self.labels.dim() != 1 or len(self.labels) != len(self.images):
            raise ValueError(f"need one label per image: {len(self.images)} images, "
                             f"labels of shape {tuple(self.labels.shape)}.")
        self.labels = self.labels.long()
        self.classes = tuple(self.classes)
        self.mean = tuple(float(m) for m in self.mean)
        self.std = tuple(float(s) for s in self.std)
        self.source = Path(self.source) if self.source is not None else None
        self.files = tuple(Path(f) for f in self.files)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """The ``index``-th image (uint8 C×H×W) and its label (an int)."""
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"Index an ImageSet with one whole number; for several images use "
                            f".subset(indices), got {type(index).__name__}.") from None
        return self.images[i], int(self.labels[i])

    @property
    def title(self) -> str:
        """A heading for plots, e.g. "CIFAR-10 — train"; says so when the data are synthetic."""
        base = self.dataset_title or self.name
        text = (f"SYNTHETIC stand-in for {base} — {self.split} (not real data)" if self.synthetic
                else f"{base} — {self.split}")
        return text + (" [fast-mode subset]" if self.fast else "")

    def normalized(self) -> torch.Tensor:
        """The images as float32, normalised with this data set's ``mean`` and ``std``."""
        return normalize(self.images, self.mean, self.std)

    def class_counts(self) -> pd.Series:
        """How many images each class has (every class listed, zeros included)."""
        counts = torch.bincount(self.labels, minlength=len(self.classes)).tolist()
        return pd.Series(counts, index=pd.Index(self.classes, name="class"), name="count", dtype="int64")

    def subset(self, indices: Sequence[int] | Sequence[bool] | np.ndarray | torch.Tensor) -> ImageSet:
        """A new ImageSet with only some of the images.

        ``indices`` is either

        - whole numbers: the images at those positions, in that order; or
        - a boolean mask with one True/False per image (a bool tensor or NumPy
          array, e.g. ``data.labels == 3``): the images where it is True, in
          their original order.

        Example:
            >>> first_ten = data.subset(range(10))          # doctest: +SKIP
            >>> only_class_3 = data.subset(data.labels == 3)  # doctest: +SKIP
        """
        if isinstance(indices, torch.Tensor):
            index = indices.detach().cpu()      # .cpu(): a mask or indices on the GPU work too
        else:
            index = torch.as_tensor(np.asarray(list(indices) if isinstance(indices, range) else indices))
        if index.dtype == torch.bool:
            if index.dim() != 1 or len(index) != len(self):
                raise ValueError(f"A boolean mask needs one True/False per image: {self.title} has "
                                 f"{len(self):,} images, the mask has shape {tuple(index.shape)}.")
            index = index.nonzero().flatten()   # the positions where the mask is True
        index = index.to(torch.long).reshape(-1)
        return replace(self, images=self.images[index], labels=self.labels[index])

    def keep_classes(self, names: Sequence[str]) -> ImageSet:
        """Only the images of the classes ``names``, relabelled 0, 1, 2, ... in that order.

        Use it to drop classes that have no images (Sign-Language MNIST's J), so that
        a model needs exactly one output per class it can learn. Apply the same
        ``names`` to every split, so that label k means the same class everywhere.

        Example::

            letters = [name for name, count in train.class_counts().items() if count > 0]
            train24, test24 = train.keep_classes(letters), test.keep_classes(letters)
            print(len(train24.classes))    # 24: new label k is the letter train24.classes[k]
        """
        if isinstance(names, str):
            raise TypeError(f"keep_classes takes a list of class names, e.g. ['A', 'B'], not one string {names!r}.")
        names = [str(name) for name in names]
        unknown = [name for name in names if name not in self.classes]
        if unknown or not names or len(set(names)) != len(names):
            problem = f"unknown class names {unknown}" if unknown else "no names, or a name twice"
            raise ValueError(f"keep_classes got {problem}; the classes of {self.title} are {list(self.classes)}.")
        new_label = torch.full((len(self.classes),), -1, dtype=torch.long)
        for k, name in enumerate(names):
            new_label[self.classes.index(name)] = k
        relabelled = new_label[self.labels]
        kept = relabelled >= 0
        return replace(self, images=self.images[kept], labels=relabelled[kept], classes=tuple(names))

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return f"ImageSet({self.title}: {len(self):,} images of {c}×{h}×{w}, {len(self.classes)} classes)"


# ---------------------------------------------------------------------------
# Fast mode
# ---------------------------------------------------------------------------

def balanced_subset_indices(labels: np.ndarray, per_class: int, num_classes: int, seed: int = FAST_SEED) -> np.ndarray:
    """Indices of up to ``per_class`` images of every class, picked at random with ``seed``.

    The same labels and seed always give the same indices (sorted ascending).

    Example:
        >>> balanced_subset_indices(np.array([0, 1, 0, 1, 0]), per_class=1, num_classes=2).size
        2
    """
    labels = np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(labels))
    chosen = [order[labels[order] == c][:per_class] for c in range(num_classes)]
    return np.sort(np.concatenate(chosen))


# ---------------------------------------------------------------------------
# The cache of decoded arrays
# ---------------------------------------------------------------------------

def _fingerprint(info: DatasetInfo, folder: Path, split: str) -> str:
    """A text that changes whenever the raw files change (their sizes and modification times)."""
    files = []
    for name in info.split_files(split):
        stat = (folder / name).stat()
        files.append([name, stat.st_size, stat.st_mtime_ns])
    return json.dumps({"version": CACHE_FORMAT_VERSION, "name": info.name, "split": split,
                       "folder": str(folder.resolve()), "files": files})


def cache_path(root: Path, name: str, split: str, synthetic: bool = False) -> Path:
    """Where the decoded arrays of one split are cached: ``<root>/cache/<name>-<split>.npz``.

    Synthetic stand-ins get their own file, ``<name>-synthetic-<split>.npz``.
    """
    middle = f"{name}-synthetic" if synthetic else name
    return Path(root) / "cache" / f"{middle}-{split}.npz"


def _read_cache(path: Path, fingerprint: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (images, labels), or None when the cache is missing, stale or damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as cached:
            if str(cached["source"]) != fingerprint:
                print(f"The raw files changed since {path.name} was written: decoding again.")
                return None
            images, labels = cached["images"], cached["labels"]
        if images.dtype != np.uint8 or images.ndim != 4 or labels.dtype != np.int64 or labels.shape != images.shape[:1]:
            raise ValueError("unexpected arrays")
        return images, labels
    except Exception as error:   # truncated or otherwise damaged files fail in many ways
        print(f"The cache file {path} is damaged ({error.__class__.__name__}): decoding again.")
        return None


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray, fingerprint: str) -> None:
    """Save arrays uncompressed (fast to read) under a temporary name, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(temp, "wb") as f:
            np.savez(f, images=images, labels=labels, source=np.array(fingerprint))
        os.replace(temp, path)
    except OSError as error:   # a full disk or a read-only folder: carry on without a cache
        warnings.warn(f"Could not write the cache file {path} ({error}); the data will be decoded again next time.")
        temp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# load_dataset
# ---------------------------------------------------------------------------

def _raw_folder(info: DatasetInfo, root: Path, split: str, download: bool) -> tuple[Path, bool]:
    """The folder with ``split``'s raw files, and whether it holds a synthetic stand-in."""
    folder = find_local_files(info, root, split)
    if folder is None and info.has_synthetic and synthetic_fallback():
        folder = root / "synthetic" / info.name
        marker = folder / SYNTHETIC_MARKER
        complete = all((folder / name).is_file() for name in (*info.split_files(split), SYNTHETIC_MARKER))
        if not complete or marker.read_text() != MARKER_TEXT:   # missing, or made by an older generator
            write_synthetic_sign_language(folder)
    elif folder is None:
        if not download:
            raise FileNotFoundError(missing_files_message(info, root))
        folder = download_dataset(info, root)
    return folder, (folder / SYNTHETIC_MARKER).is_file()


def load_arrays(
    info: DatasetInfo, split: str, root: Path, download: bool = True
) -> tuple[np.ndarray, np.ndarray, bool, Path]:
    """Decoded (images, labels, synthetic, raw-files folder) for one split, from the cache when it is up to date."""
    folder, synthetic = _raw_folder(info, root, split, download)
    path = cache_path(root, info.name, split, synthetic)
    fingerprint = _fingerprint(info, folder, split)
    cached = _read_cache(path, fingerprint)
    if cached is not None:
        return cached[0], cached[1], synthetic, folder
    print(f"Decoding {info.title} ({split}) from {folder} once; caching it in {path}", flush=True)
    images, labels = info.read(folder, split, check_count=not synthetic)
    _write_cache(path, images, labels, fingerprint)
    return images, labels, synthetic, folder


def _statistics(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images scaled to [0, 1]."""
    x = torch.from_numpy(images)
    channels = x.shape[1]
    values = x.transpose(0, 1).reshape(channels, -1).double() / 255.0
    return tuple(values.mean(dim=1).tolist()), tuple(values.std(dim=1).tolist())


def train_statistics(
    info: DatasetInfo, root: Path, download: bool = True, train_images: np.ndarray | None = None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of the training split, for a data set whose registry entry has none.

    They are computed once, from the training images, and saved beside the
    training split's cache in ``<root>/cache/<name>-train.stats.json``, together
    with the same fingerprint of the raw training files that the cache has. Later
    loads of either split read that small file instead of going through all
    training images again; when the raw training files change, the statistics
    are computed again. Pass ``train_images`` when you have them already.
    """
    folder, synthetic = _raw_folder(info, root, "train", download)
    path = cache_path(root, info.name, "train", synthetic).with_suffix(".stats.json")
    fingerprint = _fingerprint(info, folder, "train")
    try:
        saved = json.loads(path.read_text())
        if saved["source"] == fingerprint:
            return tuple(float(m) for m in saved["mean"]), tuple(float(s) for s in saved["std"])
    except (OSError, ValueError, KeyError, TypeError):
        pass   # not written yet, or damaged: compute them (again)
    if train_images is None:
        train_images = load_arrays(info, "train", root, download)[0]
    mean, std = _statistics(train_images)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")   # as for the cache: write, then rename
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps({"source": fingerprint, "mean": mean, "std": std}))
        os.replace(temp, path)
    except OSError as error:
        warnings.warn(f"Could not write {path} ({error}); the statistics will be computed again next time.")
        temp.unlink(missing_ok=True)
    return mean, std


def load_dataset(
    name: str,
    split: str = "train",
    *,
    root: str | Path | None = None,
    download: bool = True,
    fast: bool | None = None,
    info: DatasetInfo | None = None,
) -> ImageSet:
    """Load one split of a course data set as an ``ImageSet`` (uint8 tensors on the CPU).

    Args:
        name: "cifar10", "fashion_mnist" or "sign_language_mnist".
        split: "train" or "test".
        root: the data directory (default: see ``config.data_dir``).
        download: download missing files (otherwise: FileNotFoundError saying what to place where).
        fast: keep only a fixed class-balanced subset (100 per class for train, 40 for test);
            None means "if COURSE_FAST=1".
        info: a modified registry entry (e.g. another download URL); default ``dataset_info(name)``.

    Sign-Language MNIST's ``mean``/``std`` are computed from its training split
    (once; they are kept beside the cache, see ``train_statistics``).
    The result's ``source`` is the folder of raw files the split was decoded from
    (also when it came from the cache), and ``files`` are the split's raw files
    in it, e.g. ``load_dataset("sign_language_mnist", "train").files[0]`` is
    the path of ``sign_mnist_train.csv``.

    Example::

        test = load_dataset("cifar10", "test")
        print(test.images.shape)            # torch.Size([10000, 3, 32, 32])
        print(test.classes[test.labels[0]]) # the first image's class name, e.g. cat
    """
    if info is None:
        info = dataset_info(name)
    elif info.name != name:
        raise ValueError(f"load_dataset({name!r}, info=...) was given the entry of {info.name!r}; "
                         f"pass the same name.")
    check_split(split)
    root = data_dir(root)
    fast = fast_mode() if fast is None else bool(fast)

    images, labels, synthetic, folder = load_arrays(info, split, root, download)
    if len(labels) == 0:
        raise ValueError(f"{info.title} ({split}) holds no images; delete {root / info.folder} and load it again.")
    if info.mean is not None and info.std is not None:
        mean, std = info.mean, info.std
    else:   # Sign-Language MNIST: from the training split, computed once (see train_statistics)
        mean, std = train_statistics(info, root, download, images if split == "train" else None)

    data = ImageSet(images=torch.from_numpy(images), labels=torch.from_numpy(labels), classes=info.classes,
                    mean=mean, std=std, name=info.name, split=split, synthetic=synthetic, fast=False,
                    dataset_title=info.title, source=folder.absolute(),
                    files=tuple(folder.absolute() / file_name for file_name in info.split_files(split)))
    if fast:
        per_class = FAST_TRAIN_PER_CLASS if split == "train" else FAST_TEST_PER_CLASS
        data = data.subset(balanced_subset_indices(labels, per_class, len(info.classes)))
        data.fast = True
    if synthetic:
        print(f"!!! SYNTHETIC stand-in for {info.title} ({split}): made-up images, NOT the real data !!!", flush=True)
    return data
