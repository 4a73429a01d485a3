"""``ImageSet``: one split of a data set in memory; and ``normalize``/``denormalize`` for its pixels.

An ``ImageSet`` holds uint8 images N×C×H×W and int64 labels N, with the class
names, the normalisation statistics and where the images came from. It is what
``load_dataset`` returns and what ``TensorLoader`` cuts into mini-batches.

``normalize`` scales pixels to [0, 1] and then subtracts the per-channel mean and
divides by the standard deviation; ``denormalize`` undoes it for showing images.
Both check what they are given first, so that a batch pair, an ImageSet or
pixels normalised twice get a message that says what to pass instead.

Example::

    data = cu.load_dataset("fashion_mnist", "test")
    image, label = data[0]
    print(image.shape, data.classes[label])   # torch.Size([1, 28, 28]) Ankle boot
    x = cu.normalize(data.images[:8], data.mean, data.std)   # float32, mean 0 and std 1 per channel (about)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from .. import checks

__all__ = ["ImageSet", "normalize", "denormalize", "normalization_constants", "apply_normalization"]


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
        checks.arguments("ImageSet", images=(self.images, pixels), labels=(self.labels, label_tensor),
                         classes=(self.classes, checks.class_names))
        if len(self.labels) != len(self.images):
            raise checks.refusal(ValueError, "ImageSet", "labels", f"one label per image ({len(self.images):,})",
                                 f"{len(self.labels):,} labels")
        self.labels = self.labels.long()
        self.classes = tuple(str(name) for name in self.classes)
        if len(self.labels) and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.classes)):
            raise checks.refusal(ValueError, "ImageSet", "labels",
                                 f"class numbers that lie in 0..{len(self.classes) - 1} (one class name per label)",
                                 f"labels {int(self.labels.min())}..{int(self.labels.max())} with "
                                 f"{len(self.classes)} class names {list(self.classes)[:5]}",
                                 "Give one class name for every label, or keep only the classes you have.")
        channels = self.images.shape[1]
        self.mean = tuple(_channel_values(self.mean, "mean", channels, "ImageSet"))
        self.std = tuple(_channel_values(self.std, "std", channels, "ImageSet"))
        self.source = Path(self.source) if self.source is not None else None
        self.files = tuple(Path(f) for f in self.files)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """The ``index``-th image (uint8 C×H×W) and its label (an int); ``data[-1]`` is the last."""
        checks.Rule(f"one image number from {-len(self)} to {len(self) - 1} ({len(self):,} images)",
                    checks._is_whole, lambda i: -len(self) <= i < len(self), role="number",
                    fix="For several images use data.subset(positions), e.g. data.subset(range(0, 8)).")(
            index, "index", "ImageSet[...]")
        i = int(index)
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
        index = self._as_index(indices)
        if index.dtype == torch.bool:
            if index.dim() != 1 or len(index) != len(self):
                raise checks.refusal(ValueError, "subset", "indices",
                                     f"a boolean mask with one True/False per image: {self.title} has {len(self):,} "
                                     "images", f"a mask of shape {tuple(index.shape)}",
                                     "Make the mask from this data set, e.g. data.labels == 3.")
            index = index.nonzero().flatten()   # the positions where the mask is True
        index = index.to(torch.long).reshape(-1)
        if len(index) and (int(index.min()) < -len(self) or int(index.max()) >= len(self)):
            raise IndexError(f"subset: indices must be positions 0..{len(self) - 1} ({self.title} has "
                             f"{len(self):,} images), got positions from {int(index.min())} to {int(index.max())}.")
        return replace(self, images=self.images[index], labels=self.labels[index])

    def _as_index(self, indices: object) -> torch.Tensor:
        """``subset``'s argument as a tensor of positions or a boolean mask, with clear errors."""
        expects = "a list, range, NumPy array or tensor of positions, or a boolean mask such as data.labels == 3"
        if isinstance(indices, slice):
            raise checks.refusal(TypeError, "subset", "indices", expects, "a slice (not a slice: positions)",
                                 "For data[a:b] write data.subset(range(a, b)).")
        if isinstance(indices, (int, np.integer)) and not isinstance(indices, bool):
            raise checks.refusal(TypeError, "subset", "indices", expects, f"one number {indices}",
                                 f"subset takes several positions: for one image use data[{indices}], or "
                                 f"data.subset([{indices}]) for an ImageSet of one image.")
        if isinstance(indices, torch.Tensor):
            index = indices.detach().cpu()      # .cpu(): a mask or indices on the GPU work too
        elif isinstance(indices, (np.ndarray, range, list, tuple)):
            index = torch.as_tensor(np.asarray(list(indices) if isinstance(indices, range) else indices))
        else:
            raise checks.refusal(TypeError, "subset", "indices", expects, checks.describe(indices),
                                 f"subset takes a list, range, array or tensor, not {_a_type(indices)}.")
        if index.is_floating_point() and index.numel() > 0:
            raise checks.refusal(TypeError, "subset", "indices", "whole-number positions (or a boolean mask)",
                                 f"floats such as {index.reshape(-1)[0].item()}", "Round them, or .long() them.")
        if index.dtype != torch.bool and index.dim() > 1:
            raise checks.refusal(ValueError, "subset", "indices", "a flat list of positions",
                                 f"positions of shape {tuple(index.shape)}", "Flatten them first: .reshape(-1).")
        return index

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
        checks.class_names(names, "names", "keep_classes")
        names = [str(name) for name in names]
        unknown = [name for name in names if name not in self.classes]
        if unknown or not names or len(set(names)) != len(names):
            problem = (f"unknown class names {unknown}" if unknown else "no names" if not names else
                       f"a name twice ({sorted({n for n in names if names.count(n) > 1})})")
            raise checks.refusal(ValueError, "keep_classes", "names",
                                 f"names of classes of {self.title}, each once", f"{checks.describe(names)}: {problem}",
                                 f"Its classes are {list(self.classes)}.")
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
# Normalisation
# ---------------------------------------------------------------------------

