"""Tests for course_utils.widgets, without a browser.

The widgets run in a real IPython kernel (started with jupyter_client), because
that is where they live: with ipywidgets 7.7 (Colab) a widget cannot even be
created outside a kernel. The tests then play the browser's part: they send the
kernel the same ``comm_msg`` "update" a browser sends when someone picks a
kernel, types a number or moves a slider, and read what comes back on the IOPub
channel (the picture's ``display_data`` and its in-place ``update_display_data``)
and what the tool drew (the figure's image data and titles).

The kernel (the ``kernel`` fixture; ``pictures``, ``widget_views``) is shared with the tests of
``redraw`` and ``training_plots``: see ``tests/ipython_kernel.py``. Argument checks run in
this process.
"""
from __future__ import annotations

import numpy as np
import pytest

from course_utils import widgets
from ipython_kernel import pictures, widget_views


# ---------------------------------------------------------------------------
# Kernel explorer
# ---------------------------------------------------------------------------

EXPLORER_SETUP = """
    image = np.zeros((24, 24))
    image[6:18, 6:18] = 1.0              # a bright square on black: edges on its four sides
    explorer = widgets.KernelExplorer({"square": image, "square, transposed": image.T.copy() * 0.5})
    def drawn():
        return explorer.figure.axes[1].images[0].get_array().data
"""


def test_kernel_explorer_shows_controls_then_one_picture(kernel) -> None:
    result, messages = kernel.run(EXPLORER_SETUP + """
    result = {"preset": explorer.preset.value, "titles": [ax.get_title() for ax in explorer.figure.axes[:2]],
              "identity": bool(np.allclose(drawn(), image)),
              "cmap": explorer.figure.axes[1].images[0].get_cmap().name,
              "controls": explorer.controls.model_id, "dropdown": explorer.preset.model_id}
    """)
    assert result["preset"] == "identity", "it starts from the identity: the image itself"
    assert result["titles"] == ["original", "identity"]
    assert result["identity"], "the drawn image is not the image itself"
    assert result["cmap"] == "gray", "the first picture looks like the photo, in grey, not like a heat map"
    views = widget_views(messages)
    assert [v["application/vnd.jupyter.widget-view+json"]["model_id"] for v in views] == [result["controls"]]
    assert "Kernel explorer" in views[0]["text/plain"], "a saved notebook should show a readable line, not a repr"
    opened = {m["content"]["comm_id"] for m in messages if m["msg_type"] == "comm_open"}
    assert {result["controls"], result["dropdown"]} <= opened, "the widget models were not opened in the front end"
    shown = pictures(messages)
    assert len(shown) == 1 and shown[0][0] == "display_data", f"expected one new picture, got {shown}"


def test_choosing_a_preset_redraws_the_picture_in_place(kernel) -> None:
    result, messages = kernel.run(EXPLORER_SETUP + """
    first = drawn().copy()
    result = {"dropdown": explorer.preset.model_id, "options": list(explorer.preset.options)}
    """)
    display_id = pictures(messages)[0][1]
    box_blur = result["options"].index("box blur")
    replies = kernel.send_update(result["dropdown"], {"index": box_blur})   # what the browser sends
    assert pictures(replies) == [("update_display_data", display_id)], \
        "one preset change should replace the picture once (not once per number box), in place"
    after, _ = kernel.run("""
    result = {"preset": explorer.preset.value, "numbers": explorer.kernel.tolist(),
              "title": explorer.figure.axes[1].get_title(), "changed": float(np.abs(drawn() - first).max()),
              "blur": bool(np.allclose(drawn(), convolve2d(image, np.full((3, 3), 1 / 9), mode="same"))),
              "cmap": explorer.figure.axes[1].images[0].get_cmap().name}
    """)
    assert after["preset"] == "box blur" and after["title"] == "box blur"
    assert np.allclose(after["numbers"], np.full((3, 3), 1 / 9))
    assert after["changed"] > 0.1 and after["blur"]
    assert after["cmap"] == "gray", "a never-negative result is drawn in grey"


def test_the_edge_detector_uses_a_symmetric_scale_clipped_at_the_99th_percentile(kernel) -> None:
    result, _ = kernel.run(EXPLORER_SETUP + """
    explorer.preset.value = "edges (8-neighbour)"
    expected = convolve2d(image, widgets.PRESET_KERNELS["edges (8-neighbour)"], mode="same")
    shown = explorer.figure.axes[1].images[0]
    result = {"clim": list(shown.get_clim()), "limit": float(np.percentile(np.abs(expected), 99)),
              "cmap": shown.get_cmap().name, "same": bool(np.allclose(drawn(), expected))}
    """)
    assert result["same"]
    assert result["cmap"] == "RdBu_r"
    assert result["clim"] == pytest.approx([-result["limit"], result["limit"]])


