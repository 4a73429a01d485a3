"""Grids of images: each titled with its class (``show_images``), or with the model's guess (``show_predictions``).

Both draw with matplotlib and return the ``Figure``. In a notebook, assign the
result so the figure is shown exactly once::

    fig = cu.show_images(images[:16], labels[:16], classes)

Which images they take, and how normalized images get their colours back, is in
``course_utils.figures``. Right predictions are blue, wrong ones vermillion (orange).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from course_utils import checks
from course_utils.figures import RIGHT_COLOR, WRONG_COLOR, draw_image, image_grid, to_display_array

if TYPE_CHECKING:  # only for type hints
    import torch

__all__ = ["show_images", "show_predictions"]


def as_class_indices(labels: Any, n: int, classes: Sequence[str] | None, what: str = "labels",
                     function: str = "show_images") -> np.ndarray:
    """Check ``labels`` (one class index per image, ``n`` images) and return them as ints.

    ``what`` names the argument in error messages ("labels", "predictions").
    """
    values = checks.numbers_of(labels, what, function)
    if values.ndim != 1:
        fix = "Scores per class? Take the best one with outputs.argmax(dim=1)." if values.ndim == 2 else ""
        raise checks.refusal(ValueError, function, what, "class numbers as a 1-D sequence, one per image",
                             f"numbers of shape {tuple(values.shape)}", fix)
    if len(values) != n:
        raise checks.refusal(ValueError, function, what, f"one class number per image ({n:,} images)",
                             f"{len(values):,} {what}", f"got {n:,} images but {len(values):,} {what}: pass exactly "
                             f"one of the {what} per image.")
    if not np.issubdtype(values.dtype, np.integer):
        if not (np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values))):
            raise checks.refusal(ValueError, function, what, "whole class indices such as 0, 1, 2",
                                 f"{values[:3].tolist()} ...",
                                 "To write your own words above the images, use titles=.")
    values = values.astype(int)
    if classes is not None:
        outside = sorted({int(v) for v in values if not 0 <= v < len(classes)})
        if outside:
            raise checks.refusal(ValueError, function, what, f"class numbers 0..{len(classes) - 1} (there are "
                                 f"{len(classes)} class names)", f"{what} {outside[:5]}",
                                 f"{what} {outside[:5]} are outside classes: pass the class names of this data set.")
    return values


#: A grid shows at most this many images; more are cut to the first ones, with a note (see ``first_images``).
MAX_IMAGES = 64


def first_images(images: Any, labels: Any, titles: Any, function: str) -> tuple[Any, Any, Any, str]:
    """The first ``MAX_IMAGES`` images (and their labels and titles), and a note when more were given.

    All 50,000 training images would take minutes to draw into a figure nobody
    can read; the grid shows the first ones and says how to choose others.
    Labels or titles of another length than the images are left for the usual
    check, which names them.
    """
    count = len(images) if hasattr(images, "__len__") else 0
    if count <= MAX_IMAGES:
        return images, labels, titles, ""
    cut = []
    for name, values in (("labels", labels), ("titles", titles)):
        if values is not None and hasattr(values, "__len__"):
            if len(values) != count:
                raise checks.refusal(ValueError, function, name, f"one per image ({count:,} images)",
                                     f"{len(values):,} {name}", f"got {count:,} images but {len(values):,} {name}: "
                                     f"pass exactly one of the {name} per image.")
            values = values[:MAX_IMAGES]
        cut.append(values)
    note = (f"the first {MAX_IMAGES} of {count:,} images (cu.{function} draws at most {MAX_IMAGES}; "
            f"pick others with images[a:b])")
    return images[:MAX_IMAGES], cut[0], cut[1], note


def class_name(index: int, classes: Sequence[str] | None) -> str:
    """The name of class ``index``, or the number itself when there are no class names."""
    return str(classes[index]) if classes is not None else str(index)


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
    Lecture 02 draws one image and its channels by hand with ``plt.subplots`` and
    ``imshow(image.permute(1, 2, 0))`` (section 2); this draws a grid of them.

    Example:
        train = cu.load_dataset("cifar10")
        fig = cu.show_images(train.images[:16], train.labels[:16], train.classes)
        # normalized batches: give mean and std to see the real colours
        fig = cu.show_images(X[:8], y[:8], train.classes, mean=train.mean, std=train.std)
    """
    checks.arguments(
        "show_images",
        images=(images, checks.images),
        labels=(labels, checks.optional(checks.class_labels)),
        classes=(classes, checks.optional(checks.class_names)),
        ncols=(ncols, checks.positive_int),
        titles=(titles, checks.optional(checks.texts("title per image",
                                                     fix="For a heading above the whole grid use title=."))),
        scale=(scale, checks.positive_number),
        cmap=(cmap, checks.optional(checks.colour_map)),
    )
    images, labels, titles, note = first_images(images, labels, titles, "show_images")
    pixels = to_display_array(checks.numbers_of(images, "images", "show_images"), mean, std)
    n = len(pixels)
    if note:
        title = note if title is None else f"{title}\n{note}"
    if titles is not None:
        if len(titles) != n:
            raise checks.refusal(ValueError, "show_images", "titles", f"one title per image ({n:,} images)",
                                 f"{len(titles):,} titles", f"got {n:,} images but {len(titles):,} titles: pass one "
                                 "title per image (for a heading above the grid use title=).")
        names = [str(t) for t in titles]
    elif labels is not None:
        names = [class_name(i, classes) for i in as_class_indices(labels, n, classes, "labels", "show_images")]
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
    Lecture 01 uses it for the shirts its model gets wrong (section 3).

    Example:
        X, y = next(iter(test_loader))
        predicted = cu.predict(model, X[:16])
        fig = cu.show_predictions(X[:16], y[:16], predicted, classes, mean=test.mean, std=test.std)
    """
    checks.arguments(
        "show_predictions",
        images=(images, checks.images),
        labels=(labels, checks.class_labels),
        predictions=(predictions, checks.class_labels),
        classes=(classes, checks.optional(checks.class_names)),
        ncols=(ncols, checks.positive_int),
    )
    pixels = to_display_array(checks.numbers_of(images, "images", "show_predictions"), mean, std)
    n = len(pixels)
    true = as_class_indices(labels, n, classes, "labels", "show_predictions")
    predicted = as_class_indices(predictions, n, classes, "predictions", "show_predictions")
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