def _a_type(value: object) -> str:
    name = type(value).__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


#: An ImageSet's images: a uint8 tensor N×C×H×W (a NumPy array is a known mistake: ``course_utils.mistakes``).
pixels = checks.Rule("a torch tensor of uint8 pixels, N×C×H×W", lambda v: isinstance(v, torch.Tensor),
                     lambda v: v.dtype == torch.uint8 and v.dim() == 4, role="pixels")
#: An ImageSet's labels: one whole class number per image.
label_tensor = checks.Rule("a torch tensor of whole class numbers 0, 1, 2, ..., one per image",
                           lambda v: isinstance(v, torch.Tensor),
                           lambda v: v.dim() == 1 and v.dtype != torch.bool and (
                               not v.is_floating_point() or bool((v == v.round()).all())), role="pixels")
#: What normalize and denormalize take: images as a tensor or NumPy array.
image_tensor = checks.Rule("a tensor (or NumPy array) of images shaped N×C×H×W or C×H×W",
                           lambda v: isinstance(v, (torch.Tensor, np.ndarray)), role="images to normalize")


def _image_tensor(images: object, function: str) -> torch.Tensor:
    """``images`` (a tensor or NumPy array) as a tensor, or the one message saying what to pass instead."""
    image_tensor(images, "images", function)
    return images if isinstance(images, torch.Tensor) else torch.from_numpy(images)


def _channel_values(values: object, what: str, channels: int | None = None, function: str = "normalize") -> list[float]:
    """``mean``/``std``: one real number per channel, e.g. (0.5,) or the data set's own ``train.mean``.

    NumPy scalars and arrays and tensors are fine; the numbers must be finite, a
    ``std`` positive, and (when ``channels`` is given) one per channel.
    """
    expects = (f"one number per channel, e.g. (0.5,) for grey or the data set's own {what} (train.{what}) for "
               f"colour images")
    if isinstance(values, (str, bytes)) or not (isinstance(values, (torch.Tensor, np.ndarray, Sequence))):
        raise checks.refusal(TypeError, function, what, f"a list that holds {expects}", checks.describe(values),
                             f"For one grey channel write ({values!r:.20},) with a comma." if isinstance(
                                 values, (int, float)) else "")
    try:
        array = checks.numbers_of(values, what, function)
    except TypeError:
        raise checks.refusal(TypeError, function, what, f"numbers: {expects}", checks.describe(values)) from None
    array = array.reshape(-1).astype(float)
    if not np.isfinite(array).all() or (what == "std" and not (array > 0).all()):
        raise checks.refusal(ValueError, function, what, "finite numbers" + (
            ", each positive (std must be positive: it is divided by)" if what == "std" else ""),
            repr(tuple(array.tolist())))
    if channels is not None and len(array) != channels:
        raise checks.refusal(ValueError, function, what, f"{expects}: {channels} number(s)",
                             f"{tuple(array.tolist())}: {what} has {len(array)} values but the images have "
                             f"{channels} channel(s)")
    return [float(v) for v in array]


