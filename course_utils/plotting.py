"""Pictures for the course: image grids, predictions, training curves, confusion
matrices, per-class accuracy, convolutions, kernels, feature maps, and a few small
diagrams (a fully connected network, one convolution step, max pooling).

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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from scipy.signal import convolve2d

import course_utils.plot_checks as checks  # the argument checks (no torch either)
from course_utils.config import CORE_HISTORY_COLUMNS  # config imports nothing heavy (no torch)

if TYPE_CHECKING:  # only for type hints; plotting works without importing torch
    import torch

__all__ = [
    "RIGHT_COLOR",
    "WRONG_COLOR",
    "show_images",
    "show_predictions",
    "plot_history",
    "plot_confusion_matrix",
    "plot_per_class_accuracy",
    "show_convolution",
    "show_kernels",
    "show_feature_maps",
    "draw_network",
    "draw_convolution_example",
    "draw_max_pooling",
]

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


# ---------------------------------------------------------------------------
# Training curves and evaluation
# ---------------------------------------------------------------------------

def epochs_from_history(history: pd.DataFrame, name: str) -> np.ndarray:
    """Return the x axis in epochs: examples seen / examples in one epoch.

    Examples per epoch = the number of examples seen at the end of epoch 1.
    """
    if not isinstance(history, pd.DataFrame):
        raise ValueError(
            f"history {name!r} should be a pandas DataFrame (what cu.train returns), got {type(history).__name__}"
        )
    missing = [c for c in CORE_HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(
            f"history {name!r} lacks the column(s) {missing}; expected at least the columns "
            f"{list(CORE_HISTORY_COLUMNS)} (cu.train returns them), got {list(history.columns)}"
        )
    if history.empty:
        raise ValueError(f"history {name!r} is empty: nothing to plot")
    first_epoch = history.loc[history["epoch"] == 1, "examples"]
    if first_epoch.empty:
        raise ValueError(f"history {name!r} has no rows for epoch 1, so the size of an epoch is unknown")
    return history["examples"].to_numpy(dtype=float) / float(first_epoch.max())


def validation_points(history: pd.DataFrame, epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, validation loss, validation accuracy) at the rows where ``train`` measured validation data."""
    if not {"val_loss", "val_accuracy"} <= set(history.columns):
        return np.array([]), np.array([]), np.array([])
    measured = history["val_accuracy"].notna().to_numpy()
    return (epochs[measured], history["val_loss"].to_numpy(dtype=float)[measured],
            history["val_accuracy"].to_numpy(dtype=float)[measured])


