"""What every picture of the course shares: its colours, turning tensors into pixels, and grids of panels.

The picture modules (``image_plots``, ``training_plots``, ``evaluation_plots``,
``feature_plots``, ``diagrams``, ``widgets``) draw with matplotlib and build on this one.

Images may be torch tensors or NumPy arrays, with 1 (grey) or 3 (RGB) channels:

* a batch ``N×C×H×W`` (PyTorch's layout) or ``N×H×W×C``,
* one image ``C×H×W``, ``H×W×C``, or ``H×W`` (grey),
* integers 0–255 (uint8) or floats 0–1.

Normalized images (``(x - mean) / std``) are turned back into pixels when you pass
the data set's ``mean`` and ``std``.

Colours are from the Okabe–Ito palette, which stays distinguishable for people with
colour-vision deficiencies: right = blue ``#0072B2``, wrong = vermillion ``#D55E00``.

Example:
    >>> to_display_array(np.zeros((2, 3, 4, 4), dtype=np.uint8)).shape    # N×H×W×C, ready for imshow
    (2, 4, 4, 3)
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_utils import checks

# Okabe–Ito colours (Okabe & Ito, "Color Universal Design", 2008).
RIGHT_COLOR = "#0072B2"  # blue
WRONG_COLOR = "#D55E00"  # vermillion
LINE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WINDOW_COLORS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#D55E00")
WHITE_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1}  # keeps text readable over lines

IMAGE_SHAPES = "N×C×H×W or N×H×W×C (a batch), C×H×W or H×W×C (one image), or H×W (one grey image)"


def format_number(value: float) -> str:
    """Write 19.0 as "19" and 0.1111 as "0.111" (3 significant digits)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


# ---------------------------------------------------------------------------
# From tensors to pixels
# ---------------------------------------------------------------------------


def as_image_batch(images: Any) -> np.ndarray:
    """Return images as one NumPy array shaped N×C×H×W (C = 1 or 3); values unchanged."""
    x = checks.numbers_of(images, "images")
    if x.ndim == 2:  # one grey image H×W
        return x[None, None]
    if x.ndim == 3 and x.shape[0] in (1, 3):  # one image C×H×W
        return x[None]
    if x.ndim == 3 and x.shape[-1] in (1, 3):  # one image H×W×C
        return x.transpose(2, 0, 1)[None]
    if x.ndim == 4 and x.shape[1] in (1, 3):  # a batch N×C×H×W
        return x
    if x.ndim == 4 and x.shape[-1] in (1, 3):  # a batch N×H×W×C
        return x.transpose(0, 3, 1, 2)
    raise ValueError(
        f"expected images shaped {IMAGE_SHAPES}, with 1 or 3 channels; got shape {tuple(x.shape)}. "
        "A batch of grey images without a channel axis? Add one with images[:, None]."
    )


def as_grey_image(image: Any, name: str = "image", function: str = "") -> np.ndarray:
    """Return one grey image as a 2-D float array (uint8 divided by 255); 1×H×W is accepted too.

    Anything else -- a colour image, an empty array, NaN or infinite pixels (which would
    draw a blank picture) -- is refused with the one message, naming ``name`` as the
    caller's argument.
    """
    x = checks.numbers_of(image, name, function)
    shape = x.shape
    while x.ndim > 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2 or x.size == 0:
        fix = ("A colour image? Take one channel, e.g. image[0], or their mean: image.float().mean(0)."
               if len(shape) == 3 and shape[0] == 3 else
               "A colour photo H×W×3? Make it grey first, e.g. photo[..., :3] @ [0.299, 0.587, 0.114] / 255."
               if len(shape) == 3 and shape[-1] in (3, 4) else "")
        raise checks.refusal(ValueError, function, name, "one grey image H×W (e.g. images[0, 0])",
                             f"numbers of shape {shape}", fix)
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise checks.refusal(ValueError, function, name, "one grey image of finite numbers",
                             f"an image with {bad:,} NaN or infinite pixel{'s' if bad != 1 else ''}",
                             "A picture of them would be blank: find where they come from (a division by zero?).")
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(float) / 255
    return x.astype(float)


