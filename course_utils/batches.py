"""From a loaded split to mini-batches: a validation hold-out, ``TensorLoader``, ``make_loaders``.

- ``validation_split(train_set, 5_000)`` holds out a fixed, class-balanced part of
  the training images for VALIDATION: the images on which we compare models and
  settings, so that the test set is used only once, at the very end;
- ``TensorLoader`` moves a split's uint8 images to the device once and slices
  mini-batches ``(X, y)`` from them, each normalised (and optionally augmented)
  as it is handed out;
- ``make_loaders("cifar10", validation=5_000)`` does all of it for a data set and
  returns the training, validation and test loaders.

Example::

    import course_utils as cu
    train_loader, val_loader, test_loader = cu.make_loaders("cifar10", batch_size=128, validation=5_000)
    print(len(train_loader.dataset), len(val_loader.dataset), len(test_loader.dataset))   # 45000 5000 10000
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from .augmentation import Augment
from .config import FAST_TRAIN_PER_CLASS, FAST_VALIDATION_PER_CLASS, fast_mode
from .data.imageset import ImageSet, apply_normalization, normalization_constants
from .data.load import balanced_subset_indices, load_dataset
from .data.registry import DatasetInfo

#: The seed that picks the validation images. It is fixed (and separate from the
#: shuffling seed), so the same images are held out in every run and every lecture.
VALIDATION_SEED = 2024


# ---------------------------------------------------------------------------
# A validation hold-out
# ---------------------------------------------------------------------------

def stratified_counts(class_counts: np.ndarray, size: int) -> np.ndarray:
    """How many images of each class to hold out so that ``size`` images keep the classes' proportions.

    Each class gets ``size * n_c / n`` images, rounded so that the counts add up to
    ``size`` exactly (the largest remainders are rounded up; of equal ones, the first class's).

    Example:
        >>> stratified_counts(np.array([50, 50, 100]), 10).tolist()
        [3, 2, 5]
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    share = size * counts / counts.sum()
    chosen = np.floor(share).astype(np.int64)
    remainder = size - int(chosen.sum())
    order = np.argsort(-(share - chosen), kind="stable")   # largest remainder first, ties by class
    chosen[order[:remainder]] += 1
    return chosen


def validation_split(data: ImageSet, size: int | float, *, seed: int = VALIDATION_SEED) -> tuple[ImageSet, ImageSet]:
    """Split a training set into (training part, validation part), class-balanced and reproducible.

    Lecture 02 holds out a validation set this way (section 4) and says why the
    test set is used only once.

    ``size`` is a number of images (``5_000``) or a share (``0.1``). Every class
    gives the same share of its images (a *stratified* split), so the validation
    part has the class proportions of the training set. The images are picked at
    random with the fixed ``seed``, so the same call always holds out the same
    images; both parts keep their images in the original order.

    Example::

        train = cu.load_dataset("cifar10", "train")
        train_part, val_part = cu.validation_split(train, 5_000)
        print(len(train_part), len(val_part))          # 45000 5000
        print(val_part.class_counts().tolist())         # [500, 500, ..., 500]
    """
    if not isinstance(data, ImageSet):
        raise TypeError(f"validation_split needs an ImageSet (from cu.load_dataset), got {type(data).__name__}.")
    count = validation_size(size, len(data), "size")
    labels = data.labels.numpy()
    per_class = stratified_counts(np.bincount(labels, minlength=len(data.classes)), count)
    rng = np.random.default_rng(seed)
    held_out = []
    for label, k in enumerate(per_class):
        members = np.flatnonzero(labels == label)
        held_out.append(rng.permutation(members)[:k])
    held = np.zeros(len(data), dtype=bool)
    held[np.concatenate(held_out)] = True
    train_part = data.subset(torch.from_numpy(~held))
    validation_part = data.subset(torch.from_numpy(held))
    validation_part.split = "validation"
    return train_part, validation_part


def check_validation_size(size: int | float, name: str = "validation") -> None:
    """``size`` must be a number of images (a whole number >= 1) or a share between 0 and 1."""
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise TypeError(f"{name} must be a number of images (e.g. 5_000) or a share (e.g. 0.1), got {size!r}.")
    if (isinstance(size, int) and size < 1) or (isinstance(size, float) and not 0 < size < 1):
        raise ValueError(f"{name} must be a whole number of images of at least 1 or a share between 0 and 1 "
                         f"(e.g. 5_000 or 0.1); got {size!r}.")


def validation_size(size: int | float, total: int, name: str = "validation") -> int:
    """Turn ``size`` (a number of images, or a share between 0 and 1) into a number of images."""
    check_validation_size(size, name)
    count = round(size * total) if isinstance(size, float) and 0 < size < 1 else size
    if isinstance(count, float) or count < 1 or count >= total:
        raise ValueError(f"{name} must be a whole number of images from 1 to {total - 1:,} (the training "
                         f"split has {total:,}), or a share between 0 and 1; got {size!r}.")
    return int(count)


def fast_subset(data: ImageSet, per_class: int) -> ImageSet:
    """The fixed, class-balanced subset that fast mode keeps (``per_class`` images per class)."""
    subset = data.subset(balanced_subset_indices(data.labels.numpy(), per_class, len(data.classes)))
    subset.fast = True
    return subset


# ---------------------------------------------------------------------------
# Mini-batches
# ---------------------------------------------------------------------------

class TensorLoader:
    """Mini-batches ``(X, y)`` sliced from a split that was moved to ``device`` once.

    Lecture 02 meets it in section 8, after taking a batch by hand with ``train.images[:64]``
    and normalising it (section 7): a loader is that slicing, done for every batch of an epoch,
    in a new random order each epoch, with the normalisation applied to each batch.

    This does what ``torch.utils.data.DataLoader`` does for small data sets that
    fit in memory, but much faster: no per-image Python work, no worker
    processes. Each pass over the loader (each ``for`` loop) visits every image
    exactly once.

    The images stay as they were loaded, uint8 pixels 0-255 (``loader.images``),
    and each batch is normalised with the data set's ``mean`` and ``std`` when it
    is handed out: ``X`` is float32, exactly ``cu.normalize(images, mean, std)``
    of its images. Keeping uint8 needs a quarter of the memory of float32 (CIFAR-10's
    60,000 images: 184 MB instead of 737 MB, on the GPU too), makes the loader
    ready in a fraction of the time, and normalising a batch is a tiny part of
    a training step.

    With ``shuffle=True`` every pass gets a new order: pass number k (counting
    from 0) is shuffled by a generator seeded with ``seed + k``. Every pass
    counts, also a peek at one batch with ``next(iter(loader))``: after it,
    the next ``for`` loop gets the second order, not the first. A fresh loader
    with the same ``seed`` starts again with the first order, so two runs that
    use their loaders in the same way see the same batches.

    ``augment=cu.Augment(padding=4, flip=True)`` randomly shifts and mirrors each
    batch on the device (see ``course_utils.augmentation``), with random numbers
    from the same per-pass generator, so augmented runs repeat too. Use it for
    training loaders only.

    Example::

        loader = TensorLoader(load_dataset("fashion_mnist", "test"), batch_size=100)
        print(len(loader))            # 100 batches
        for X, y in loader:           # one epoch
            print(X.shape, X.dtype)   # torch.Size([100, 1, 28, 28]) torch.float32
            print(y.shape, y.dtype)   # torch.Size([100]) torch.int64
            break
    """

    def __init__(
        self,
        data: ImageSet,
        batch_size: int = 64,
        *,
        shuffle: bool = False,
        device: str | torch.device | None = None,
        seed: int = 0,
        drop_last: bool = False,
        augment: Augment | None = None,
    ) -> None:
        if not isinstance(data, ImageSet):
            hint = (" For tensors X, y, make an ImageSet or use torch's DataLoader(TensorDataset(X, y))."
                    if isinstance(data, (tuple, list, torch.Tensor)) else
                    " It is a loader already: use it as it is." if hasattr(data, "batch_size") else "")
            raise TypeError(f"TensorLoader needs an ImageSet (from cu.load_dataset), got {type(data).__name__}.{hint}")
        for flag_name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, bool):
                raise TypeError(f"{flag_name} must be True or False, got {flag!r}.")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be a whole number such as 0, got {seed!r}.")
        if device is not None:
            try:
                device_type = torch.device(device).type
            except (RuntimeError, TypeError):
                raise ValueError(f"device must be a device such as 'cpu', 'cuda' or 'mps' (or cu.get_device()), "
                                 f"got {device!r}.") from None
            if device_type == "cuda" and not torch.cuda.is_available():
                raise ValueError(f"device={device!r}, but there is no CUDA GPU here; use device=cu.get_device(), "
                                 f"which picks the best device there is.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}.")
        if len(data) == 0:
            raise ValueError(f"{data.title} is empty: there is nothing to make batches of.")
        if drop_last and len(data) < batch_size:
            raise ValueError(f"With drop_last=True and batch_size={batch_size}, the {len(data)} images of "
                             f"{data.title} give no batch at all; use a smaller batch_size.")
        if augment is not None and not isinstance(augment, Augment):
            raise TypeError(f"augment must be a cu.Augment(...) or None, got {augment!r}.")
        self.dataset = data
        self.classes = data.classes
        self.mean = data.mean
        self.std = data.std
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.augment = augment
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.epoch = 0   # how many random passes have started; part of the seed of each pass
        self.images = data.images.to(self.device)   # as loaded (uint8); on the CPU this is no copy
        self.y = data.labels.to(self.device)
        # Checked and worked out once; each batch is then normalised as images * scale - shift.
        self.scale, self.shift = normalization_constants(self.images, self.mean, self.std)

    @property
    def X(self) -> torch.Tensor:
        """All the loader's images, normalised as its batches are: one new float32 tensor, made on each use.

        It needs 4 bytes per pixel value (CIFAR-10's training set: 614 MB), so
        take only what you need: ``loader.X[:8]`` works, but
        ``cu.normalize(loader.images[:8], loader.mean, loader.std)`` normalises 8 images, not all.
        """
        return apply_normalization(self.images, self.scale, self.shift)

    def __len__(self) -> int:
        """The number of batches per epoch."""
        n = len(self.y)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        order, generator = None, None
        if self.shuffle or self.augment is not None:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            self.epoch += 1
        if self.shuffle:
            order = torch.randperm(n, generator=generator).to(self.device)
        for b in range(len(self)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, n)
            if order is None:
                images, y = self.images[start:stop], self.y[start:stop]
            else:
                index = order[start:stop]
                images, y = self.images[index], self.y[index]
            X = apply_normalization(images, self.scale, self.shift)
            if self.augment is not None:
                X = self.augment(X, generator)
            yield X, y

    def __repr__(self) -> str:
        extra = f", augment={self.augment}" if self.augment is not None else ""
        return (f"TensorLoader({self.dataset.title}: {len(self.y):,} images in {len(self)} batches of "
                f"{self.batch_size}, shuffle={self.shuffle}, device={self.device}{extra})")


