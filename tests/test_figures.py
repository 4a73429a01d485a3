"""Tests for course_utils.figures: from tensors to pixels, and what every picture helper returns."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

import course_utils as cu
from course_utils import figures
from figure_helpers import image_axes, random_uint8


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((4, 3, 8, 6), (4, 3, 8, 6)),  # N×C×H×W
        ((4, 8, 6, 3), (4, 3, 8, 6)),  # N×H×W×C
        ((4, 1, 8, 6), (4, 1, 8, 6)),  # grey batch
        ((3, 8, 6), (1, 3, 8, 6)),  # C×H×W
        ((8, 6, 3), (1, 3, 8, 6)),  # H×W×C
        ((8, 6), (1, 1, 8, 6)),  # H×W
    ],
)
def test_as_image_batch_accepts_the_usual_layouts(shape, expected):
    assert figures.as_image_batch(np.zeros(shape)).shape == expected


@pytest.mark.parametrize("shape", [(2, 5, 5), (2, 2, 5, 5), (2, 3, 4, 5, 6), (10,)])
def test_wrong_image_shapes_are_explained(shape):
    with pytest.raises(ValueError, match=r"expected images shaped .* got shape"):
        cu.show_images(np.zeros(shape))



def test_as_grey_image_takes_one_grey_image_and_scales_uint8():
    np.testing.assert_allclose(figures.as_grey_image(np.full((1, 2, 2), 255, dtype=np.uint8)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"A colour image\? Take one channel"):
        figures.as_grey_image(np.zeros((3, 4, 4)))


def test_min_max_scale_stretches_to_0_1_and_keeps_constants_in_the_middle():
    np.testing.assert_allclose(figures.min_max_scale(np.array([2.0, 4.0, 3.0])), [0, 1, 0.5])
    np.testing.assert_allclose(figures.min_max_scale(np.full(3, 7.0)), [0.5] * 3)


def test_bfloat16_tensors_are_shown():
    fig = cu.show_images(torch.full((1, 1, 4, 4), 0.5, dtype=torch.bfloat16))
    np.testing.assert_allclose(image_axes(fig)[0].images[0].get_array(), 0.5)



EVERY_PICTURE = {
    "show_images": lambda: cu.show_images(random_uint8(2, 1, 4, 4)),
    "show_predictions": lambda: cu.show_predictions(random_uint8(2, 1, 4, 4), [0, 1], [1, 1], ["a", "b"]),
    "plot_history": lambda: cu.plot_history(pd.DataFrame({"epoch": [1, 1], "batch": [1, 2], "examples": [5, 10],
                                                          "loss": [2.0, 1.0], "accuracy": [0.2, 0.4]})),
    "plot_confusion_matrix": lambda: cu.plot_confusion_matrix(np.eye(2)),
    "plot_per_class_accuracy": lambda: cu.plot_per_class_accuracy(pd.DataFrame({"accuracy": [0.5, 0.7]})),
    "show_convolution": lambda: cu.show_convolution(np.eye(5), {"blur": np.ones((3, 3)) / 9}),
    "show_kernels": lambda: cu.show_kernels(torch.zeros(2, 3, 3, 3)),
    "show_feature_maps": lambda: cu.feature_plots.show_feature_maps(torch.rand(2, 4, 4)),
    "show_layer_activations": lambda: cu.show_layer_activations(torch.zeros(1, 3, 4, 4, dtype=torch.uint8),
                                                                {"conv1": torch.rand(1, 2, 4, 4)}),
    "draw_network": lambda: cu.diagrams.draw_network([2, 2]),
    "draw_convolution_example": lambda: cu.diagrams.draw_convolution_example(),
    "draw_max_pooling": lambda: cu.diagrams.draw_max_pooling(),
    "draw_residual_block": lambda: cu.diagrams.draw_residual_block(),
}


@pytest.mark.parametrize("name", list(EVERY_PICTURE))
def test_every_picture_helper_returns_a_figure_whose_layout_draws(name):
    fig = EVERY_PICTURE[name]()
    assert isinstance(fig, plt.Figure) and fig.axes
    fig.canvas.draw()   # the constrained layout runs without errors