def undo_normalization(pixels: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    """Return ``pixels * std + mean`` per channel: the inverse of ``(x - mean) / std``.

    ``pixels`` is a float batch N×C×H×W; ``mean`` and ``std`` hold one value per channel.
    """
    channels = pixels.shape[1]
    mean = np.asarray(mean, dtype=np.float32).reshape(-1)
    std = np.asarray(std, dtype=np.float32).reshape(-1)
    for name, values in (("mean", mean), ("std", std)):
        if values.size not in (1, channels):
            raise ValueError(
                f"{name} has {values.size} values but the images have {channels} channel(s); "
                f"pass one {name} per channel, e.g. the data set's own {name}."
            )
    return pixels * std.reshape(1, -1, 1, 1) + mean.reshape(1, -1, 1, 1)


def to_display_array(images: Any, mean: Any = None, std: Any = None) -> np.ndarray:
    """Return images as floats in [0, 1] shaped N×H×W×C, ready for ``imshow``.

    Integers (uint8) are divided by 255. Floats are used as they are, or, with
    ``mean=`` and ``std=``, normalization is undone first. Values are clipped to [0, 1].
    """
    batch = as_image_batch(images)
    if batch.shape[0] == 0 or batch.size == 0:
        raise ValueError(f"no images to show: got an empty array of shape {tuple(batch.shape)}")
    if (mean is None) != (std is None):
        raise ValueError("pass both mean= and std= (to undo normalization), or neither")
    if np.issubdtype(batch.dtype, np.integer):
        if mean is not None:
            raise ValueError(
                f"got {batch.dtype} images (raw pixels 0-255) together with mean=/std=; raw pixels are "
                "not normalized, so leave out mean= and std= (they are for normalized float images)."
            )
        pixels = batch.astype(np.float32) / 255
    elif mean is not None:
        pixels = undo_normalization(batch.astype(np.float32), mean, std)
    else:
        pixels = batch.astype(np.float32)
        warn_if_outside_unit_range(pixels)
    return np.clip(pixels, 0, 1).transpose(0, 2, 3, 1)


def warn_if_outside_unit_range(pixels: np.ndarray) -> None:
    """Warn when float pixels are far outside [0, 1]: they will be clipped (often a forgotten mean/std)."""
    low, high = float(np.nanmin(pixels)), float(np.nanmax(pixels))
    if low < -0.01 or high > 1.01:
        warnings.warn(
            f"float pixel values range from {low:.2f} to {high:.2f}, outside [0, 1]; they are clipped. "
            "Normalized images? Pass the data set's mean= and std=. Floats 0-255? Divide by 255.",
            stacklevel=4,  # point at the notebook line that called show_images
        )


def min_max_scale(values: np.ndarray) -> np.ndarray:
    """Stretch values to [0, 1] (smallest → 0, largest → 1); a constant array becomes 0.5."""
    low, high = values.min(), values.max()
    if high == low:
        return np.full_like(values, 0.5, dtype=float)
    return (values - low) / (high - low)


# ---------------------------------------------------------------------------
# Grids of panels
# ---------------------------------------------------------------------------


def image_grid(n: int, ncols: int, panel_width: float, panel_height: float,
               suptitle: bool) -> tuple[Figure, list[Axes]]:
    """Make a figure with ``n`` panels, ``ncols`` to a row; its size grows with the grid."""
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    width = ncols * panel_width
    height = nrows * panel_height
    if suptitle:  # room for the figure's title above, and enough width to read it
        width, height = max(width, 4.5), height + 0.5
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained")
    axes = list(axes.flat)
    for unused in axes[n:]:
        fig.delaxes(unused)
    return fig, axes[:n]


def draw_image(ax: Axes, image: np.ndarray, cmap: str | None = None) -> None:
    """Show one H×W×C image with values in [0, 1]; grey (C = 1) images use a grey colour map."""
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap=cmap or "gray", vmin=0, vmax=1)
    else:
        ax.imshow(image, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
