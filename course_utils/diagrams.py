"""Didactic diagrams drawn with matplotlib (nothing is downloaded): network building blocks.

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

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

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
        fig = cu.draw_residual_block(channels=64)
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be a whole number of at least 1, got {channels!r}.")
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