def plot_history(histories: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Plot loss and accuracy (%) against epochs: training curves, and validation where measured.

    ``histories`` is the DataFrame from ``cu.train`` or a dict ``{"run name": history, ...}``
    to compare runs on the same axes. The x axis counts epochs, including fractions:
    0.5 = half of the training set seen once. Training values (solid lines) are means
    over the batches since the previous point, measured while the model learned;
    validation values (dashed, large markers; when ``train`` was given ``validation=``)
    are measured after each epoch on held-out images. A validation curve that turns up
    while the training curve keeps going down is the picture of **overfitting**.

    Example:
        history = cu.train(model, train_loader, epochs=3, validation=val_loader)
        fig = cu.plot_history(history)
        fig = cu.plot_history({"linear": history_linear, "hidden layer": history_mlp})
    """
    runs = {"": histories} if isinstance(histories, pd.DataFrame) else dict(histories)
    if not runs:
        raise ValueError("got an empty dict of histories: nothing to plot")
    epochs_of = {name: epochs_from_history(history, str(name)) for name, history in runs.items()}
    with_validation = any(len(validation_points(runs[name], epochs)[0]) for name, epochs in epochs_of.items())
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for i, (name, history) in enumerate(runs.items()):
        epochs = epochs_of[name]
        color = LINE_COLORS[i % len(LINE_COLORS)]
        prefix = f"{name}: " if name != "" else ""
        label = f"{prefix}training" if with_validation or name == "" else str(name)
        style = dict(color=color, marker="o", markersize=3, label=label)
        loss_ax.plot(epochs, history["loss"].to_numpy(dtype=float), **style)
        accuracy_ax.plot(epochs, 100 * history["accuracy"].to_numpy(dtype=float), **style)
        x, val_loss, val_accuracy = validation_points(history, epochs)
        if len(x):
            style = dict(color=color, marker="s", markersize=6, linestyle="--", linewidth=2,
                         markeredgecolor="white", label=f"{prefix}validation")
            loss_ax.plot(x, val_loss, **style)
            accuracy_ax.plot(x, 100 * val_accuracy, **style)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss (lower is better)")
    accuracy_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy (higher is better)")
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    accuracy_ax.legend(fontsize=8)
    if title is not None:
        fig.suptitle(title)
    return fig


def confusion_and_classes(confusion: Any, classes: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """Return (square count matrix, class names) from an array or an object with .confusion/.classes."""
    if hasattr(confusion, "confusion"):  # an Evaluation from cu.evaluate
        if classes is None:
            classes = getattr(confusion, "classes", None)
        confusion = confusion.confusion
    matrix = checks.as_numbers(confusion, "confusion", "plot_confusion_matrix")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise ValueError(f"expected a square confusion matrix (classes × classes), got shape {tuple(matrix.shape)}")
    if (matrix < 0).any():
        raise ValueError("a confusion matrix holds counts, but this one has negative numbers")
    k = matrix.shape[0]
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"the confusion matrix has {k} classes but {len(names)} class names were given")
    return matrix, names


def plot_confusion_matrix(
    confusion: np.ndarray | Any,
    classes: Sequence[str] | None = None,
    *,
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Draw a confusion matrix: rows = true class, columns = predicted class.

    With ``normalize=True`` (the default) each row shows shares of that true class
    (a row adds up to 1; the diagonal is the per-class accuracy); ``normalize=False``
    shows counts. Cells are annotated (with many classes, only the non-zero cells,
    in a small font). Rows of classes with no examples stay grey.

    Example:
        result = cu.evaluate(model, test_loader)
        fig = cu.plot_confusion_matrix(result)
        fig = cu.plot_confusion_matrix(result.confusion, result.classes, normalize=False)
    """
    checks.check_confusion(confusion)
    checks.check_classes(classes, "plot_confusion_matrix")
    checks.check_flag(normalize, "normalize")
    matrix, names = confusion_and_classes(confusion, classes)
    k = len(names)
    totals = matrix.sum(axis=1, keepdims=True)
    if normalize:
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(totals > 0, matrix / totals, np.nan)
    else:
        values = matrix.astype(float)
    side = max(4.5, 0.32 * k + 3.2)
    fig, ax = plt.subplots(figsize=(side + 1.2, side), layout="constrained")
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#eeeeee")
    largest = 1.0 if normalize else max(float(matrix.max()), 1.0)
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=largest)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class" if normalize else "number of images")
    ax.set_xticks(range(k), labels=names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), labels=names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    many = k > 12
    for i in range(k):
        if totals[i, 0] == 0:
            ax.text((k - 1) / 2, i, "no examples", ha="center", va="center", fontsize=7, style="italic", color="0.4")
            continue
        for j in range(k):
            if matrix[i, j] == 0 and many:
                continue
            text = "0" if matrix[i, j] == 0 else (f"{values[i, j]:.2f}" if normalize else str(int(matrix[i, j])))
            color = "white" if values[i, j] > 0.5 * largest else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=6 if many else 8, color=color)
    what = "share of each true class" if normalize else "counts"
    ax.set_title(title if title is not None else f"Confusion matrix ({what})")
    return fig


def per_class_and_overall(per_class: Any) -> tuple[pd.Series, float]:
    """Return (accuracy per class as a Series, overall accuracy) from a table or an Evaluation."""
    overall = None
    if hasattr(per_class, "per_class"):  # an Evaluation from cu.evaluate
        overall = float(per_class.accuracy)
        per_class = per_class.per_class
    if isinstance(per_class, pd.Series):
        per_class = per_class.to_frame("accuracy")
    if not isinstance(per_class, pd.DataFrame) or "accuracy" not in per_class.columns:
        raise ValueError(
            "expected a DataFrame with an 'accuracy' column indexed by class name (Evaluation.per_class) "
            f"or an Evaluation; got {type(per_class).__name__}"
        )
    if per_class.empty:
        raise ValueError("the per-class table is empty: nothing to plot")
    accuracy = per_class["accuracy"].astype(float)
    if (accuracy > 1).any() or (accuracy < 0).any():
        raise ValueError(
            f"accuracy should be a share between 0 and 1, got values up to {accuracy.max():g}; "
            "percentages? divide by 100"
        )
    if overall is None and {"correct", "total"} <= set(per_class.columns):
        overall = float(per_class["correct"].sum() / per_class["total"].sum())
    if overall is None:  # only accuracies: the plain mean of the classes that have examples
        overall = float(accuracy.mean())
    return accuracy, overall


