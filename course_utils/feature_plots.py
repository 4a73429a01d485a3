"""Pictures of what convolutions compute: filtered images, kernels, and feature maps.

- ``show_convolution``: a grey image and what each of a few kernels makes of it;
- ``show_kernels``: a convolution layer's kernels as tiny images;
- ``show_feature_maps``: the channels of one image's activation, each on its own colour scale
  (good for seeing shapes; it hides how strong a response is);
- ``show_layer_activations``: each image beside the feature maps of several layers, with ONE
  colour scale per layer, shared by all its channels and all images and shown by a colour bar —
  so a weak response looks weak and a channel that never fires stays dark.

Example::

    with torch.no_grad(), cu.capture_activations(model, ["conv1", "conv2", "conv3"]) as acts:
        model(x)
    fig = cu.show_layer_activations(images, acts, n=6, titles=["ship", "horse", "cat"])
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.signal import convolve2d

from course_utils import checks
from course_utils.figures import as_grey_image, format_number, image_grid, min_max_scale, to_display_array

if TYPE_CHECKING:  # only for type hints
    import torch


# ---------------------------------------------------------------------------
# Convolutions, kernels and feature maps
# ---------------------------------------------------------------------------


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
    for an edge detector it swaps the sign. Lecture 05 writes the convolution by hand
    (``cross_correlate``, section 2), then applies hand-made kernels to a photograph with
    this function (section 3).

    Example:
        kernels = {"vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
                   "blur": np.ones((3, 3)) / 9}
        fig = cu.show_convolution(train.images[0, 0], kernels)
    """
    checks.arguments("show_convolution", image=(image, checks.images), kernels=(kernels, checks.kernels),
                     title=(title, checks.optional(checks.text)))
    picture = as_grey_image(image, "image", "show_convolution")
    if not kernels:
        raise ValueError("show_convolution got no kernels: pass a dict such as {'blur': np.ones((3, 3)) / 9}")
    arrays = {str(name): checks.numbers_of(k, f"kernels[{name!r}]", "show_convolution").astype(float)
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
    largest bright), so compare patterns, not brightness between kernels. Lecture 06
    looks at the first layer's learned kernels with it (section 5).

    Example:
        fig = cu.show_kernels(model.conv1.weight)
    """
    checks.arguments("show_kernels", weight=(weight, checks.weight), n=(n, checks.positive_int))
    w = checks.numbers_of(weight, "weight", "show_kernels").astype(float)
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
        fig = cu.feature_plots.show_feature_maps(acts["conv1"])
    """
    checks.arguments("show_feature_maps", activation=(activation, checks.activation), n=(n, checks.positive_int),
                     cmap=(cmap, checks.colour_map))
    maps = checks.numbers_of(activation, "activation", "show_feature_maps").astype(float)
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

#: The colour scale of a layer ends at this percentile of its values (a few extreme pixels
#: would otherwise make everything else look dark); the colour bar's pointed end marks it.
SCALE_PERCENTILE = 99.5


def _layer_maps(activations: Mapping[str, Any], layer: str, count: int, n: int, relu: bool) -> np.ndarray:
    """One layer's activations as a float array images × n × H × W (ReLU applied if asked)."""
    if layer not in activations:
        raise ValueError(f"activations has no layer {layer!r}; it has {list(activations)} "
                         "(the names given to cu.capture_activations).")
    maps = checks.numbers_of(activations[layer], f"activations[{layer!r}]", "show_layer_activations").astype(float)
    if maps.ndim != 4 or maps.shape[0] != count:
        raise ValueError(f"activations[{layer!r}] should be a batch images × channels × H × W with one entry per "
                         f"image ({count}); got shape {tuple(maps.shape)}.")
    maps = maps[:, :n]
    return np.maximum(maps, 0) if relu else maps


def show_layer_activations(
    images: Any,
    activations: Mapping[str, Any],
    layers: Sequence[str] | None = None,
    *,
    n: int = 6,
    titles: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    relu: bool = True,
    title: str | None = None,
) -> Figure:
    """Show each image beside the first ``n`` feature maps of each layer, one colour scale per layer.

    Args:
        images: the images that went through the model (uint8, or normalised floats with
            ``mean``/``std``), one per row block of the figure.
        activations: what ``cu.capture_activations`` recorded, ``{layer name: batch of maps}``.
        layers: which layers to show, in order (default: all of ``activations``).
        n: channels shown per layer (the first ``n``: choose none by hand, to fool nobody).
        titles: one line per image (e.g. "true: cat / predicted: dog").
        relu: show ``max(0, value)``, what the next layer receives after a ReLU.

    Every map of a layer uses the same colours: 0 is dark, the layer's largest values
    (its 99.5th percentile over all images and shown channels) bright. Lecture 06 draws
    such a grid by hand with ``plt.subplots`` and ``imshow`` (section 4).
    """
    checks.arguments(
        "show_layer_activations",
        activations=(activations, checks.Rule("the dict that cu.capture_activations fills, {layer name: tensor}",
                                              lambda v: isinstance(v, Mapping), lambda v: len(v) > 0)),
        layers=(layers, checks.optional(checks.texts("layer name per row block, e.g. ['conv1', 'conv2']"))),
        n=(n, checks.positive_int),
        titles=(titles, checks.optional(checks.texts("title per image"))),
        relu=(relu, checks.flag),
    )
    layers = list(activations) if layers is None else [str(layer) for layer in layers]
    pictures = to_display_array(images, mean, std)
    count = len(pictures)
    if titles is not None and len(titles) != count:
        raise ValueError(f"got {count} images but {len(titles)} titles; pass one title per image.")
    maps = {layer: _layer_maps(activations, layer, count, n, relu) for layer in layers}
    shown = max(m.shape[1] for m in maps.values())
    scales = {layer: float(np.percentile(m, SCALE_PERCENTILE)) or float(m.max()) or 1.0 for layer, m in maps.items()}

    rows = count * len(layers)
    fig = plt.figure(figsize=(1.25 * (shown + 2) + 0.6, 1.25 * rows + 0.6), layout="constrained")
    grid = fig.add_gridspec(rows, shown + 2, width_ratios=[1.8] + [1] * shown + [0.12])
    for i in range(count):
        image_ax = fig.add_subplot(grid[i * len(layers):(i + 1) * len(layers), 0])
        picture = pictures[i]
        image_ax.imshow(picture[..., 0] if picture.shape[-1] == 1 else picture,
                        cmap="gray" if picture.shape[-1] == 1 else None, vmin=0, vmax=1)
        image_ax.set_title(titles[i] if titles is not None else f"image {i}", fontsize=9)
        image_ax.axis("off")
        for j, layer in enumerate(layers):
            row = i * len(layers) + j
            drawn = None
            for c in range(maps[layer].shape[1]):
                ax = fig.add_subplot(grid[row, 1 + c])
                drawn = ax.imshow(maps[layer][i, c], cmap="viridis", vmin=0 if relu else None,
                                  vmax=scales[layer], interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(layer, fontsize=9)
                if i == 0:
                    ax.set_title(f"channel {c}", fontsize=8)
            fig.colorbar(drawn, cax=fig.add_subplot(grid[row, shown + 1]), extend="max")
    size = ", ".join(f"{layer} {maps[layer].shape[2]}×{maps[layer].shape[3]}" for layer in layers)
    fig.suptitle(title if title is not None else
                 f"Feature maps after ReLU, one colour scale per layer ({size})")
    return fig