def test_typing_a_number_makes_the_kernel_custom_and_redraws(kernel) -> None:
    result, messages = kernel.run(EXPLORER_SETUP + """
    explorer.preset.value = "identity"
    result = {"centre": explorer.numbers[1][1].model_id, "corner": explorer.numbers[0][0].model_id}
    """)
    display_id = pictures(messages)[0][1]
    replies = kernel.send_update(result["centre"], {"value": 2.0})
    assert pictures(replies) == [("update_display_data", display_id)]
    custom, _ = kernel.run("""
    result = {"preset": explorer.preset.value, "title": explorer.figure.axes[1].get_title(),
              "doubled": bool(np.allclose(drawn(), 2 * image))}
    """)
    assert custom == {"preset": "custom", "title": "custom", "doubled": True}
    kernel.send_update(result["centre"], {"value": 1.0})   # back to the identity's numbers
    back, _ = kernel.run("result = {'preset': explorer.preset.value, 'same': bool(np.allclose(drawn(), image))}")
    assert back == {"preset": "identity", "same": True}, "numbers equal to a preset should select that preset"


def test_choosing_another_image_redraws(kernel) -> None:
    result, _ = kernel.run(EXPLORER_SETUP + """
    explorer.preset.value = "identity"
    result = {"choice": explorer.image_choice.model_id}
    """)
    kernel.send_update(result["choice"], {"index": 1})
    after, _ = kernel.run("""
    result = {"name": explorer.image_choice.value, "same": bool(np.allclose(drawn(), image.T * 0.5)),
              "original": bool(np.allclose(explorer.figure.axes[0].images[0].get_array(), image.T * 0.5))}
    """)
    assert after == {"name": "square, transposed", "same": True, "original": True}


@pytest.mark.parametrize("arguments, error, words", [
    ({"image": np.zeros((8, 8)), "kernel": "blurry"}, ValueError, r"kernel must be one of the presets .* got 'blurry'"),
    ({"image": np.zeros((8, 8)), "kernel": np.ones((2, 2))}, ValueError, "3×3"),
    ({"image": np.zeros((8, 8, 3))}, ValueError, "Make it grey first"),
    ({"image": {}}, ValueError, "empty dict"),
    ({"image": np.zeros((8, 8)), "title": 5}, TypeError, "KernelExplorer: title must be a string or None, got 5"),
])
def test_kernel_explorer_checks_its_arguments(arguments, error, words) -> None:
    with pytest.raises(error, match=words):
        widgets.KernelExplorer(**arguments, show=False)   # fails before any widget is made


def test_kernel_words() -> None:
    assert widgets.kernel_words(widgets.PRESET_KERNELS["sharpen"]) == "0 -1 0; -1 5 -1; 0 -1 0"


# ---------------------------------------------------------------------------
# Activation browser
# ---------------------------------------------------------------------------

BROWSER_SETUP = """
    torch.manual_seed(0)
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    test_set = ImageSet(images, torch.arange(12) % 3, ("cat", "dog", "ship"), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25),
                        "toy", "test")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.conv2 = nn.Conv2d(6, 4, 3)
            self.dropout = nn.Dropout(0.5)
            self.fc = nn.Linear(4 * 12 * 12, 3)

        def forward(self, x):
            x = torch.relu(self.conv1(x))
            x = torch.relu(self.conv2(nn.functional.max_pool2d(x, 2)))
            return self.fc(self.dropout(torch.flatten(x, 1)))

    model = Net()
    model.train()                       # the browser must switch to eval mode and back
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    browser = widgets.ActivationBrowser(model, test_set, n=4)

    def maps():
        return np.stack([ax.images[0].get_array().data for ax in browser.maps_figure.axes])

    def expected(index, layer):
        with torch.no_grad(), cu.capture_activations(model.eval(), [layer]) as acts:
            scores = model(cu.normalize(images[index:index + 1], test_set.mean, test_set.std))
        model.train()
        return torch.relu(acts[layer][0, :4]).numpy(), int(scores.argmax())

    def untouched():
        same = all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
        hooks = sum(len(m._forward_hooks) for m in model.modules())
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        return {"same_weights": same, "training": model.training, "hooks": hooks, "grads": len(grads)}
"""


def test_activation_browser_shows_image_prediction_and_feature_maps(kernel) -> None:
    result, messages = kernel.run(BROWSER_SETUP + """
    want, predicted = expected(0, "conv1")
    result = {"layers": list(browser.layer.options), "maps_ok": bool(np.allclose(maps(), want, atol=1e-6)),
              "caption": browser.image_figure.axes[0].get_title(), "predicted": predicted,
              "prediction": browser.prediction, "heading": browser.maps_figure._suptitle.get_text(),
              "controls": browser.controls.model_id, **untouched()}
    """)
    assert result["layers"] == ["conv1", "conv2"], "by default every nn.Conv2d is offered"
    assert result["maps_ok"], "the feature maps drawn are not conv1's output after ReLU"
    assert result["prediction"] == result["predicted"]
    assert result["caption"].startswith("true: cat\npredicted: ")
    assert "conv1 after ReLU: first 4 of 6 feature maps (28×28), test image 0" in result["heading"]
    assert result["same_weights"] and result["training"] and result["hooks"] == 0 and result["grads"] == 0
    views = widget_views(messages)
    assert [v["application/vnd.jupyter.widget-view+json"]["model_id"] for v in views] == [result["controls"]]
    shown = pictures(messages)
    assert [kind for kind, _ in shown] == ["display_data", "display_data"], "the image, then the feature maps"