def plot_per_class_accuracy(
    per_class: pd.DataFrame | Any, *, chance: float | None = None, title: str | None = None
) -> Figure:
    """Horizontal bars of accuracy per class, worst at the top, with the overall accuracy dashed.

    ``per_class`` is ``Evaluation.per_class`` (a DataFrame with an ``accuracy`` column,
    0–1, indexed by class name) or the Evaluation itself. ``chance=`` (a share, e.g.
    ``1 / 10``) adds a dotted line for guessing. Classes without test images (NaN
    accuracy) are listed at the bottom as "no examples".

    Example:
        result = cu.evaluate(model, test_loader)
        fig = cu.plot_per_class_accuracy(result, chance=1 / len(result.classes))
    """
    checks.check_per_class(per_class)
    if chance is not None:
        checks.check_number(chance, "chance", positive=False)
    accuracy, overall = per_class_and_overall(per_class)
    if chance is not None and not 0 <= chance <= 1:
        raise ValueError(f"chance should be a share between 0 and 1 (e.g. 1 / 10), got {chance}")
    measured = accuracy.dropna().sort_values()  # worst first
    unseen = [str(name) for name in accuracy.index[accuracy.isna()]]
    names = [str(name) for name in measured.index] + unseen
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(names) + 1.8), layout="constrained")
    rows = np.arange(len(measured))
    ax.barh(rows, 100 * measured.to_numpy(), color=RIGHT_COLOR, height=0.7)
    for row, value in zip(rows, measured):
        ax.text(100 * value + 1, row, f"{100 * value:.0f}%", va="center", fontsize=8, bbox=WHITE_BOX)
    for row in range(len(measured), len(names)):
        ax.text(1, row, "no examples", va="center", fontsize=8, style="italic", color="0.4", bbox=WHITE_BOX)
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first row (the worst) at the top
    ax.set_xlim(0, 110)
    ax.axvline(100 * overall, color="black", linestyle="--", label=f"overall {100 * overall:.1f}%")
    if chance is not None:
        ax.axvline(100 * chance, color="0.4", linestyle=":", linewidth=2, label=f"chance {100 * chance:.1f}%")
    ax.set_xlabel("accuracy (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.suptitle(title if title is not None else "Accuracy per class (worst at the top)")
    return fig


# ---------------------------------------------------------------------------
# Convolutions, kernels and feature maps
# ---------------------------------------------------------------------------


def as_grey_image(image: Any) -> np.ndarray:
    """Return one grey image as a 2-D float array (uint8 divided by 255); 1×H×W is accepted too."""
    x = to_numpy(image)
    while x.ndim > 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2 or x.size == 0:
        shape = tuple(to_numpy(image).shape)
        hint = (" A colour image? Take one channel, e.g. image[0], or their mean: image.float().mean(0)."
                if len(shape) == 3 and shape[0] == 3 else "")
        raise ValueError(f"expected one grey image H×W (e.g. images[0, 0]), got shape {shape}.{hint}")
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(float) / 255
    return x.astype(float)


def kernel_text(kernel: np.ndarray) -> str:
    """The kernel's numbers, one row per line (for kernels up to 5×5), or just its size."""
    if max(kernel.shape) > 5:
        return f"{kernel.shape[0]}×{kernel.shape[1]} kernel"
    rows = [" ".join(f"{format_number(v):>5}" for v in row) for row in kernel]
    return "\n".join(rows)


def show_convolution(
    image: np.ndarray | torch.Tensor, kernels: Mapping[str, Any], *, title: str | None = None
) -> Figure:
    """Show a grey image and what each kernel makes of it.

    Each filtered image is ``scipy.signal.convolve2d(image, kernel, mode="same")``
    (same size as the input), titled with the kernel's name, its numbers written
    underneath. A result that is never negative (a blur, say) is shown in grey like a
    photo. A result with both signs (an edge detector) is shown in colour, symmetric
    around 0: red = positive, blue = negative, white = 0; the scale ends at the 99th
    percentile of the absolute values, so that a few extreme pixels do not wash out
    everything else (the colour bar's pointed ends mark the clipped values). Note: convolve2d flips the kernel (mathematical convolution); PyTorch's
    ``nn.Conv2d`` does not (cross-correlation). For symmetric kernels that is the same;
    for an edge detector it swaps the sign.

    Example:
        kernels = {"vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
                   "blur": np.ones((3, 3)) / 9}
        fig = cu.show_convolution(train.images[0, 0], kernels)
    """
    checks.check_images(image, "show_convolution")
    checks.check_kernels(kernels)
    picture = as_grey_image(checks.as_numbers(image, "image", "show_convolution"))
    if not kernels:
        raise ValueError("got no kernels: pass a dict such as {'blur': np.ones((3, 3)) / 9}")
    arrays = {str(name): checks.as_numbers(k, f"kernel {name!r}", "show_convolution").astype(float)
              for name, k in kernels.items()}
    for name, kernel in arrays.items():
        if kernel.ndim != 2 or kernel.size == 0:
            raise ValueError(f"kernel {name!r} should be a 2-D array such as 3×3, got shape {kernel.shape}")
    fig, axes = image_grid(1 + len(arrays), 4, 3.0, 3.6, suptitle=title is not None)
    axes[0].imshow(picture, cmap="gray")
    axes[0].set_title("original")
    for ax, (name, kernel) in zip(axes[1:], arrays.items()):
        filtered = convolve2d(picture, kernel, mode="same")
        if filtered.min() >= 0:
            shown = ax.imshow(filtered, cmap="gray")
            fig.colorbar(shown, ax=ax, shrink=0.7)
        else:
            limit = float(np.percentile(np.abs(filtered), 99)) or float(np.abs(filtered).max())
            shown = ax.imshow(filtered, cmap="RdBu_r", vmin=-limit, vmax=limit)
            fig.colorbar(shown, ax=ax, shrink=0.7, extend="both")
        ax.set_title(name)
        ax.set_xlabel(kernel_text(kernel), fontsize=7, family="monospace")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title is not None:
        fig.suptitle(title)
    return fig


def first_n_of(n: int, total: int) -> str:
    """Words for a figure title: "First 8 of 16" or, when all are shown, "All 16"."""
    return f"All {total}" if n == total else f"First {n} of {total}"


def show_kernels(weight: np.ndarray | torch.Tensor, *, n: int = 16, title: str | None = None) -> Figure:
    """Show the first ``n`` kernels of a convolution layer's weight (out × in × k × k).

    Kernels with 3 input channels are shown in colour (RGB); otherwise grey, using
    input channel 0. Each kernel is stretched to its own range (smallest weight dark,
    largest bright), so compare patterns, not brightness between kernels.

    Example:
        fig = cu.show_kernels(model.conv1.weight)
    """
    checks.check_weight(weight)
    check_positive(n, "n")
    w = checks.as_numbers(weight, "weight", "show_kernels").astype(float)
    if w.ndim != 4 or w.shape[0] == 0:
        raise ValueError(
            f"expected a convolution weight out×in×k×k (e.g. model.conv1.weight), got shape {tuple(w.shape)}"
        )
    out_channels, in_channels, height, width = w.shape
    n = min(n, out_channels)
    if in_channels == 3:
        pictures = [min_max_scale(kernel).transpose(1, 2, 0) for kernel in w[:n]]
        kind = "RGB"
    else:
        pictures = [min_max_scale(kernel[0]) for kernel in w[:n]]
        kind = "grey" if in_channels == 1 else f"input channel 0 of {in_channels}, grey"
    fig, axes = image_grid(n, 8, 1.1, 1.35, suptitle=True)
    for i, (ax, picture) in enumerate(zip(axes, pictures)):
        ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"kernel {i}", fontsize=8)
        ax.axis("off")
    fig.suptitle(title if title is not None else f"{first_n_of(n, out_channels)} kernels ({height}×{width}, {kind})")
    return fig


