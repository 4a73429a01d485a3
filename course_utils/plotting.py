"""Pictures of images: grids of images with their labels, and of predictions (right in blue, wrong in orange),
plus the small helpers that the other picture modules share (``evaluation_plots``, ``feature_plots``,
``diagrams``).

Every function draws with matplotlib and returns the ``Figure``. In a notebook,
assign the result so the figure is shown exactly once::

    fig = cu.show_images(images[:16], labels[:16], classes)

Images may be torch tensors or numpy arrays, with 1 (grey) or 3 (RGB) channels:

* a batch ``N×C×H×W`` (PyTorch's layout) or ``N×H×W×C``,
* one image ``C×H×W``, ``H×W×C``, or ``H×W`` (grey),
* integers 0–255 (uint8) or floats 0–1.

Normalized images (``(x - mean) / std``) are turned back into pixels when you pass
the data set's ``mean=`` and ``std=``.

Colours are from the Okabe–Ito palette, which stays distinguishable for people
with colour-vision deficiencies: right = blue ``#0072B2``, wrong = vermillion
``#D55E00``.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import course_utils.plot_checks as checks  # the argument checks (no torch either)

if TYPE_CHECKING:  # only for type hints; plotting works without importing torch
    import torch

__all__ = ["RIGHT_COLOR", "WRONG_COLOR", "show_images", "show_predictions"]

# Okabe–Ito colours (Okabe & Ito, "Color Universal Design", 2008).
RIGHT_COLOR = "#0072B2"  # blue
WRONG_COLOR = "#D55E00"  # vermillion
LINE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WHITE_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1}  # keeps text readable over lines
WINDOW_COLORS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#D55E00")

IMAGE_SHAPES = "N×C×H×W or N×H×W×C (a batch), C×H×W or H×W×C (one image), or H×W (one grey image)"


# ---------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` (a torch tensor, numpy array or nested list) as a numpy array."""
    if hasattr(x, "detach"):  # a torch tensor: leave the autograd graph, move to the CPU
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":
            x = x.float()  # numpy has no bfloat16
        return x.numpy()
    return np.asarray(x)


def as_image_batch(images: Any) -> np.ndarray:
    """Return images as one numpy array shaped N×C×H×W (C = 1 or 3); values unchanged."""
    x = to_numpy(images)
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

    Example:
        pixels = to_display_array(X_batch, mean=train.mean, std=train.std)
        pixels.shape    # (64, 32, 32, 3)
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


def as_class_indices(labels: Any, n: int, classes: Sequence[str] | None, what: str = "labels") -> np.ndarray:
    """Check ``labels`` (one class index per image, ``n`` images) and return them as ints.

    ``what`` names the argument in error messages ("labels", "predictions").
    """
    values = to_numpy(labels)
    if values.ndim != 1:
        hint = " Scores per class? Take the best one with outputs.argmax(dim=1)." if values.ndim == 2 else ""
        raise ValueError(f"expected {what} as a 1-D sequence of class indices, got shape {tuple(values.shape)}.{hint}")
    if len(values) != n:
        raise ValueError(f"got {n} images but {len(values)} {what}; pass exactly one of the {what} per image")
    if not np.issubdtype(values.dtype, np.integer):
        if not (np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values))):
            raise ValueError(f"{what} must be whole class indices such as 0, 1, 2; got {values[:3].tolist()} ... "
                             "(to write your own words above the images, use titles=)")
    values = values.astype(int)
    if classes is not None:
        outside = sorted({int(v) for v in values if not 0 <= v < len(classes)})
        if outside:
            raise ValueError(
                f"{what} {outside[:5]} are outside classes: there are {len(classes)} class names, "
                f"so {what} must be 0..{len(classes) - 1}"
            )
    return values


def class_name(index: int, classes: Sequence[str] | None) -> str:
    """The name of class ``index``, or the number itself when there are no class names."""
    return str(classes[index]) if classes is not None else str(index)


def check_positive(value: int, name: str) -> None:
    """Raise a ValueError (a TypeError for a non-number) unless ``value`` is a whole number of at least 1."""
    checks.check_number(value, name, whole=True)


def image_grid(
    n: int, ncols: int, panel_width: float, panel_height: float, suptitle: bool
) -> tuple[Figure, list[Axes]]:
    """Make a figure with ``n`` panels, ``ncols`` to a row; its size grows with the grid."""
    check_positive(ncols, "ncols")
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