def test_moving_the_slider_changes_the_feature_maps(kernel) -> None:
    result, messages = kernel.run(BROWSER_SETUP + """
    before = maps().copy()
    result = {"slider": browser.slider.model_id}
    """)
    ids = [display_id for _, display_id in pictures(messages)]
    replies = kernel.send_update(result["slider"], {"value": 7})   # what the browser sends
    assert pictures(replies) == [("update_display_data", ids[0]), ("update_display_data", ids[1])]
    after, _ = kernel.run("""
    want, predicted = expected(7, "conv1")
    result = {"changed": float(np.abs(maps() - before).max()), "maps_ok": bool(np.allclose(maps(), want, atol=1e-6)),
              "title": browser.image_figure._suptitle.get_text(), "caption": browser.image_figure.axes[0].get_title(),
              "prediction": browser.prediction, "predicted": predicted, **untouched()}
    """)
    assert after["changed"] > 0 and after["maps_ok"]
    assert after["title"] == "test image 7" and after["caption"].startswith("true: dog\n")
    assert after["prediction"] == after["predicted"]
    assert after["same_weights"] and after["training"] and after["hooks"] == 0 and after["grads"] == 0


def test_choosing_a_layer_shows_its_maps(kernel) -> None:
    result, _ = kernel.run(BROWSER_SETUP + """
    result = {"layer": browser.layer.model_id}
    """)
    kernel.send_update(result["layer"], {"index": 1})
    after, _ = kernel.run("""
    want, _ = expected(0, "conv2")
    result = {"shape": list(maps().shape), "maps_ok": bool(np.allclose(maps(), want, atol=1e-6)),
              "never_negative": bool(maps().min() >= 0)}
    """)
    assert after == {"shape": [4, 12, 12], "maps_ok": True, "never_negative": True}


def test_activation_browser_checks_its_arguments() -> None:
    import torch
    from torch import nn

    from course_utils.data import ImageSet

    data = ImageSet(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]), ("a", "b"),
                    (0.5,) * 3, (0.2,) * 3, "toy", "test")
    conv = nn.Sequential(nn.Conv2d(3, 2, 3))
    with pytest.raises(TypeError, match=r"ActivationBrowser: model must be a model \(a torch.nn.Module\), got 'model'"):
        widgets.ActivationBrowser("model", data, show=False)
    with pytest.raises(TypeError, match="lacks images, labels, classes, mean, std"):
        widgets.ActivationBrowser(conv, [1, 2, 3], show=False)
    with pytest.raises(ValueError, match="at least one nn.Conv2d layer"):
        widgets.ActivationBrowser(nn.Sequential(nn.Flatten()), data, show=False)
    with pytest.raises(ValueError, match=r"layers must be names of the model's layers .* got \['conv9'\], which are not"):
        widgets.ActivationBrowser(conv, data, layers=["conv9"], show=False)
    with pytest.raises(ValueError, match="index must be an image number 0..1"):
        widgets.ActivationBrowser(conv, data, index=2, show=False)
    with pytest.raises(ValueError, match="n must be a whole number"):
        widgets.ActivationBrowser(conv, data, n=0, show=False)



def test_activation_browser_names_the_split_its_images_come_from() -> None:
    """Lecture 06 browses the validation set: the slider and the titles must not say "test image"."""
    import torch
    from torch import nn

    from course_utils.data import ImageSet

    data = ImageSet(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]), ("a", "b"),
                    (0.5,) * 3, (0.2,) * 3, "toy", "validation")
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
    browser = widgets.ActivationBrowser(model, data, index=1, show=False)
    assert browser.slider.description == "validation image"
    assert browser.image_figure.texts[0].get_text() == "validation image 1"
    assert "validation image 1 (b)" in browser.maps_figure.texts[0].get_text()

def test_tools_draw_without_ipython() -> None:
    """In plain Python the tools still draw (so scripts and tests can check figures) but display nothing."""
    explorer = widgets.KernelExplorer(np.eye(8), kernel="identity") if _widgets_work_here() else None
    if explorer is None:
        pytest.skip("this ipywidgets/ipykernel cannot create widgets outside a kernel (ipywidgets 7); "
                    "the kernel tests above cover it")
    assert explorer.picture.draws == 0
    assert np.allclose(explorer.figure.axes[1].images[0].get_array(), np.eye(8))


def _widgets_work_here() -> bool:
    import ipywidgets

    try:
        ipywidgets.IntSlider()
    except RuntimeError:    # ipykernel 6.17 / ipywidgets 7.7: "Comms cannot be opened without a kernel"
        return False
    return True


def test_unique_display_ids_per_tool(kernel) -> None:
    result, messages = kernel.run(EXPLORER_SETUP + """
    second = widgets.KernelExplorer(image, kernel="identity")
    result = None
    """)
    ids = [display_id for _, display_id in pictures(messages)]
    assert len(ids) == 2 and len(set(ids)) == 2, "two explorers must not replace each other's picture"
