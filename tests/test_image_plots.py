"""Tests for course_utils.image_plots: they look at what was drawn, not only that nothing raised."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import same_color

from course_utils.figures import RIGHT_COLOR, WRONG_COLOR
from course_utils.image_plots import show_images, show_predictions
from figure_helpers import image_axes, random_uint8

CLASSES = ("cat", "dog", "bird")


# --------------------------------------------------------------------------- show_images


def test_show_images_draws_one_titled_panel_per_image():
    images = torch.from_numpy(random_uint8(10, 3, 8, 8))
    fig = show_images(images, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]), CLASSES, ncols=4, title="Pets")
    axes = image_axes(fig)
    assert len(axes) == 10 and len(fig.axes) == 10  # unused grid cells removed
    assert [ax.get_title() for ax in axes[:4]] == ["cat", "dog", "bird", "cat"]
    assert fig._suptitle.get_text() == "Pets"
    first = axes[0].images[0].get_array()
    assert first.shape == (8, 8, 3)
    np.testing.assert_allclose(first, images[0].permute(1, 2, 0).numpy() / 255, rtol=1e-6)


def test_show_images_figure_grows_with_the_grid():
    small = show_images(random_uint8(4, 1, 8, 8), ncols=4)
    large = show_images(random_uint8(16, 1, 8, 8), ncols=4)
    assert large.get_size_inches()[1] > small.get_size_inches()[1]
    assert small.get_size_inches()[0] == pytest.approx(4 * 1.5)


def test_show_images_undoes_normalization_and_clips():
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.1)
    pixels = np.random.default_rng(1).random((2, 3, 5, 5)).astype(np.float32)
    normalized = (pixels - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    normalized[0, 0, 0, 0] = 100.0  # far too bright: shown as 1
    fig = show_images(torch.from_numpy(normalized.astype(np.float32)), mean=mean, std=std)
    shown = [ax.images[0].get_array() for ax in image_axes(fig)]
    expected = pixels.transpose(0, 2, 3, 1).copy()
    expected[0, 0, 0, 0] = 1.0
    np.testing.assert_allclose(np.stack(shown), expected, atol=1e-5)


def test_grey_images_use_a_grey_colour_map_and_rgb_none():
    grey = show_images(random_uint8(2, 1, 6, 6))
    assert all(ax.images[0].get_cmap().name == "gray" for ax in image_axes(grey))
    assert image_axes(grey)[0].images[0].get_array().shape == (6, 6)
    custom = show_images(random_uint8(1, 6, 6, 1), cmap="viridis")
    assert image_axes(custom)[0].images[0].get_cmap().name == "viridis"
    rgb = show_images(random_uint8(6, 6, 3))
    assert image_axes(rgb)[0].images[0].get_array().shape == (6, 6, 3)


def test_show_images_titles_and_plain_labels():
    fig = show_images(random_uint8(2, 1, 4, 4), titles=["left", "right"])
    assert [ax.get_title() for ax in image_axes(fig)] == ["left", "right"]
    fig = show_images(random_uint8(2, 1, 4, 4), labels=[7, 3])
    assert [ax.get_title() for ax in image_axes(fig)] == ["7", "3"]


def test_float_pixels_outside_0_1_warn_about_mean_and_std():
    with pytest.warns(UserWarning, match="mean= and std="):
        show_images(np.full((1, 1, 4, 4), -2.0, dtype=np.float32))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": np.zeros((0, 3, 4, 4))}, "no images to show"),
        ({"images": np.zeros((3, 1, 4, 4)), "labels": [0, 1]}, "got 3 images but 2 labels"),
        ({"images": np.zeros((2, 1, 4, 4)), "labels": [0, 5], "classes": CLASSES}, r"labels \[5\] are outside classes"),
        ({"images": np.zeros((2, 1, 4, 4)), "labels": [-1, 0], "classes": CLASSES}, "outside classes"),
        ({"images": np.zeros((2, 1, 4, 4)), "titles": ["a"]}, "got 2 images but 1 titles"),
        ({"images": random_uint8(2, 3, 4, 4), "mean": (0.5,) * 3, "std": (0.2,) * 3}, "leave out mean= and std="),
        ({"images": np.zeros((2, 3, 4, 4)), "mean": (0.5, 0.5), "std": (0.2, 0.2)}, "mean has 2 values but the images"),
        ({"images": np.zeros((2, 3, 4, 4)), "mean": (0.5,) * 3}, "pass both mean= and std="),
        ({"images": np.zeros((2, 1, 4, 4)), "ncols": 0}, "ncols must be"),
    ],
)
def test_show_images_errors_say_what_was_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        show_images(**kwargs)


# --------------------------------------------------------------------------- show_predictions


def test_show_predictions_colours_titles_and_counts_right():
    labels = torch.tensor([0, 1, 2, 2])
    predictions = torch.tensor([0, 2, 2, 1])
    fig = show_predictions(random_uint8(4, 3, 6, 6), labels, predictions, CLASSES)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        "pred: cat\ntrue: cat",
        "pred: bird\ntrue: dog",
        "pred: bird\ntrue: bird",
        "pred: dog\ntrue: bird",
    ]
    colours = [ax.title.get_color() for ax in axes]
    assert [same_color(c, RIGHT_COLOR) for c in colours] == [True, False, True, False]
    assert [same_color(c, WRONG_COLOR) for c in colours] == [False, True, False, True]
    assert "2 of 4 right" in fig._suptitle.get_text()


def test_show_predictions_suptitle_keeps_the_given_title_and_denormalizes():
    pixels = np.full((1, 1, 4, 4), 0.25, dtype=np.float32)
    fig = show_predictions((pixels - 0.5) / 0.5, [1], [1], CLASSES, mean=(0.5,), std=(0.5,), title="Test set")
    assert fig._suptitle.get_text().startswith("Test set\n1 of 1 right")
    np.testing.assert_allclose(image_axes(fig)[0].images[0].get_array(), 0.25)


@pytest.mark.parametrize(
    "predictions, message",
    [
        ([0, 1], "got 3 images but 2 predictions"),
        ([0, 1, 3], r"predictions \[3\] are outside classes"),
        (np.zeros((3, 3)), r"argmax\(dim=1\)"),
        ([0.5, 1, 2], "whole class indices"),
    ],
)
def test_show_predictions_errors(predictions, message):
    with pytest.raises(ValueError, match=message):
        show_predictions(random_uint8(3, 1, 4, 4), [0, 1, 2], predictions, CLASSES)