def show_feature_maps(
    activation: np.ndarray | torch.Tensor, *, n: int = 8, title: str | None = None, cmap: str = "viridis"
) -> Figure:
    """Show the first ``n`` channels (feature maps) of one image's activation, C×H×W or 1×C×H×W.

    Each map has its own colour scale: bright = where that channel responds most.

    Example:
        with cu.capture_activations(model, ["conv1"]) as acts:
            model(X[:1])
        fig = cu.show_feature_maps(acts["conv1"])
    """
    checks.check_activation(activation)
    check_positive(n, "n")
    checks.check_cmap(cmap)
    maps = checks.as_numbers(activation, "activation", "show_feature_maps").astype(float)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3 or maps.shape[0] == 0:
        hint = " That is a batch: pick one image with activation[:1]." if maps.ndim == 4 else ""
        raise ValueError(f"expected one image's activation C×H×W or 1×C×H×W, got shape {tuple(maps.shape)}.{hint}")
    channels, height, width = maps.shape
    n = min(n, channels)
    fig, axes = image_grid(n, 8, 1.6, 1.9, suptitle=True)
    for i, ax in enumerate(axes):
        ax.imshow(maps[i], cmap=cmap)
        ax.set_title(f"channel {i}", fontsize=9)
        ax.axis("off")
    fig.suptitle(title if title is not None else f"{first_n_of(n, channels)} feature maps ({height}×{width})")
    return fig


