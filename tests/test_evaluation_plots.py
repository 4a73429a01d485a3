"""Tests for course_utils.evaluation_plots: the confusion matrix and the accuracy per class."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from course_utils.evaluation_plots import plot_confusion_matrix, plot_per_class_accuracy
from figure_helpers import axes_texts

CLASSES = ("cat", "dog", "bird")


@dataclass
class FakeEvaluation:
    """What cu.evaluate returns, reduced to the attributes the pictures read (duck typing)."""

    confusion: np.ndarray
    classes: tuple[str, ...]
    per_class: pd.DataFrame
    accuracy: float


# --------------------------------------------------------------------------- confusion matrix


def test_confusion_matrix_shares_names_and_annotations():
    confusion = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 5]])
    fig = plot_confusion_matrix(confusion, CLASSES)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
    assert "true" in ax.get_ylabel() and "predicted" in ax.get_xlabel()
    assert axes_texts(ax) == ["0.80", "0.20", "0", "0.25", "0.75", "0", "0", "0", "1.00"]
    np.testing.assert_allclose(ax.images[0].get_array()[1], [0.25, 0.75, 0])


def test_confusion_matrix_counts_from_an_evaluation():
    confusion = np.array([[8, 2], [1, 3]])
    result = FakeEvaluation(confusion, ("yes", "no"), pd.DataFrame(), 0.79)
    fig = plot_confusion_matrix(result, normalize=False)
    ax = fig.axes[0]
    assert axes_texts(ax) == ["8", "2", "1", "3"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["yes", "no"]


def test_confusion_matrix_with_25_classes_stays_readable():
    letters = [chr(ord("A") + i) for i in range(25)]
    confusion = np.diag(np.full(25, 10))
    confusion[0, 1] = 5
    confusion[9] = 0  # "J" never occurs
    ax = plot_confusion_matrix(confusion, letters).axes[0]
    texts = axes_texts(ax)
    assert "no examples" in texts
    assert len(texts) == 24 + 1 + 1  # diagonal (without J) + one confusion + "no examples"; zeros left out
    assert all(t.get_fontsize() <= 6 for t in ax.texts if t.get_text() != "no examples")


@pytest.mark.parametrize(
    "confusion, classes, message",
    [
        (np.zeros((2, 3)), None, "square confusion matrix"),
        (np.zeros((3, 3)), ("a", "b"), "3 classes but 2 class names"),
        (-np.ones((2, 2)), None, "negative"),
    ],
)
def test_confusion_matrix_errors(confusion, classes, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(confusion, classes)


# --------------------------------------------------------------------------- per-class accuracy


def per_class_table() -> pd.DataFrame:
    correct = [9, 2, 0, 6]
    total = [10, 10, 0, 10]
    accuracy = [c / t if t else np.nan for c, t in zip(correct, total)]
    return pd.DataFrame({"correct": correct, "total": total, "accuracy": accuracy}, index=["A", "B", "J", "C"])


def test_per_class_bars_sorted_worst_first_with_overall_and_chance():
    fig = plot_per_class_accuracy(per_class_table(), chance=0.25)
    ax = fig.axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == pytest.approx([20, 60, 90])  # worst first
    assert [t.get_text() for t in ax.get_yticklabels()] == ["B", "C", "A", "J"]
    assert ax.yaxis_inverted()  # the first (worst) row is at the top
    assert "no examples" in axes_texts(ax)
    overall, chance = ax.lines
    assert overall.get_xdata()[0] == pytest.approx(100 * 17 / 30) and overall.get_linestyle() == "--"
    assert chance.get_xdata()[0] == pytest.approx(25)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["overall 56.7%", "chance 25.0%"]


def test_per_class_from_an_evaluation_uses_its_overall_accuracy():
    result = FakeEvaluation(np.eye(4), ("A", "B", "J", "C"), per_class_table(), 0.5)
    ax = plot_per_class_accuracy(result).axes[0]
    assert len(ax.lines) == 1 and ax.lines[0].get_xdata()[0] == pytest.approx(50)


@pytest.mark.parametrize(
    "table, chance, message",
    [
        (pd.DataFrame({"correct": [1]}), None, "'accuracy' column"),
        (per_class_table().iloc[0:0], None, "empty"),
        (per_class_table(), 10, "chance must be a share between 0 and 1"),
        (pd.DataFrame({"accuracy": [85.0]}), None, "divide by 100"),
    ],
)
def test_per_class_errors(table, chance, message):
    with pytest.raises(ValueError, match=message):
        plot_per_class_accuracy(table, chance=chance)
