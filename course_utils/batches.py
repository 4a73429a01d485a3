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

from . import checks
from .augmentation import Augment
from .config import FAST_TRAIN_PER_CLASS, FAST_VALIDATION_PER_CLASS, fast_mode
from .devices import seedings
from .data.imageset import ImageSet, apply_normalization, normalization_constants
from .data.load import balanced_subset_indices, load_dataset
from .data.registry import DatasetInfo, dataset_name, find_dataset

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


#: What a loader is cut from (a tensor, a pair of tensors or a loader is a known mistake: ``course_utils.mistakes``).
image_set = checks.Rule("an ImageSet (from cu.load_dataset)", lambda v: isinstance(v, ImageSet), role="image set")


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
    checks.arguments("validation_split", data=(data, image_set), size=(size, checks.validation_size),
                     seed=(seed, checks.seed))
    return _split(data, validation_count(size, len(data), "size", "validation_split"), int(seed))


def _split(data: ImageSet, count: int, seed: int = VALIDATION_SEED) -> tuple[ImageSet, ImageSet]:
    """Hold out ``count`` images of ``data``, stratified, picked with ``seed`` (arguments checked)."""
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


def validation_count(size: int | float, total: int, name: str = "validation", function: str = "") -> int:
    """Turn ``size`` (a number of images, or a share between 0 and 1) into a number of images of ``total``.

    ``name`` is the argument as the caller wrote it (``validation`` for ``make_loaders``,
    ``size`` for ``validation_split``). At least one image must be held out and one kept.

    Example:
        >>> validation_count(0.1, 50_000)
        5000
    """
    checks.validation_size(size, name, function)
    whole = isinstance(size, (int, np.integer))      # (True was refused above)
    count = int(size) if whole else round(float(size) * total)
    if 1 <= count < total:
        return count
    expects = (f"a number of images from 1 to {total - 1:,} or a share between 0 and 1 that holds out at least one "
               f"image and keeps at least one (the training split has {total:,} images)")
    if count < 1:
        got, fix = (f"{checks.describe(size)}, which holds out no image of the {total:,}",
                    f"Hold out a larger share, e.g. {name}={max(0.1, 2 / total):.2g}.")
    elif whole:
        got, fix = f"{count:,}, which leaves no image to train on", f"Hold out fewer, e.g. {name}={max(1, total // 10):_}."
    else:
        got, fix = (f"{checks.describe(size)}, which holds out all {total:,} images",
                    f"Hold out a smaller share, e.g. {name}=0.1.")
    raise checks.refusal(ValueError, function, name, expects, got, fix)


def fast_subset(data: ImageSet, per_class: int) -> ImageSet:
    """The fixed, class-balanced subset that fast mode keeps (``per_class`` images per class)."""
    subset = data.subset(balanced_subset_indices(data.labels.numpy(), per_class, len(data.classes)))
    subset.fast = True
    return subset


# ---------------------------------------------------------------------------
# Mini-batches
# ---------------------------------------------------------------------------

#: ``augment=``: True (``cu.Augment()``: 4-pixel shifts and flips), False or None (none), or your own ``cu.Augment``.
augment_rule = checks.Rule("True, False, None or a cu.Augment(...)",
                           lambda v: v is None or isinstance(v, (bool, np.bool_, Augment)), role="flag")