# ---------------------------------------------------------------------------
# Didactic diagrams (drawn, not downloaded)
# ---------------------------------------------------------------------------

MAX_UNITS_DRAWN = 7  # bigger layers are drawn as 3 circles, "⋮", 3 circles


def unit_slots(size: int) -> tuple[list[float], float | None]:
    """Vertical positions of the circles drawn for a layer, and of its "⋮" (None if all drawn)."""
    if size <= MAX_UNITS_DRAWN:
        return [(size - 1) / 2 - i for i in range(size)], None
    top = (MAX_UNITS_DRAWN - 1) / 2
    slots = [top - i for i in range(MAX_UNITS_DRAWN)]
    middle = MAX_UNITS_DRAWN // 2
    return slots[:middle] + slots[middle + 1 :], slots[middle]


def draw_network(
    layer_sizes: Sequence[int], labels: Sequence[str] | None = None, *, title: str | None = None
) -> Figure:
    """Draw a fully connected network: one column of circles per layer, every pair joined.

    Layers with more than 7 units show 3 circles, "⋮", 3 circles; the real size is
    written underneath. The title counts the weights and biases.

    Example:
        fig = cu.draw_network([784, 128, 10], ["pixels", "hidden", "classes"])
    """
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__iter__"):
        raise TypeError(f"layer_sizes must be a list of layer sizes, e.g. [784, 128, 10], got {layer_sizes!r}")
    if isinstance(labels, str):
        raise TypeError(f"labels must be a list with one label per layer, got one string {labels!r}")
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"a network needs at least 2 layers (input and output), got layer_sizes={sizes}")
    for size in sizes:
        check_positive(size, "every layer size")
    if labels is None:
        hidden = ["hidden"] if len(sizes) == 3 else [f"hidden {i}" for i in range(1, len(sizes) - 1)]
        labels = ["input"] + hidden + ["output"]
    if len(labels) != len(sizes):
        raise ValueError(f"got {len(sizes)} layers but {len(labels)} labels; pass one label per layer")
    columns = [unit_slots(size) for size in sizes]
    spacing = 3.0
    fig, ax = plt.subplots(figsize=(1.9 * len(sizes) + 1.0, 5.0), layout="constrained")
    for i in range(len(sizes) - 1):  # edges first, so circles cover their ends
        for y_from in columns[i][0]:
            for y_to in columns[i + 1][0]:
                ax.plot([i * spacing, (i + 1) * spacing], [y_from, y_to], color="0.75", linewidth=0.6, zorder=1)
    for i, ((slots, dots), size, label) in enumerate(zip(columns, sizes, labels)):
        color = WINDOW_COLORS[0] if i == 0 else (WINDOW_COLORS[2] if i == len(sizes) - 1 else WINDOW_COLORS[1])
        for y in slots:
            ax.add_patch(Circle((i * spacing, y), 0.3, facecolor=color, edgecolor="black", zorder=2))
        if dots is not None:
            ax.text(i * spacing, dots, "⋮", ha="center", va="center", fontsize=18, zorder=2)
        ax.text(i * spacing, -(MAX_UNITS_DRAWN + 1) / 2, f"{label}\n{size:,} units", ha="center", va="top", fontsize=10)
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    biases = sum(sizes[1:])
    ax.set_xlim(-1.2, (len(sizes) - 1) * spacing + 1.2)
    ax.set_ylim(-(MAX_UNITS_DRAWN + 1) / 2 - 1.3, (MAX_UNITS_DRAWN + 1) / 2)
    ax.set_aspect("equal")
    ax.axis("off")
    default = f"Fully connected network: {weights:,} weights + {biases:,} biases"
    ax.set_title(title if title is not None else default)
    return fig


