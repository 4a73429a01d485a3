"""The cache of decoded arrays: decode a data set's raw files once, read them back in well under a second.

Each split is cached as ``<data dir>/cache/<name>-<split>.npz`` (uncompressed,
so it reads fast), together with a *fingerprint* of the raw files it was
decoded from (their names, sizes and modification times). When the raw files
change, the fingerprint no longer matches and the split is decoded again; a
damaged cache file is decoded again too. Statistics computed from a training
split (Sign-Language MNIST's mean and std) are kept beside it, in
``<name>-train.stats.json``, with the same fingerprint.

A cache file is written under a temporary name and then renamed, so a crash
never leaves a half-written cache. When the data folder cannot be written
(a shared, read-only copy, or a full disk) the data are loaded without a
cache: a warning says so once, and nothing else changes.

Example::

    path = cache_path(Path("data"), "cifar10", "test")     # data/cache/cifar10-test.npz
    fingerprint = raw_files_fingerprint(info, folder, "test")
    arrays = read_cache(path, fingerprint)                 # None: missing, stale or damaged
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from .config import DATA_DIR_ENV
from .datasets import DatasetInfo
from .folders import DISK_FULL_ERRORS, READ_ONLY_ERRORS, free_space_text, temporary_name

#: Bump this when the cache layout or a reader changes: old cache files are then rebuilt.
CACHE_FORMAT_VERSION = 1

#: The data folders for which this process has already said that no cache can be written.
_warned_folders: set[str] = set()


def raw_files_fingerprint(info: DatasetInfo, folder: Path, split: str) -> str:
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


def read_cache(path: Path, fingerprint: str) -> tuple[np.ndarray, np.ndarray] | None:
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


def write_cache(path: Path, images: np.ndarray, labels: np.ndarray, fingerprint: str) -> None:
    """Save arrays uncompressed (fast to read) under a temporary name, then rename.

    If the folder cannot be written, warn (see ``warn_no_cache``) and carry on.
    """
    def save(file) -> None:
        np.savez(file, images=images, labels=labels, source=np.array(fingerprint))

    _write_atomically(path, save, "the data will be decoded again next time")


def read_statistics(path: Path, fingerprint: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The kept (mean, std) if ``path`` holds them for these raw files; None when missing, stale or damaged."""
    try:
        saved = json.loads(path.read_text())
        if saved["source"] == fingerprint:
            return tuple(float(m) for m in saved["mean"]), tuple(float(s) for s in saved["std"])
    except (OSError, ValueError, KeyError, TypeError):
        pass   # not written yet, or damaged: compute them (again)
    return None


def write_statistics(path: Path, mean: tuple[float, ...], std: tuple[float, ...], fingerprint: str) -> None:
    """Keep (mean, std) beside the cache, written like a cache file (temporary name, then rename)."""
    text = json.dumps({"source": fingerprint, "mean": mean, "std": std}).encode()
    _write_atomically(path, lambda file: file.write(text), "the statistics will be computed again next time")


def _write_atomically(path: Path, write, consequence: str) -> None:
    """Create ``path`` through a temporary file (``write(file)`` fills it), or warn when the disk refuses."""
    temp = path.with_name(temporary_name("cache", path.name))
    made_folder = not path.parent.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "xb") as file:
            write(file)
        os.replace(temp, path)
    except OSError as error:   # a read-only folder, a full disk, a file where the cache folder should be
        for leftover in (temp, path.parent if made_folder else None):   # leave the folder as it was
            try:
                if leftover == temp:
                    temp.unlink(missing_ok=True)
                elif leftover is not None:
                    leftover.rmdir()
            except OSError:
                pass
        warn_no_cache(path, error, consequence)


def warn_no_cache(path: Path, error: OSError, consequence: str) -> None:
    """Say that ``path`` could not be written; for a read-only data folder, only once per process."""
    root = path.parent.parent
    if error.errno in READ_ONLY_ERRORS:
        if str(root) in _warned_folders:
            return
        _warned_folders.add(str(root))
        warnings.warn(
            f"The data folder {root} is read-only for you: the data are loaded from its raw files, without "
            f"writing a cache (so each load decodes them again, which takes a little longer). That is fine. "
            f"To get a cache, copy the data to a folder you can write to and point {DATA_DIR_ENV} (or root=) "
            f"at it.", stacklevel=5)
    elif error.errno in DISK_FULL_ERRORS:
        warnings.warn(f"The disk is full ({free_space_text(root)}), so the cache file {path} was not written; "
                      f"{consequence}. Free some space to get a cache.", stacklevel=5)
    elif path.parent.exists() and not path.parent.is_dir():
        warnings.warn(f"{path.parent} is a file, not a folder, so the cache file {path.name} cannot be written "
                      f"there; {consequence}. Move that file away to get a cache.", stacklevel=5)
    else:
        warnings.warn(f"Could not write the cache file {path} ({error.__class__.__name__}: {error}); {consequence}.",
                      stacklevel=5)