def make_loaders(
    name: str,
    batch_size: int = 64,
    *,
    validation: int | float | None = None,
    augment: Augment | bool | None = None,
    device: str | torch.device | None = None,
    root: str | Path | None = None,
    test_batch_size: int = 512,
    seed: int = 0,
    download: bool = True,
    fast: bool | None = None,
    info: DatasetInfo | None = None,
) -> tuple[TensorLoader, ...]:
    """Load a data set's splits and wrap them in loaders: (train, test), or (train, validation, test).

    Lecture 02's steps in one call: load (section 1), hold out a validation set (section 4),
    normalise (section 7), hand out batches (section 8).

    Args:
        name: "cifar10", "fashion_mnist" or "sign_language_mnist".
        batch_size: images per training batch.
        validation: hold out this many training images (or this share, e.g. 0.1) as a
            validation set (see ``validation_split``); then THREE loaders come back.
            In fast mode each part shrinks to a fixed class-balanced subset
            (100 training, 20 validation and 40 test images per class).
        augment: random shifts and flips of the TRAINING batches: ``True`` for
            ``cu.Augment()`` (4-pixel shifts and flips), or your own ``cu.Augment(...)``.
        device: where the tensors live (``None``: the CPU).
        test_batch_size: batch size of the validation and test loaders (no gradients: larger is fine).
        seed: the training loader's shuffling seed (the validation images do not depend on it).
        root, download, fast, info: as for ``load_dataset``.

    The training loader shuffles (reproducibly, with ``seed``); the others do not.

    Example::

        train_loader, test_loader = make_loaders("fashion_mnist", batch_size=128)
        train_loader, val_loader, test_loader = make_loaders("cifar10", validation=5_000, augment=True)
        print(len(train_loader.dataset), len(val_loader.dataset))   # 45000 5000
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}.")
    if isinstance(test_batch_size, bool) or not isinstance(test_batch_size, int) or test_batch_size < 1:
        raise ValueError(f"test_batch_size must be a whole number of at least 1, got {test_batch_size!r}.")
    if augment is True:
        augment = Augment()
    elif augment is False:
        augment = None
    elif augment is not None and not isinstance(augment, Augment):
        raise TypeError(f"augment must be True, False, None or a cu.Augment(...), got {augment!r}.")
    if validation is not None:
        check_validation_size(validation)   # before anything is loaded; the range is checked once it is
    fast = fast_mode() if fast is None else bool(fast)

    test = load_dataset(name, "test", root=root, download=download, fast=fast, info=info)
    if validation is None:
        train = load_dataset(name, "train", root=root, download=download, fast=fast, info=info)
        parts = [train]
    else:
        full_train = load_dataset(name, "train", root=root, download=download, fast=False, info=info)
        train, held_out = validation_split(full_train, validation)
        if fast:
            train = fast_subset(train, FAST_TRAIN_PER_CLASS)
            held_out = fast_subset(held_out, FAST_VALIDATION_PER_CLASS)
        parts = [train, held_out]
    loaders = [TensorLoader(train, batch_size, shuffle=True, device=device, seed=seed, augment=augment)]
    loaders += [TensorLoader(part, test_batch_size, device=device) for part in parts[1:]]
    loaders.append(TensorLoader(test, test_batch_size, device=device))
    return tuple(loaders)