def draw_number_grid(
    ax: Axes,
    values: np.ndarray,
    total_rows: int,
    label: str,
    fills: Mapping[tuple[int, int], str] | None = None,
    bold: set[tuple[int, int]] | None = None,
) -> float:
    """Draw ``values`` as a table of square cells in ``ax``, vertically centred in ``total_rows``.

    ``label`` is written just above the table; ``fills`` colours cells by (row, column);
    ``bold`` cells get bold numbers. Returns the y of the top edge (to draw outlines around cells).
    """
    fills = fills or {}
    bold = bold or set()
    rows, cols = values.shape
    top = (total_rows - rows) / 2
    for i in range(rows):
        for j in range(cols):
            fill = fills.get((i, j), "white")
            ax.add_patch(Rectangle((j, top + i), 1, 1, facecolor=fill, edgecolor="black", linewidth=1))
            weight = "bold" if (i, j) in bold else "normal"
            number = format_number(values[i, j])
            ax.text(j + 0.5, top + i + 0.5, number, ha="center", va="center", fontsize=14, fontweight=weight)
    ax.text(cols / 2, top - 0.15, label, ha="center", va="bottom", fontsize=12)
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(total_rows + 0.1, -0.7)  # row 0 at the top, like a matrix; room for the label
    ax.set_aspect("equal")
    ax.axis("off")
    return top


def draw_operator(ax: Axes, symbol: str) -> None:
    """Write a big symbol (∗, =, →) in the middle of an otherwise empty axes."""
    ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=24, transform=ax.transAxes)
    ax.axis("off")


def as_number_grid(values: Any, name: str) -> np.ndarray:
    """Return a small 2-D numeric array, or raise a ValueError naming the argument."""
    grid = checks.as_numbers(values, name, "the diagram").astype(float)
    if grid.ndim != 2 or grid.size == 0:
        raise ValueError(f"{name} should be a 2-D grid of numbers such as [[0, 1], [2, 3]], got shape {grid.shape}")
    return grid


def cross_correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Slide ``kernel`` over ``image`` (no padding, stride 1): multiply, add. What nn.Conv2d computes."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i : i + kh, j : j + kw] * kernel).sum()
    return out


