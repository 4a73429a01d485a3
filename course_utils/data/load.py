"""``load_dataset``: one split of a course data set as an ``ImageSet``, from raw files or the cache.

Following ``root`` through a load:

1. ``config.data_dir(root)``: which data folder (``root=``, ``COURSE_DATA_DIR``, the
   repository's ``data/``, or ``./data``);
2. ``fetch.dataset_folder``: the folder with the split's raw files (found,
   repaired, unpacked, or downloaded from the registry's sources, one process
   at a time);
3. ``arrays.read_cache`` or the data set's reader: uint8 arrays, decoded once and
   cached (in the data folder, or in your own cache folder if the data folder is
   read-only);
4. in fast mode (``COURSE_FAST=1``) a fixed, class-balanced subset is kept.

Then ``batches.TensorLoader`` cuts the ``ImageSet`` into mini-batches.

Example::

    import course_utils as cu
    train = cu.load_dataset("cifar10", "train")
    print(train)     # ImageSet(CIFAR-10 — train: 50,000 images of 3×32×32, 10 classes)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import FAST_TEST_PER_CLASS, FAST_TRAIN_PER_CLASS, data_dir, fast_mode, synthetic_fallback
from .arrays import (SYNTHETIC_MARKER, READ_ONLY_ERRORS, own_folder, read_cache, read_statistics, write_cache,
                     write_statistics)
from .fetch import dataset_folder, find_local_files
from .imageset import ImageSet
from .. import checks
from .registry import DATASETS, DatasetInfo, dataset_info, dataset_name, find_dataset, split_rule

__all__ = ["load_dataset", "load_arrays", "train_statistics", "balanced_subset_indices"]

#: The seed that picks the fast-mode subset (the same subset every run).
FAST_SEED = 0


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

    Lecture 02 starts with it (section 1): the whole data set as uint8 tensors, then looks at
    them piece by piece; lecture 07 decodes Sign-Language MNIST's CSV rows by hand (section 1).

    Args:
        name: "cifar10", "fashion_mnist" or "sign_language_mnist".
        split: "train" or "test".
        root: the data directory (default: see ``config.data_dir``).
        download: download missing files (otherwise: FileNotFoundError saying what to place where).
        fast: keep only a fixed class-balanced subset (100 per class for train, 40 for test);
            None means "if COURSE_FAST=1".
        info: a modified registry entry (e.g. other sources); default ``dataset_info(name)``.

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
    _check_load_arguments(name, split, download, fast, info)
    if info is None:
        info = dataset_info(name)
    root = data_dir(root)
    fast = fast_mode() if fast is None else bool(fast)

    images, labels, synthetic, folder = load_arrays(info, split, root, download)
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


def _check_load_arguments(name: object, split: object, download: object, fast: object, info: object) -> None:
    """load_dataset's argument checks, before anything is read or downloaded."""
    dataset_name(name, "name", "load_dataset")
    if info is None:
        find_dataset(name, "load_dataset")   # an unknown name: the known ones and the closest match
    checks.arguments(
        "load_dataset", split=(split, split_rule.given(data_sets=tuple(DATASETS))),
        download=(download, checks.flag), fast=(fast, checks.maybe_flag),
        info=(info, checks.optional(checks.instance_of(
            DatasetInfo, 'a DatasetInfo (e.g. dataclasses.replace(cu.dataset_info("cifar10"), files=...))'))))
    if info is not None and info.name != name:
        raise checks.refusal(ValueError, "load_dataset", "info", f"the registry entry of {name!r}",
                             f"the entry of {info.name!r}", "Give load_dataset and info= the same data set: "
                             "pass the same name.")


def load_arrays(info: DatasetInfo, split: str, root: Path,
                download: bool = True) -> tuple[np.ndarray, np.ndarray, bool, Path]:
    """(images, labels, synthetic, raw-files folder) of one split: from the cache, or decoded once and cached."""
    folder, synthetic = _raw_folder(info, root, split, download)
    cached = read_cache(info, split, root, folder, synthetic)
    if cached is not None:
        return cached[0], cached[1], synthetic, folder
    print(f"Decoding {info.title} ({split}) from {folder} once; the arrays are cached for the next load.", flush=True)
    images, labels = info.read(folder, split, check_count=not synthetic)
    write_cache(info, split, root, folder, images, labels, synthetic)   # (if it cannot be written: a warning)
    return images, labels, synthetic, folder


def _raw_folder(info: DatasetInfo, root: Path, split: str, download: bool) -> tuple[Path, bool]:
    """The folder with ``split``'s raw files, and whether it holds a synthetic stand-in."""
    if info.has_synthetic and synthetic_fallback() and find_local_files(info, root, split) is None:
        return _synthetic_folder(info, root, split), True
    folder = dataset_folder(info, root, split, download=download)   # found, or repaired, unpacked, downloaded
    return folder, (folder / SYNTHETIC_MARKER).is_file()


def _synthetic_folder(info: DatasetInfo, root: Path, split: str) -> Path:
    """A current synthetic stand-in in ``<root>/synthetic/<name>``, or in your own folder if ``root`` is read-only."""
    from .synthetic import MARKER_TEXT, write_synthetic_sign_language   # (tests only: imported when needed)

    places = [Path(root) / "synthetic" / info.name, own_folder(root) / "synthetic" / info.name]
    for folder in places:
        names = (*info.split_files(split), SYNTHETIC_MARKER)
        if all((folder / name).is_file() for name in names) and (folder / SYNTHETIC_MARKER).read_text() == MARKER_TEXT:
            return folder
    try:
        write_synthetic_sign_language(places[0])
        return places[0]
    except OSError as error:
        if error.errno not in READ_ONLY_ERRORS:
            raise
    write_synthetic_sign_language(places[1])
    return places[1]


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


def _statistics(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images scaled to [0, 1]."""
    x = torch.from_numpy(images)
    values = x.transpose(0, 1).reshape(x.shape[1], -1).double() / 255.0
    return tuple(values.mean(dim=1).tolist()), tuple(values.std(dim=1).tolist())


def train_statistics(info: DatasetInfo, root: Path, download: bool = True,
                     train_images: np.ndarray | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of the training split, for a data set whose registry entry has none.

    They are computed once and kept beside the training split's cache
    (``cache/<name>-train.stats.json``) with the same fingerprint of the raw
    training files: later loads of either split read that small file, and new raw
    files mean new statistics. Pass ``train_images`` when you have them already.
    """
    folder, synthetic = _raw_folder(info, root, "train", download)
    saved = read_statistics(info, root, folder, synthetic)
    if saved is not None:
        return saved
    if train_images is None:
        train_images = load_arrays(info, "train", root, download)[0]
    mean, std = _statistics(train_images)
    write_statistics(info, root, folder, mean, std, synthetic)
    return mean, std