def check_device_here(device: object, function: str) -> None:
    """A ``device=`` that names a GPU this machine does not have is refused before anything is loaded."""
    if device is None:
        return
    kind = torch.device(device).type
    here = kind == "cpu" or (kind == "cuda" and torch.cuda.is_available()) or (
        kind == "mps" and torch.backends.mps.is_available())
    if not here:
        raise checks.refusal(ValueError, function, "device", "a device this machine has",
                             f"{checks.describe(device)}, but there is no {kind.upper()} GPU here",
                             "Use device=cu.get_device(), which picks the best device there is "
                             "(in Colab: Runtime > Change runtime type > GPU first).")


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
    use their loaders in the same way see the same batches. So does every loader
    after ``cu.seed_everything``: as with torch's ``DataLoader``, whose orders come
    from the global generator, a cell that seeds and then trains repeats its result
    when run again, even with a loader made in an earlier cell (see ``epoch``).

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
        checks.arguments(
            "TensorLoader", data=(data, image_set), batch_size=(batch_size, checks.positive_int),
            shuffle=(shuffle, checks.flag), device=(device, checks.optional(checks.device)),
            seed=(seed, checks.seed), drop_last=(drop_last, checks.flag), augment=(augment, augment_rule))
        check_device_here(device, "TensorLoader")
        if len(data) == 0:
            raise checks.refusal(ValueError, "TensorLoader", "data", "an ImageSet with images",
                                 f"{data.title}, which is empty", "There is nothing to make batches of.")
        if drop_last and len(data) < batch_size:
            raise checks.refusal(ValueError, "TensorLoader", "batch_size",
                                 f"at most {len(data):,} (the images of {data.title}) with drop_last=True",
                                 f"{batch_size:,}, which gives no batch at all", "Use a smaller batch_size.")
        augment = Augment() if augment is True else None if augment is False else augment
        self.dataset = data
        self.classes = data.classes
        self.mean = data.mean
        self.std = data.std
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
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

    @property
    def epoch(self) -> int:
        """How many random passes have started since the loader was made or ``cu.seed_everything`` last ran.

        Pass ``k`` is shuffled (and augmented) by a generator seeded with ``seed + k``.
        ``cu.seed_everything`` starts the count again at 0, as a torch ``DataLoader``'s
        orders start again (they come from torch's global generator): a cell that seeds
        and then trains repeats its result, also with a loader made in an earlier cell.
        Setting it (a checkpoint does, to resume) sets the count after that call.
        """
        return self._passes if self._seeding == seedings() else 0

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._passes, self._seeding = int(value), seedings()

    def __len__(self) -> int:
        """The number of batches per epoch."""
        n = len(self.y)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        order, generator = None, None
        if self.shuffle or self.augment is not None:
            k = self.epoch
            generator = torch.Generator().manual_seed((self.seed + k) % 2**64)
            self.epoch = k + 1
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
    checks.arguments(
        "make_loaders", name=(name, dataset_name), batch_size=(batch_size, checks.positive_int),
        validation=(validation, checks.optional(checks.validation_size)), augment=(augment, augment_rule),
        device=(device, checks.optional(checks.device)), test_batch_size=(test_batch_size, checks.positive_int),
        seed=(seed, checks.seed), download=(download, checks.flag), fast=(fast, checks.optional(checks.flag)))
    check_device_here(device, "make_loaders")
    if info is None:
        find_dataset(name, "make_loaders")   # an unknown name: the known ones and "did you mean", before any loading
    augment = Augment() if augment is True else None if augment is False else augment
    fast = fast_mode() if fast is None else bool(fast)

    test = load_dataset(name, "test", root=root, download=download, fast=fast, info=info)
    if validation is None:
        train = load_dataset(name, "train", root=root, download=download, fast=fast, info=info)
        parts = [train]
    else:
        full_train = load_dataset(name, "train", root=root, download=download, fast=False, info=info)
        train, held_out = _split(full_train, validation_count(validation, len(full_train), "validation",
                                                              "make_loaders"))
        if fast:
            train = fast_subset(train, FAST_TRAIN_PER_CLASS)
            held_out = fast_subset(held_out, FAST_VALIDATION_PER_CLASS)
        parts = [train, held_out]
    loaders = [TensorLoader(train, batch_size, shuffle=True, device=device, seed=seed, augment=augment)]
    loaders += [TensorLoader(part, test_batch_size, device=device) for part in parts[1:]]
    loaders.append(TensorLoader(test, test_batch_size, device=device))
    return tuple(loaders)

