"""Pictures of what a trained ConvNet computes: feature maps of several layers, on one shared scale.

``show_layer_activations`` draws, in ONE figure, each image beside the feature maps
that several layers compute for it. Each layer gets ONE colour scale, shared by all its
channels and all images and shown by a colour bar — so a weak response looks weak and
a channel that never fires stays dark, instead of every map being stretched to its own
range (as ``cu.show_feature_maps`` does, which is good for seeing shapes but hides how
strong a response is).

Example::

    with torch.no_grad(), cu.capture_activations(model, ["conv1", "conv2", "conv3"]) as acts:
        model(x)
    fig = cu.show_layer_activations(images, acts, n=6, titles=["ship", "horse", "cat"])
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from course_utils.plotting import to_display_array, to_numpy

#: The colour scale of a layer ends at this percentile of its values (a few extreme pixels
#: would otherwise make everything else look dark); the colour bar's pointed end marks it.
SCALE_PERCENTILE = 99.5


def _layer_maps(activations: Mapping[str, Any], layer: str, count: int, n: int, relu: bool) -> np.ndarray:
    """One layer's activations as a float array images × n × H × W (ReLU applied if asked)."""
    if layer not in activations:
        raise ValueError(f"activations has no layer {layer!r}; it has {list(activations)} "
                         "(the names given to cu.capture_activations).")
    maps = to_numpy(activations[layer]).astype(float)
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
    (its 99.5th percentile over all images and shown channels) bright.
    """
    if not isinstance(activations, Mapping) or not activations:
        raise TypeError("activations must be the dict that cu.capture_activations fills, {layer name: tensor}; "
                        f"got {type(activations).__name__}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number of at least 1, got {n!r}.")
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
