"""Small helpers for the tests of the picture modules: what a figure shows, and a few random pixels."""
from __future__ import annotations

import numpy as np


def image_axes(fig) -> list:
    """The axes that show an image, in order."""
    return [ax for ax in fig.axes if ax.images]


def axes_texts(ax) -> list[str]:
    """Every text written in ``ax`` (not its title or labels)."""
    return [t.get_text() for t in ax.texts]


def random_uint8(*shape: int) -> np.ndarray:
    """Random pixels 0-255 of the given shape, the same every time."""
    return np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
