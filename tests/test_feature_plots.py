"""show_layer_activations: one figure, each image beside its maps, one colour scale per layer."""
import matplotlib.pyplot as plt
import pytest
import torch

from course_utils.feature_plots import show_layer_activations


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
