"""Tests for course_utils.plotting: they look at what was drawn, not only that nothing raised."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.colors import same_color
from matplotlib.patches import Circle
from scipy.signal import convolve2d

from course_utils import feature_plots, plotting
from course_utils.diagrams import draw_convolution_example, draw_max_pooling, draw_network
from course_utils.evaluation_plots import plot_confusion_matrix, plot_history, plot_per_class_accuracy
from course_utils.feature_plots import show_convolution, show_feature_maps, show_kernels
from course_utils.plotting import RIGHT_COLOR, WRONG_COLOR, show_images, show_predictions

CLASSES = ("cat", "dog", "bird")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure after each test, to save memory."""
    yield
    plt.close("all")


@dataclass
class FakeEvaluation:
    """What cu.evaluate returns, reduced to the attributes plotting reads (duck typing)."""

    confusion: np.ndarray
    classes: tuple[str, ...]
    per_class: pd.DataFrame
    accuracy: float


def image_axes(fig):
    """The axes that show an image, in order."""
    return [ax for ax in fig.axes if ax.images]


def axes_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def all_texts(fig) -> list[str]:
    return [text for ax in fig.axes for text in axes_texts(ax)]


def random_uint8(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)


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
    assert plotting.as_image_batch(np.zeros(shape)).shape == expected


@pytest.mark.parametrize("shape", [(2, 5, 5), (2, 2, 5, 5), (2, 3, 4, 5, 6), (10,)])
def test_wrong_image_shapes_are_explained(shape):
    with pytest.raises(ValueError, match=r"expected images shaped .* got shape"):
        show_images(np.zeros(shape))


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


# --------------------------------------------------------------------------- plot_history


def make_history(epochs: int = 2, per_epoch: int = 1000, start_loss: float = 2.0) -> pd.DataFrame:
    rows = []
    for epoch in range(1, epochs + 1):
        for batch, seen in ((5, per_epoch // 2), (10, per_epoch)):
            examples = (epoch - 1) * per_epoch + seen
            rows.append(
                {"epoch": epoch, "batch": batch, "examples": examples,
                 "loss": start_loss / examples * 1000, "accuracy": examples / (epochs * per_epoch)}
            )
    return pd.DataFrame(rows)


def test_plot_history_one_run_in_epochs_and_percent():
    history = make_history(epochs=3)
    fig = plot_history(history, title="Linear model")
    loss_ax, accuracy_ax = fig.axes
    assert len(loss_ax.lines) == 1 and len(accuracy_ax.lines) == 1
    np.testing.assert_allclose(loss_ax.lines[0].get_xdata(), [0.5, 1, 1.5, 2, 2.5, 3])
    np.testing.assert_allclose(accuracy_ax.lines[0].get_ydata(), 100 * history["accuracy"])
    assert loss_ax.get_xlabel() == "epoch" and "%" in accuracy_ax.get_ylabel()
    assert fig._suptitle.get_text() == "Linear model"


def test_plot_history_compares_named_runs():
    fig = plot_history({"linear": make_history(per_epoch=1000), "hidden": make_history(per_epoch=2000, start_loss=1)})
    loss_ax, accuracy_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["linear", "hidden"]
    assert [t.get_text() for t in accuracy_ax.get_legend().get_texts()] == ["linear", "hidden"]
    for line in accuracy_ax.lines:  # both in epochs, whatever the epoch size
        assert max(line.get_xdata()) == pytest.approx(2.0)
    assert not same_color(loss_ax.lines[0].get_color(), loss_ax.lines[1].get_color())


@pytest.mark.parametrize(
    "histories, message",
    [
        (make_history().drop(columns="examples"), r"lacks the column\(s\) \['examples'\]"),
        (make_history().iloc[0:0], "is empty"),
        ({}, "empty dict"),
        (make_history().query("epoch == 2"), "no rows for epoch 1"),
        ({"run": [1, 2, 3]}, "should be a pandas DataFrame"),
    ],
)
def test_plot_history_errors(histories, message):
    with pytest.raises(ValueError, match=message):
        plot_history(histories)


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
        (per_class_table(), 10, "chance should be a share"),
        (pd.DataFrame({"accuracy": [85.0]}), None, "divide by 100"),
    ],
)
def test_per_class_errors(table, chance, message):
    with pytest.raises(ValueError, match=message):
        plot_per_class_accuracy(table, chance=chance)


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


def test_bfloat16_tensors_are_shown():
    fig = show_images(torch.full((1, 1, 4, 4), 0.5, dtype=torch.bfloat16))
    np.testing.assert_allclose(image_axes(fig)[0].images[0].get_array(), 0.5)


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
    np.testing.assert_allclose(first.get_array(), plotting.min_max_scale(weight[0, 0]))


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


# --------------------------------------------------------------------------- diagrams


def test_draw_network_circles_dots_and_counts():
    fig = draw_network([784, 5, 10], ["pixels", "hidden", "classes"])
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 6 + 5 + 6  # large layers: 3 circles, ⋮, 3 circles
    assert axes_texts(ax).count("⋮") == 2
    assert "pixels\n784 units" in axes_texts(ax)
    assert len(ax.lines) == 6 * 5 + 5 * 6  # every drawn pair joined
    assert ax.get_title() == "Fully connected network: 3,970 weights + 15 biases"


@pytest.mark.parametrize(
    "sizes, labels, message",
    [([10], None, "at least 2 layers"), ([3, 0], None, "at least 1"), ([3, 2], ["a"], "2 layers but 1 labels")],
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


def test_every_function_returns_a_figure():
    figures = [
        show_images(random_uint8(2, 1, 4, 4)),
        plot_history(make_history()),
        plot_confusion_matrix(np.eye(2)),
        draw_network([2, 2]),
    ]
    assert all(isinstance(fig, plt.Figure) for fig in figures)
    figures[0].canvas.draw()  # layout runs without errors


def test_picture_modules_import_no_torch_heavy_module():
    """The picture modules import, from this package, only each other, config and plot_checks (no torch)."""
    ours = set()
    here = Path(plotting.__file__)
    for name in ("plotting.py", "evaluation_plots.py", "feature_plots.py", "diagrams.py", "config.py", "plot_checks.py"):
        path = here.with_name(name)
        for node in ast.parse(path.read_text()).body:   # module level (TYPE_CHECKING blocks are ifs: skipped)
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["course_utils." + (node.module or "") if node.level else node.module]
            else:
                continue
            assert not any(name.split(".")[0] in ("torch", "torchvision") for name in names), (path.name, names)
            ours.update(name for name in names if name.startswith("course_utils"))
    assert ours == {"course_utils.config", "course_utils.plot_checks", "course_utils.plotting"}


def test_plot_history_draws_validation_points_where_they_were_measured():
    history = make_history(epochs=3)
    history["val_loss"] = np.nan
    history["val_accuracy"] = np.nan
    ends = history.groupby("epoch").tail(1).index
    history.loc[ends, "val_loss"] = [1.5, 1.2, 1.4]
    history.loc[ends, "val_accuracy"] = [0.3, 0.4, 0.38]
    fig = plot_history({"ConvNet": history})
    loss_ax, accuracy_ax = fig.axes
    assert [line.get_label() for line in accuracy_ax.lines] == ["ConvNet: training", "ConvNet: validation"]
    validation = accuracy_ax.lines[1]
    assert validation.get_xdata().tolist() == [1.0, 2.0, 3.0]            # at the end of each epoch
    assert validation.get_ydata().tolist() == pytest.approx([30, 40, 38])  # in percent
    assert loss_ax.lines[1].get_linestyle() == "--"
    plt.close(fig)
