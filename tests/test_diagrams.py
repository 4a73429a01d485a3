"""Tests for course_utils.diagrams: the numbers and shapes each diagram draws."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.patches import Circle

from course_utils.diagrams import draw_convolution_example, draw_max_pooling, draw_network, draw_residual_block
from figure_helpers import axes_texts


def test_residual_block_names_its_layers_and_the_skip_connection():
    fig = draw_residual_block(channels=32)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum("conv 3×3, 32 → 32" in t for t in texts) == 2
    assert sum(t == "batch norm" for t in texts) == 2 and "+" in texts
    assert any("skip connection" in t for t in texts)
    assert fig.axes[0].get_title() == "A residual block: output = x + F(x)"
    plt.close(fig)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (2.5, ValueError), (True, TypeError),
                                        ("64", TypeError)])
def test_residual_block_checks_channels(bad, error):
    with pytest.raises(error, match="draw_residual_block: channels must be a whole number of at least 1"):
        draw_residual_block(channels=bad)


# --------------------------------------------------------------------------- diagrams


def test_draw_network_circles_dots_and_counts():
    fig = draw_network([784, 5, 10], ["pixels", "hidden", "classes"])
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 20 + 5 + 10  # a big layer: 10 circles, "⋮", 10 circles; small ones whole
    assert axes_texts(ax).count("⋮") == 1
    assert "pixels\n784 units" in axes_texts(ax)
    assert len(ax.lines) == 20 * 5 + 5 * 10  # every drawn pair joined
    # between two layers: their connections (one weight each), the next layer's biases, the share of all parameters
    assert "784 × 5\n= 3,920 weights\n+ 5 biases\n(98.5% of all)" in axes_texts(ax)
    assert "5 × 10\n= 50 weights\n+ 10 biases\n(1.5% of all)" in axes_texts(ax)
    assert ax.get_title() == "Fully connected network: 3,970 weights + 15 biases"
    plt.close(fig)


def test_draw_network_makes_a_bigger_layer_a_taller_column():
    """Lecture 04's point: 3072 → 100 → 10 must look wide, narrower, narrowest."""
    fig = draw_network([3072, 100, 10])
    ax = fig.axes[0]
    heights = {}
    for circle in (p for p in ax.patches if isinstance(p, Circle)):
        x, y = circle.center
        heights.setdefault(round(x), []).append(y)
    spans = [max(ys) - min(ys) for _, ys in sorted(heights.items())]
    assert spans[0] > spans[1] > spans[2]
    assert [len(ys) for _, ys in sorted(heights.items())] == [22, 16, 10]
    assert "3,072 × 100\n= 307,200 weights\n+ 100 biases\n(99.7% of all)" in axes_texts(ax)
    plt.close(fig)


@pytest.mark.parametrize(
    "sizes, labels, message",
    [([10], None, r"at least 2 \(input and output\)"), ([3, 0], None, r"layer_sizes\[1\] must be a whole number of at least 1"),
     ([3, 2], ["a"], "2 layers but 1 labels")],
)
def test_draw_network_errors(sizes, labels, message):
    with pytest.raises(ValueError, match=message):
        draw_network(sizes, labels)


def numbers_next_to(fig, label_start: str) -> list[str]:
    """The numbers drawn in the grid whose label starts with ``label_start`` (e.g. "output")."""
    for ax in fig.axes:
        texts = axes_texts(ax)
        if any(t.startswith(label_start) for t in texts):
            return [t for t in texts if not t.startswith(label_start)]
    raise AssertionError(f"no grid labelled {label_start!r}")


def test_draw_convolution_example_computes_the_d2l_numbers():
    fig = draw_convolution_example()
    assert numbers_next_to(fig, "input") == [str(i) for i in range(9)]
    assert numbers_next_to(fig, "kernel") == ["0", "1", "2", "3"]
    assert numbers_next_to(fig, "output") == ["19", "25", "37", "43"]
    assert fig._supxlabel.get_text() == "0×0 + 1×1 + 3×2 + 4×3 = 19"


def test_draw_convolution_example_with_other_numbers():
    fig = draw_convolution_example(torch.tensor([[1, 2, 0], [0, 1, 3], [2, 2, 1]]), [[1, 0], [0, -1]])
    assert numbers_next_to(fig, "output") == ["0", "-1", "-2", "0"]
    assert fig._supxlabel.get_text() == "1×1 + 2×0 + 0×0 + 1×-1 = 0"
    with pytest.raises(ValueError, match="must not be larger"):
        draw_convolution_example([[1, 2]], [[1], [2]])


def test_draw_max_pooling_output_and_highlighted_maxima():
    fig = draw_max_pooling()
    assert numbers_next_to(fig, "output") == ["6", "4", "7", "9"]
    input_ax = next(ax for ax in fig.axes if "input 4×4" in axes_texts(ax))
    bold = sorted(t.get_text() for t in input_ax.texts if t.get_fontweight() == "bold")
    assert bold == ["4", "6", "7", "9"]


def test_draw_max_pooling_other_sizes_and_errors():
    fig = draw_max_pooling(np.arange(36).reshape(6, 6), size=3)
    assert numbers_next_to(fig, "output") == ["14", "17", "32", "35"]
    with pytest.raises(ValueError, match="does not split into 2×2 windows"):
        draw_max_pooling(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="size must be"):
        draw_max_pooling(size=0)
