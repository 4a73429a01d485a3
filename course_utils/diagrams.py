"""Didactic diagrams drawn with matplotlib (nothing is downloaded).

- ``draw_network([3072, 100, 10])``: a fully connected network, one column of units per layer;
- ``draw_convolution_example()``: one step of a convolution, input ∗ kernel = output, with the arithmetic;
- ``draw_max_pooling()``: each window of the input becomes its largest value;
- ``draw_residual_block()``: the residual block of a ResNet — two convolution
  layers and the skip connection that adds the block's input to their output.

Every function returns the matplotlib ``Figure``; assign it (``fig = ...``) so a
notebook shows it once.

Example:
    >>> fig = draw_residual_block(channels=64)
    >>> fig.axes[0].get_title()
    'A residual block: output = x + F(x)'
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from course_utils import checks
from course_utils.figures import RIGHT_COLOR, WINDOW_COLORS, format_number


# ---------------------------------------------------------------------------
# Didactic diagrams (drawn, not downloaded)
# ---------------------------------------------------------------------------

SMALL_LAYER = 12      # a layer of up to 12 units is drawn whole; a bigger one as circles, "⋮", circles
SLOT_SPACING = 0.5    # vertical distance between two drawn units


def unit_slots(size: int) -> tuple[list[float], float | None]:
    """Vertical positions of the circles drawn for a layer, and of its "⋮" (None if all are drawn).

    A layer of up to 12 units is drawn whole. A bigger one gets a taller column the bigger
    it is — 13 slots for 13 units, growing with the logarithm of its size (17 for 100
    units, 23 for 3,072) — with "⋮" in the middle slot, so that 3072 → 100 → 10 looks wide,
    narrower, narrowest. The column is centred on 0.

    Example:
        >>> [len(unit_slots(n)[0]) for n in (10, 100, 3072)]     # circles drawn
        [10, 16, 22]
    """
    if size <= SMALL_LAYER:
        slots = size
    else:
        slots = SMALL_LAYER + 1 + 2 * round(2 * np.log10(size / SMALL_LAYER))
    top = (slots - 1) / 2 * SLOT_SPACING
    positions = [top - i * SLOT_SPACING for i in range(slots)]
    if size <= SMALL_LAYER:
        return positions, None
    middle = slots // 2
    return positions[:middle] + positions[middle + 1:], positions[middle]


def draw_network(
    layer_sizes: Sequence[int], labels: Sequence[str] | None = None, *, title: str | None = None
) -> Figure:
    """Draw a fully connected network: one column of units per layer, every pair of neighbours joined.

    A bigger layer gets a taller column (up to 12 units are all drawn; a bigger layer shows
    circles, "⋮", circles, more of them the bigger it is), and its size is written underneath.
    Between two layers the diagram counts their connections — one weight each — and the
    biases of the next layer, and their share of all parameters: "3,072 × 100 = 307,200
    weights + 100 biases (99.7 % of all)". The default title adds them all up. Lecture 04 draws its MLP with it (section 3).

    Example:
        fig = cu.diagrams.draw_network([3072, 100, 10], ["pixels", "hidden units", "class scores"])
    """
    checks.arguments(
        "draw_network",
        layer_sizes=(layer_sizes, checks.Rule("a list of layer sizes, at least 2 (input and output), e.g. "
                                              "[784, 128, 10]", lambda v: isinstance(v, (list, tuple)),
                                              lambda v: len(v) >= 2)),
        labels=(labels, checks.optional(checks.texts("label per layer"))),
        title=(title, checks.optional(checks.text)),
    )
    sizes = list(layer_sizes)
    for index, size in enumerate(sizes):
        checks.positive_int(size, f"layer_sizes[{index}]", "draw_network")
    if labels is None:
        hidden = ["hidden"] if len(sizes) == 3 else [f"hidden {i}" for i in range(1, len(sizes) - 1)]
        labels = ["input"] + hidden + ["output"]
    if len(labels) != len(sizes):
        raise ValueError(f"got {len(sizes)} layers but {len(labels)} labels; pass one label per layer")
    columns = [unit_slots(size) for size in sizes]
    top = max(max(slots) for slots, _ in columns)
    spacing = 6.0
    parameters = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    fig, ax = plt.subplots(figsize=(2.4 * len(sizes) + 1.0, 6.4), layout="constrained")
    for i in range(len(sizes) - 1):  # edges first, so circles cover their ends
        for y_from in columns[i][0]:
            for y_to in columns[i + 1][0]:
                ax.plot([i * spacing, (i + 1) * spacing], [y_from, y_to], color="0.78", linewidth=0.4, zorder=1)
        weights = sizes[i] * sizes[i + 1]
        share = (weights + sizes[i + 1]) / parameters
        ax.text((i + 0.5) * spacing, top + 0.9,
                f"{sizes[i]:,} × {sizes[i + 1]:,}\n= {weights:,} weights\n+ {sizes[i + 1]:,} biases\n"
                f"({share:.1%} of all)",
                ha="center", va="bottom", fontsize=9.5, zorder=3,
                bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="0.6"))
    for i, ((slots, dots), size, label) in enumerate(zip(columns, sizes, labels)):
        color = WINDOW_COLORS[0] if i == 0 else (WINDOW_COLORS[2] if i == len(sizes) - 1 else WINDOW_COLORS[1])
        for y in slots:
            ax.add_patch(Circle((i * spacing, y), 0.19, facecolor=color, edgecolor="black", linewidth=0.7, zorder=2))
        if dots is not None:
            ax.text(i * spacing, dots, "⋮", ha="center", va="center", fontsize=16, zorder=2)
        ax.text(i * spacing, -top - 0.6, f"{label}\n{size:,} units", ha="center", va="top", fontsize=10)
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    biases = sum(sizes[1:])
    ax.set_xlim(-1.3, (len(sizes) - 1) * spacing + 1.3)
    ax.set_ylim(-top - 1.9, top + 3.3)
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


def as_number_grid(values: Any, name: str, function: str) -> np.ndarray:
    """Return a small 2-D numeric array, or raise a ValueError naming the argument."""
    grid = checks.numbers_of(values, name, function).astype(float)
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
        fig = cu.diagrams.draw_convolution_example()
        fig = cu.diagrams.draw_convolution_example([[1, 2, 0], [0, 1, 3], [2, 2, 1]], [[1, 0], [0, -1]])
    """
    checks.arguments("draw_convolution_example", title=(title, checks.optional(checks.text)))
    image = as_number_grid([[0, 1, 2], [3, 4, 5], [6, 7, 8]] if input is None else input, "input",
                           "draw_convolution_example")
    weights = as_number_grid([[0, 1], [2, 3]] if kernel is None else kernel, "kernel", "draw_convolution_example")
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
        fig = cu.diagrams.draw_max_pooling()
        fig = cu.diagrams.draw_max_pooling(np.arange(36).reshape(6, 6), size=3)
    """
    default = [[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 9, 0], [3, 4, 1, 8]]
    checks.arguments("draw_max_pooling", size=(size, checks.positive_int), title=(title, checks.optional(checks.text)))
    image = as_number_grid(default if input is None else input, "input", "draw_max_pooling")
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

BOX_COLOR = "#56B4E9"      # Okabe–Ito sky blue: layers with weights
ADD_COLOR = "#E69F00"      # orange: the addition
SKIP_COLOR = "#D55E00"     # vermillion: the skip connection


def _box(ax, x: float, y: float, text: str, color: str, width: float = 3.7, height: float = 0.62) -> None:
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05,rounding_size=0.12", facecolor=color,
                                edgecolor="black", linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], color: str = "black",
           connection: str = "arc3", width: float = 1.4) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color,
                                 linewidth=width, connectionstyle=connection, shrinkA=0, shrinkB=0))


def draw_residual_block(channels: int = 64, *, title: str | None = None) -> Figure:
    """Draw a residual block: x → [conv → BN → ReLU → conv → BN → ReLU] = F(x), then x + F(x).

    The main path computes a correction ``F(x)``; the skip connection (vermillion)
    carries ``x`` around it unchanged, and the two are added. Because the addition
    passes gradients straight through, even a deep stack of such blocks trains
    (He et al., 2016). ``channels`` is written on the layers: the block keeps the
    number of channels and the image size, so that ``x`` and ``F(x)`` can be added.

    Example:
        fig = cu.diagrams.draw_residual_block(channels=64)
    """
    checks.arguments("draw_residual_block", channels=(channels, checks.positive_int),
                     title=(title, checks.optional(checks.text)))
    fig, ax = plt.subplots(figsize=(5.6, 6.2), layout="constrained")
    layers = [f"conv 3×3, {channels} → {channels}, padding 1", "batch norm", "ReLU",
              f"conv 3×3, {channels} → {channels}, padding 1", "batch norm", "ReLU"]
    top, step = 6.6, 0.9
    ys = [top - step * (k + 1) for k in range(len(layers))]
    ax.text(0, top + 0.35, f"input x  ({channels} channels × H × W)", ha="center", va="bottom", fontsize=10)
    _arrow(ax, (0, top + 0.3), (0, ys[0] + 0.33))
    for k, (y, text) in enumerate(zip(ys, layers)):
        color = BOX_COLOR if text.startswith(("conv", "batch")) else "#F0F0F0"
        _box(ax, 0, y, text, color)
        if k + 1 < len(layers):
            _arrow(ax, (0, y - 0.33), (0, ys[k + 1] + 0.33))
    add_y = ys[-1] - 1.0
    _arrow(ax, (0, ys[-1] - 0.33), (0, add_y + 0.3))
    ax.add_patch(plt.Circle((0, add_y), 0.28, facecolor=ADD_COLOR, edgecolor="black", linewidth=1.2))
    ax.text(0, add_y, "+", ha="center", va="center", fontsize=16, fontweight="bold")
    # the skip connection: from the input, around the right of the main path, into the addition
    branch_y, side = top + 0.12, 2.3
    ax.plot([0, side, side], [branch_y, branch_y, add_y], color=SKIP_COLOR, linewidth=2.2, solid_joinstyle="round")
    _arrow(ax, (side, add_y), (0.3, add_y), color=SKIP_COLOR, width=2.2)
    ax.text(side + 0.15, (top + add_y) / 2, "skip connection:\nx, unchanged", ha="left", va="center",
            fontsize=9, color=SKIP_COLOR)
    ax.text(-2.0, (ys[0] + ys[-1]) / 2, "F(x)", ha="right", va="center", fontsize=12, style="italic")
    _arrow(ax, (0, add_y - 0.3), (0, add_y - 0.9))
    ax.text(0, add_y - 0.95, "output  x + F(x)", ha="center", va="top", fontsize=10)
    ax.set_xlim(-3.2, 4.6)
    ax.set_ylim(add_y - 1.5, top + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title if title is not None else "A residual block: output = x + F(x)")
    return fig