def _channel_shape(x: torch.Tensor, values: Sequence[float], what: str, function: str = "normalize") -> torch.Tensor:
    """``values`` (one per channel) as a tensor that broadcasts over C x H x W."""
    if x.dim() not in (3, 4):
        raise checks.refusal(ValueError, function, "images", "images shaped C×H×W or N×C×H×W",
                             f"shape {tuple(x.shape)}")
    channels = x.shape[-3]
    values = _channel_values(values, what, channels, function)
    return torch.tensor(values, dtype=torch.float32, device=x.device).view(channels, 1, 1)


def _check_unit_range(images: torch.Tensor) -> None:
    """Float images for ``normalize`` must be pixels in [0, 1]: catch 0-255 floats and a second normalize."""
    if images.numel() == 0:
        return
    low, high = float(images.min()), float(images.max())
    if low >= -1e-3 and high <= 1 + 1e-3:
        return
    if math.isnan(low) or math.isnan(high):
        fix = "Some pixels are NaN: find where they come from (a division by zero?) before normalizing."
    elif low < -1e-3:
        fix = "Negative values: are they normalized already? Normalize only once (TensorLoader's batches are)."
    else:
        fix = "Pixels 0-255 stored as floats? Pass the uint8 images, or divide by 255 first."
    raise checks.refusal(ValueError, "normalize", "images", "uint8 pixels (0-255) or float pixels in [0, 1]",
                         f"floats from {low:.3g} to {high:.3g}", fix)


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Scale uint8 images to [0, 1], then subtract ``mean`` and divide by ``std`` per channel.

    Lecture 02 writes it by hand as one line of broadcasting (section 7):
    ``(batch.float() / 255 - mean) / std`` with ``mean`` and ``std`` of shape 1×3×1×1.

    After this, each channel has (about) mean 0 and standard deviation 1 over the
    training set, which helps gradient descent. Float input must already be in
    [0, 1] (a ValueError says so otherwise, e.g. for images normalized twice).

    Example:
        >>> x = normalize(torch.full((1, 28, 28), 255, dtype=torch.uint8), (0.5,), (0.25,))
        >>> float(x[0, 0, 0])
        2.0
    """
    images = _image_tensor(images, "normalize")
    scale, shift = normalization_constants(images, mean, std)
    return apply_normalization(images, scale, shift)


def normalization_constants(
    images: torch.Tensor, mean: Sequence[float], std: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel ``(scale, shift)`` with which ``normalize`` computes ``images * scale - shift``.

    ``(x / 255 - mean) / std`` is the same as ``x * (1 / std / 255) - mean / std``:
    one multiplication and one subtraction per pixel. Everything about ``images``
    (type, shape, range) and ``mean``/``std`` is checked here, once, so that
    ``TensorLoader`` can work these out for a whole split and then normalise each
    batch with ``apply_normalization`` alone. Both come back shaped C×1×1, on
    the device of ``images``.
    """
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise checks.refusal(TypeError, "normalize", "images", "uint8 pixels (0-255) or float pixels in [0, 1]",
                             f"{images.dtype}", "Whole numbers 0-255 in another type? Convert them first: "
                             "images.to(torch.uint8).")
    mean_t, std_t = _channel_shape(images, mean, "mean"), _channel_shape(images, std, "std")
    if images.is_floating_point():
        _check_unit_range(images)
    scale = 1.0 / std_t / 255.0 if images.dtype == torch.uint8 else 1.0 / std_t
    return scale, mean_t / std_t


def apply_normalization(images: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``images * scale - shift`` as a new float32 tensor (``images`` itself is never changed).

    The multiplication and subtraction run in place on the float32 copy: no
    temporary tensors besides the result.
    """
    return images.to(torch.float32, copy=True).mul_(scale).sub_(shift)


def denormalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Undo ``normalize``: back to floats in [0, 1] (clipped), ready to show.

    Lecture 02 undoes the normalisation by hand to show the images again (section 9).

    Example:
        >>> x = normalize(torch.zeros(3, 2, 2, dtype=torch.uint8), (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))
        >>> denormalize(x, (0.5, 0.5, 0.5), (0.2, 0.2, 0.2)).max().item()
        0.0
    """
    x = _image_tensor(x, "denormalize")
    if not x.is_floating_point():
        raise checks.refusal(ValueError, "denormalize", "x", "the float images that normalize made (denormalize "
                             "undoes normalize)", f"{x.dtype} pixels (raw pixels)",
                             "They need no undoing: show them as they are.")
    x = x.float()
    return (x * _channel_shape(x, std, "std", "denormalize")
            + _channel_shape(x, mean, "mean", "denormalize")).clamp(0.0, 1.0)
