"""Data augmentation for whole batches, on the device: random crops and horizontal flips.

Augmentation shows the network a slightly different version of each training
image every epoch — shifted by a few pixels, or mirrored — so that it cannot
memorise exact pixels and has to learn what stays the same. The two classic
augmentations for CIFAR-10 (used since the ResNet paper, He et al., 2016):

- **random crop with padding**: pad each 32×32 image by ``padding`` pixels on
  every side, then cut out a random 32×32 window. The image moves by up to
  ``padding`` pixels in each direction; the uncovered border is filled by
  reflecting the image at its edge (``fill="reflect"``) or with zeros, which after
  normalisation is the mean colour (``fill="zeros"``);
- **horizontal flip**: mirror each image left–right with probability 1/2. (Not
  vertical: upside-down cars and horses are not what the test set holds.)

Torchvision's transforms do this one image at a time in Python; here a whole
batch is augmented at once with tensor indexing, on whatever device it is on,
so it costs a fraction of a training step. Only the TRAINING loader augments:
validation and test images are always used as they are.

Example:
    >>> augment = Augment(padding=4, flip=True)
    >>> X = torch.zeros(8, 3, 32, 32)
    >>> augment(X, torch.Generator().manual_seed(0)).shape
    torch.Size([8, 3, 32, 32])
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from course_utils import checks

FILLS = ("reflect", "zeros")


def random_crop(X: torch.Tensor, padding: int, generator: torch.Generator, fill: str = "reflect") -> torch.Tensor:
    """Shift every image of the batch ``X`` (N×C×H×W) by its own random offset of up to ``padding`` pixels.

    Equivalent to padding each image and cutting out a random H×W window. The
    offsets are drawn with ``generator`` on the CPU, so they repeat from run to run.

    Example:
        >>> X = torch.arange(16.).reshape(1, 1, 4, 4)
        >>> random_crop(X, 1, torch.Generator().manual_seed(0), fill="zeros").shape
        torch.Size([1, 1, 4, 4])
    """
    n, _, height, width = X.shape
    mode = "reflect" if fill == "reflect" else "constant"
    padded = F.pad(X, (padding, padding, padding, padding), mode=mode)
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(X.device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(X.device)
    rows = top[:, None] + torch.arange(height, device=X.device)      # N×H: the rows each image keeps
    cols = left[:, None] + torch.arange(width, device=X.device)      # N×W: the columns
    images = torch.arange(n, device=X.device)[:, None, None]
    # Advanced indexing picks padded[i, :, rows[i, r], cols[i, c]]; the result is N×H×W×C.
    cropped = padded.permute(0, 2, 3, 1)[images, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous(memory_format=_layout(X))


def random_flip(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image of the batch left–right with probability 1/2.

    Example:
        >>> X = torch.arange(4.).reshape(1, 1, 1, 4)
        >>> random_flip(X, torch.Generator().manual_seed(1)).flatten().tolist() in ([0., 1., 2., 3.], [3., 2., 1., 0.])
        True
    """
    flip = (torch.rand(len(X), generator=generator) < 0.5).to(X.device)
    return torch.where(flip[:, None, None, None], X.flip(dims=[3]), X)


def _layout(X: torch.Tensor) -> torch.memory_format:
    """Keep a channels_last batch channels_last."""
    if X.ndim == 4 and X.is_contiguous(memory_format=torch.channels_last) and not X.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


@dataclass(frozen=True)
class Augment:
    """Random crops (shifts of up to ``padding`` pixels) and random horizontal flips, for a batch.

    Pass one to a loader: ``cu.make_loaders("cifar10", augment=cu.Augment(padding=4, flip=True))``
    or ``cu.TensorLoader(train_set, 128, shuffle=True, augment=cu.Augment())``.
    ``padding=0`` switches the crop off, ``flip=False`` the flip. Lecture 08 shows what it
    does to training images (section 5).
    """

    padding: int = 4
    flip: bool = True
    fill: str = "reflect"

    def __post_init__(self) -> None:
        checks.arguments("Augment", padding=(self.padding, checks.non_negative_int), flip=(self.flip, checks.flag),
                         fill=(self.fill, checks.one_of(*FILLS)))

    def __call__(self, X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The augmented batch (a new tensor; ``X`` is not changed)."""
        if X.ndim != 4:
            raise ValueError(f"Augment works on image batches N×C×H×W, got shape {tuple(X.shape)}.")
        if self.padding > 0:
            if self.fill == "reflect" and self.padding >= min(X.shape[-2:]):
                raise ValueError(f"Augment(padding={self.padding}) is too large for {X.shape[-2]}×{X.shape[-1]} "
                                 "images with fill='reflect'; use a smaller padding.")
            X = random_crop(X, self.padding, generator, self.fill)
        if self.flip:
            X = random_flip(X, generator)
        return X

    def __repr__(self) -> str:
        return f"Augment(padding={self.padding}, flip={self.flip}, fill={self.fill!r})"
