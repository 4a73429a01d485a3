"""Tests for course_utils.feature_plots: convolutions of a photo, kernels, feature maps, layer activations."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from course_utils.figures import min_max_scale
from course_utils.feature_plots import show_convolution, show_feature_maps, show_kernels, show_layer_activations
from figure_helpers import image_axes, random_uint8


def activations():
    return {"conv1": torch.randn(2, 10, 8, 8), "conv2": 5 * torch.randn(2, 4, 4, 4)}


def test_every_map_of_a_layer_shares_one_scale_and_each_layer_has_a_colour_bar():
    images = (torch.rand(2, 3, 8, 8) * 255).to(torch.uint8)
    acts = activations()
    fig = show_layer_activations(images, acts, n=3, titles=["a", "b"])
    maps = [ax for ax in fig.axes if ax.images and ax.images[0].get_array().shape in ((8, 8), (4, 4))
            and ax.get_title() != "a"]
    by_layer = {}
    for ax in maps:
        shape = ax.images[0].get_array().shape
        by_layer.setdefault(shape, set()).add(ax.images[0].get_clim())
    assert len(by_layer[(8, 8)]) == 1 and len(by_layer[(4, 4)]) == 1      # one scale per layer
    (low1, high1), = by_layer[(8, 8)]
    (low2, high2), = by_layer[(4, 4)]
    assert low1 == 0 and high2 > high1                                       # conv2's values are larger
    assert sum(ax.images[0].get_array().shape == (8, 8) for ax in maps) == 2 * 3   # 2 images × 3 channels
    colour_bars = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]
    assert len(colour_bars) == 2 * 2                                         # one per layer row
    assert "one colour scale per layer" in fig._suptitle.get_text()
    plt.close(fig)


def test_relu_is_applied_by_default():
    acts = {"conv1": -torch.ones(1, 2, 4, 4)}
    fig = show_layer_activations(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), acts, n=2)
    arrays = [ax.images[0].get_array() for ax in fig.axes if ax.images and ax.images[0].get_array().shape == (4, 4)]
    assert all(float(a.max()) == 0 for a in arrays)
    plt.close(fig)


@pytest.mark.parametrize("kwargs, error, text", [
    ({"activations": torch.zeros(2, 3, 4, 4)}, TypeError, "dict that cu.capture_activations fills"),
    ({"layers": ["conv9"]}, ValueError, "no layer 'conv9'"),
    ({"n": 0}, ValueError, "n must be"),
    ({"titles": ["only one"]}, ValueError, "one title per image"),
])
def test_wrong_arguments_are_named(kwargs, error, text):
    arguments = {"images": torch.zeros(2, 3, 8, 8, dtype=torch.uint8), "activations": activations(), **kwargs}
    with pytest.raises(error, match=text):
        show_layer_activations(**arguments)


# --------------------------------------------------------------------------- convolution, kernels, feature maps


def test_show_convolution_panels_equal_scipy():
    image = np.random.default_rng(2).random((9, 7))
    kernels = {"vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "blur": np.ones((3, 3)) / 9}
    fig = show_convolution(torch.from_numpy(image), kernels, title="Filters")
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["original", "vertical edges", "blur"]
    np.testing.assert_allclose(axes[0].images[0].get_array(), image)
    for ax, kernel in zip(axes[1:], kernels.values()):
        np.testing.assert_allclose(ax.images[0].get_array(), convolve2d(image, np.asarray(kernel), mode="same"))
    edges, blur = axes[1].images[0], axes[2].images[0]
    low, high = edges.get_clim()
    assert low == pytest.approx(-high)  # signed output: symmetric around 0, in colour
    assert edges.get_cmap().name == "RdBu_r"
    assert blur.get_cmap().name == "gray"  # never negative: shown like a photo
    assert "-2" in axes[1].get_xlabel()  # the kernel's numbers, written small


def test_show_convolution_colour_scale_ignores_a_few_extreme_pixels():
    image = np.zeros((40, 40))
    image[:, 20:] = 1.0          # one vertical edge ...
    image[5, 5] = 50.0           # ... and one extreme pixel (9 of 1,600 filtered values are large)
    fig = show_convolution(image, {"edges": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]})
    filtered = convolve2d(image, np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]), mode="same")
    low, high = image_axes(fig)[1].images[0].get_clim()
    assert high == pytest.approx(np.percentile(np.abs(filtered), 99))
    assert high < np.abs(filtered).max() / 10   # the edge stays visible next to the extreme pixel


def test_show_convolution_scales_uint8_images():
    image = random_uint8(1, 6, 6)
    axes = image_axes(show_convolution(image, {"identity": [[1]]}))
    np.testing.assert_allclose(axes[1].images[0].get_array(), image[0] / 255)


@pytest.mark.parametrize(
    "image, kernels, message",
    [
        (np.zeros((3, 5, 5)), {"k": np.ones((3, 3))}, "one grey image"),
        (np.zeros((5, 5)), {}, "got no kernels"),
        (np.zeros((5, 5)), {"flat": [1, 2, 3]}, "'flat' should be a 2-D array"),
    ],
)
def test_show_convolution_errors(image, kernels, message):
    with pytest.raises(ValueError, match=message):
        show_convolution(image, kernels)


def test_show_kernels_rgb_scaled_per_kernel():
    weight = torch.randn(20, 3, 5, 5)
    fig = show_kernels(weight, n=6)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == [f"kernel {i}" for i in range(6)]
    for ax in axes:
        picture = ax.images[0].get_array()
        assert picture.shape == (5, 5, 3)
        assert picture.min() == pytest.approx(0) and picture.max() == pytest.approx(1)
    assert "First 6 of 20" in fig._suptitle.get_text()


def test_show_kernels_grey_for_other_input_channels():
    weight = np.random.default_rng(3).normal(size=(4, 6, 3, 3))
    axes = image_axes(show_kernels(weight))
    assert len(axes) == 4
    first = axes[0].images[0]
    assert first.get_cmap().name == "gray"
    np.testing.assert_allclose(first.get_array(), min_max_scale(weight[0, 0]))


def test_show_kernels_error():
    with pytest.raises(ValueError, match="out×in×k×k"):
        show_kernels(torch.zeros(3, 5, 5))


def test_show_feature_maps_first_n_channels():
    activation = torch.rand(1, 12, 6, 6)
    fig = show_feature_maps(activation, n=5)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == [f"channel {i}" for i in range(5)]
    np.testing.assert_allclose(axes[3].images[0].get_array(), activation[0, 3].numpy())
    assert axes[0].images[0].get_cmap().name == "viridis"
    assert len(image_axes(show_feature_maps(activation[0]))) == 8


@pytest.mark.parametrize("shape", [(2, 4, 6, 6), (6, 6)])
def test_show_feature_maps_errors(shape):
    with pytest.raises(ValueError, match="one image's activation"):
        show_feature_maps(torch.zeros(shape))