def draw_convolution_example(input: Any = None, kernel: Any = None, *, title: str | None = None) -> Figure:
    """Draw one step of a convolution: input ∗ kernel = output, with the arithmetic.

    The window under the kernel for the first output is highlighted, and its sum of
    products is written out, e.g. "0×0 + 1×1 + 3×2 + 4×3 = 19". Defaults: the
    3×3 input [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and the 2×2 kernel [[0, 1], [2, 3]]
    from Dive into Deep Learning (Zhang et al.), section 7.2. As in PyTorch, the
    kernel is not flipped (strictly, this is cross-correlation).

    Example:
        fig = cu.draw_convolution_example()
        fig = cu.draw_convolution_example([[1, 2, 0], [0, 1, 3], [2, 2, 1]], [[1, 0], [0, -1]])
    """
    image = as_number_grid([[0, 1, 2], [3, 4, 5], [6, 7, 8]] if input is None else input, "input")
    weights = as_number_grid([[0, 1], [2, 3]] if kernel is None else kernel, "kernel")
    if weights.shape[0] > image.shape[0] or weights.shape[1] > image.shape[1]:
        raise ValueError(f"the kernel {weights.shape} must not be larger than the input {image.shape}")
    output = cross_correlate(image, weights)
    kh, kw = weights.shape
    highlight = RIGHT_COLOR + "55"  # translucent blue
    window = {(i, j): highlight for i in range(kh) for j in range(kw)}
    widths = [image.shape[1], 0.9, kw, 0.9, output.shape[1]]
    rows = image.shape[0]
    fig, axes = plt.subplots(1, 5, figsize=(0.7 * sum(widths) + 1.0, 0.7 * rows + 1.9),
                             gridspec_kw={"width_ratios": widths}, layout="constrained")
    top = draw_number_grid(axes[0], image, rows, f"input {image.shape[0]}×{image.shape[1]}", fills=window)
    axes[0].add_patch(Rectangle((0, top), kw, kh, fill=False, edgecolor=RIGHT_COLOR, linewidth=3))
    draw_number_grid(axes[2], weights, rows, f"kernel {kh}×{kw}", fills=window)
    output_label = f"output {output.shape[0]}×{output.shape[1]}"
    draw_number_grid(axes[4], output, rows, output_label, fills={(0, 0): highlight}, bold={(0, 0)})
    draw_operator(axes[1], "∗")
    draw_operator(axes[3], "=")
    products = [f"{format_number(x)}×{format_number(k)}" for x, k in zip(image[:kh, :kw].flat, weights.flat)]
    fig.supxlabel(" + ".join(products) + f" = {format_number(output[0, 0])}", fontsize=13)
    fig.suptitle(title if title is not None else "Convolution: multiply the window by the kernel, add it all up")
    return fig


def max_pool(image: np.ndarray, size: int) -> np.ndarray:
    """Largest value of each size×size window (windows side by side, stride = size)."""
    rows, cols = image.shape[0] // size, image.shape[1] // size
    return image.reshape(rows, size, cols, size).max(axis=(1, 3))


def draw_max_pooling(input: Any = None, size: int = 2, *, title: str | None = None) -> Figure:
    """Draw max pooling: each coloured size×size window of the input becomes its largest value.

    The largest value in each window is bold and framed. Default input: a 4×4 grid.

    Example:
        fig = cu.draw_max_pooling()
        fig = cu.draw_max_pooling(np.arange(36).reshape(6, 6), size=3)
    """
    default = [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 9, 0], [3, 4, 1, 8]]
    image = as_number_grid(default if input is None else input, "input")
    check_positive(size, "size")
    if image.shape[0] % size or image.shape[1] % size:
        raise ValueError(f"the input {image.shape[0]}×{image.shape[1]} does not split into {size}×{size} windows; "
                         f"use a size that divides both sides, or crop the input")
    output = max_pool(image, size)
    fills, bold, outputs_fill = {}, set(), {}
    for r in range(output.shape[0]):
        for c in range(output.shape[1]):
            color = WINDOW_COLORS[(r * output.shape[1] + c) % len(WINDOW_COLORS)] + "88"
            outputs_fill[(r, c)] = color
            window = image[r * size : (r + 1) * size, c * size : (c + 1) * size]
            top_i, top_j = np.unravel_index(np.argmax(window), window.shape)
            bold.add((r * size + top_i, c * size + top_j))
            for i in range(size):
                for j in range(size):
                    fills[(r * size + i, c * size + j)] = color
    rows = image.shape[0]
    widths = [image.shape[1], 1.0, output.shape[1]]
    fig, axes = plt.subplots(1, 3, figsize=(0.7 * sum(widths) + 1.0, 0.7 * rows + 1.3),
                             gridspec_kw={"width_ratios": widths}, layout="constrained")
    top = draw_number_grid(axes[0], image, rows, f"input {image.shape[0]}×{image.shape[1]}", fills=fills, bold=bold)
    for i, j in bold:
        axes[0].add_patch(Rectangle((j, top + i), 1, 1, fill=False, edgecolor="black", linewidth=3))
    draw_operator(axes[1], "→")
    output_label = f"output {output.shape[0]}×{output.shape[1]}"
    draw_number_grid(axes[2], output, rows, output_label, fills=outputs_fill, bold=set(outputs_fill))
    fig.suptitle(title if title is not None else f"Max pooling {size}×{size}: keep the largest value of each window")
    return fig