def min_max_scale(values: np.ndarray) -> np.ndarray:
    """Stretch values to [0, 1] (smallest → 0, largest → 1); a constant array becomes 0.5."""
    low, high = values.min(), values.max()
    if high == low:
        return np.full_like(values, 0.5, dtype=float)
    return (values - low) / (high - low)


def format_number(value: float) -> str:
    """Write 19.0 as "19" and 0.1111 as "0.111" (3 significant digits)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


# ---------------------------------------------------------------------------
# Images and predictions
# ---------------------------------------------------------------------------


def show_images(
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | Sequence[int] | None = None,
    classes: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    titles: Sequence[str] | None = None,
    title: str | None = None,
    scale: float = 1.5,
    cmap: str | None = None,
) -> Figure:
    """Show images in a grid, each titled with its class name (or its label, or ``titles``).

    ``scale`` is the size of one panel in inches. Grey images use ``cmap`` (default "gray").

    Example:
        train = cu.load_dataset("cifar10")
        fig = cu.show_images(train.images[:16], train.labels[:16], train.classes)
        # normalized batches: give mean and std to see the real colours
        fig = cu.show_images(X[:8], y[:8], train.classes, mean=train.mean, std=train.std)
    """
    checks.check_images(images, "show_images")
    checks.check_labels(labels, "labels", "show_images")
    checks.check_classes(classes, "show_images")
    check_positive(ncols, "ncols")
    checks.check_number(scale, "scale")
    checks.check_cmap(cmap)
    if isinstance(titles, str):
        raise TypeError(f"titles must be a list with one title per image, got one string {titles!r:.40}; "
                        "for a heading above the whole grid use title=.")
    pixels = to_display_array(checks.as_numbers(images, "images", "show_images"), mean, std)
    n = len(pixels)
    if titles is not None:
        if len(titles) != n:
            raise ValueError(f"got {n} images but {len(titles)} titles; pass one title per image")
        names = [str(t) for t in titles]
    elif labels is not None:
        indices = as_class_indices(labels, n, classes)
        names = [class_name(i, classes) for i in indices]
    else:
        names = [""] * n
    title_room = 0.3 if any(names) else 0.0
    fig, axes = image_grid(n, ncols, scale, scale + title_room, suptitle=title is not None)
    for ax, image, name in zip(axes, pixels, names):
        draw_image(ax, image, cmap)
        ax.axis("off")
        if name:
            ax.set_title(name, fontsize=9)
    if title is not None:
        fig.suptitle(title)
    return fig


def show_predictions(
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | Sequence[int],
    predictions: np.ndarray | torch.Tensor | Sequence[int],
    classes: Sequence[str] | None,
    *,
    ncols: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """Show images titled "pred: …" / "true: …": blue when right, vermillion (orange) when wrong.

    The figure's title counts how many of the shown images the model got right.

    Example:
        X, y = next(iter(test_loader))
        predicted = cu.predict(model, X[:16])
        fig = cu.show_predictions(X[:16], y[:16], predicted, classes, mean=test.mean, std=test.std)
    """
    checks.check_images(images, "show_predictions")
    checks.check_labels(labels, "labels", "show_predictions")
    checks.check_labels(predictions, "predictions", "show_predictions")
    checks.check_classes(classes, "show_predictions")
    check_positive(ncols, "ncols")
    pixels = to_display_array(checks.as_numbers(images, "images", "show_predictions"), mean, std)
    n = len(pixels)
    true = as_class_indices(labels, n, classes, "labels")
    predicted = as_class_indices(predictions, n, classes, "predictions")
    fig, axes = image_grid(n, ncols, 1.5, 1.95, suptitle=True)
    for ax, image, t, p in zip(axes, pixels, true, predicted):
        color = RIGHT_COLOR if t == p else WRONG_COLOR
        draw_image(ax, image)
        ax.set_title(f"pred: {class_name(p, classes)}\ntrue: {class_name(t, classes)}", color=color, fontsize=8)
        for spine in ax.spines.values():  # a coloured frame as a second cue
            spine.set_edgecolor(color)
            spine.set_linewidth(2)
    right = int((true == predicted).sum())
    summary = f"{right} of {n} right (blue titles), {n - right} wrong (orange titles)"
    fig.suptitle(summary if title is None else f"{title}\n{summary}")
    return fig
