"""Pictures of what a model gets wrong: the confusion matrix and the accuracy of each class.

- ``plot_confusion_matrix``: which true class (row) is predicted as which (column);
- ``plot_per_class_accuracy``: one bar per class, worst at the top, with the overall accuracy.

Each takes what ``cu.evaluate`` returns (or its ``.confusion`` / ``.per_class``) and gives
back a matplotlib ``Figure``. The training curves are in ``training_plots``.

Example::

    result = cu.evaluate(model, val_loader)
    fig = cu.plot_confusion_matrix(result)
    fig = cu.plot_per_class_accuracy(result, chance=1 / len(result.classes))
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from course_utils import checks
from course_utils.figures import RIGHT_COLOR, WHITE_BOX


def confusion_and_classes(confusion: Any, classes: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """Return (square count matrix, class names) from an array or an object with .confusion/.classes."""
    if hasattr(confusion, "confusion"):  # an Evaluation from cu.evaluate
        if classes is None:
            classes = getattr(confusion, "classes", None)
        confusion = confusion.confusion
    matrix = checks.numbers_of(confusion, "confusion", "plot_confusion_matrix")
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
    in a small font). Rows of classes with no examples stay grey. Lecture 03 reads its
    first confusion matrix (section 8).

    Example:
        result = cu.evaluate(model, test_loader)
        fig = cu.plot_confusion_matrix(result)
        fig = cu.plot_confusion_matrix(result.confusion, result.classes, normalize=False)
    """
    checks.arguments("plot_confusion_matrix", confusion=(confusion, checks.confusion),
                     classes=(classes, checks.optional(checks.class_names)), normalize=(normalize, checks.flag),
                     title=(title, checks.optional(checks.text)))
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
    accuracy) are listed at the bottom as "no examples". Lecture 01 draws it to show
    what one overall accuracy hides (section 3).

    Example:
        result = cu.evaluate(model, test_loader)
        fig = cu.plot_per_class_accuracy(result, chance=1 / len(result.classes))
    """
    checks.arguments("plot_per_class_accuracy", per_class=(per_class, checks.per_class_table),
                     chance=(chance, checks.optional(checks.share)), title=(title, checks.optional(checks.text)))
    accuracy, overall = per_class_and_overall(per_class)
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
