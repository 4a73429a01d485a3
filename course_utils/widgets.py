"""Interactive tools for the lectures, built from core ipywidgets.

- ``KernelExplorer`` (lecture 05): pick a preset 3×3 kernel or type its nine numbers,
  and see the image and what the kernel makes of it;
- ``ActivationBrowser`` (lecture 06): pick an image of a data set (slider) and a convolution
  layer (dropdown), and see the image, its true and predicted class, and that
  layer's feature maps.

Each tool shows its controls and, below them, a picture that is redrawn in place when
a control changes (``course_utils.redraw``): a saved notebook keeps the last picture
drawn, and a line of text where the controls were. The controls come alive again when
you run the cell.

Only core widgets and ``observe(..., names="value")`` are used, so the tools work
with ipywidgets 7.7 (Colab) and 8 (JupyterLab 4). Colab renders core widgets by
itself; ``google.colab.output.enable_custom_widget_manager()`` is not needed.

Example:
    explorer = cu.widgets.KernelExplorer(small)           # controls and picture appear below the cell
    explorer.preset.value = "box blur"                    # the same as choosing it in the dropdown
    browser = cu.widgets.ActivationBrowser(model, val_loader.dataset)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from course_utils import checks
from course_utils.devices import eval_mode, model_device
from course_utils.feature_plots import show_convolution, show_feature_maps
from course_utils.figures import as_grey_image, format_number
from course_utils.image_plots import show_images
from course_utils.inspection import capture_activations
from course_utils.data import normalize
from course_utils.redraw import Picture, show_controls

__all__ = ["PRESET_KERNELS", "KernelExplorer", "ActivationBrowser"]

#: The kernels the explorer offers (all 3×3). "custom" means: the numbers typed in.
PRESET_KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "box blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "vertical edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),   # Sobel
    "horizontal edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "edges (8-neighbour)": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float),
}
CUSTOM = "custom"


def _close(fig: Figure) -> Figure:
    """Close a pyplot figure (so the notebook does not show it a second time) and return it."""
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------
# Kernel explorer (lecture 05)
# ---------------------------------------------------------------------------


def _as_kernel(kernel: Any, name: str = "kernel") -> np.ndarray:
    """A preset name or 3×3 finite numbers -> a 3×3 float array (or the one message)."""
    expects = f"one of the presets {list(PRESET_KERNELS)} or 3×3 numbers such as [[0, 0, 0], [0, 1, 0], [0, 0, 0]]"
    if isinstance(kernel, str):
        if kernel not in PRESET_KERNELS:
            raise checks.refusal(ValueError, "KernelExplorer", name, expects, repr(kernel))
        return PRESET_KERNELS[kernel].copy()
    array = checks.finite_numbers(kernel, name, "KernelExplorer",
                                  fix="A kernel with NaN would draw a blank picture.").astype(float)
    if array.shape != (3, 3):
        raise checks.refusal(ValueError, "KernelExplorer", name, expects, f"numbers of shape {array.shape}",
                             "The explorer edits 3×3 kernels.")
    return array


#: One picture for the explorer: a grey image H×W (a file name is a known mistake: load the picture first).
grey_image = checks.Rule("one grey image H×W (uint8 or floats), or a dict {name: grey image}",
                         lambda v: hasattr(v, "shape") or isinstance(v, (list, tuple, Mapping)), role="grey image")


def kernel_words(kernel: np.ndarray) -> str:
    """A kernel's numbers on one line, rows separated by semicolons: "0 -1 0; -1 5 -1; 0 -1 0"."""
    return "; ".join(" ".join(format_number(v) for v in row) for row in kernel)


def _grey_images(image: Any) -> dict[str, np.ndarray]:
    """One grey image, or a dict {name: grey image} -> {name: 2-D float array} (or the one message)."""
    grey_image(image, "image", "KernelExplorer")
    if isinstance(image, Mapping) and not image:
        raise checks.refusal(ValueError, "KernelExplorer", "image", "one grey image H×W or a dict {name: grey image}",
                             "an empty dict")
    named = dict(image) if isinstance(image, Mapping) else {"image": image}
    result = {}
    for name, picture in named.items():
        argument = f"image[{name!r}]" if isinstance(image, Mapping) else "image"
        grey_image(picture, argument, "KernelExplorer")
        result[str(name)] = as_grey_image(picture, argument, "KernelExplorer")
    return result


class KernelExplorer:
    """Choose a 3×3 kernel (a preset, or type the numbers) and see what it does to an image.

    The figure is ``cu.show_convolution``'s: the image, and its convolution with the
    kernel (``scipy.signal.convolve2d``, same size) — grey when the result is never
    negative, otherwise a colour scale symmetric around 0 (red positive, blue
    negative) that ends at the 99th percentile of the absolute values.

    Args:
        image: one grey image H×W (uint8 or floats), or a dict {name: grey image}
            to choose from (a second dropdown appears).
        kernel: the starting kernel: a name from ``PRESET_KERNELS`` or 3×3 numbers; by default
            ``"identity"``, whose picture is the image itself, in grey.
        title: the figure's title.
        show: display the controls and the picture (in a notebook). Tests pass False.

    Attributes: ``preset`` (the dropdown), ``numbers`` (3 rows of 3 ``FloatText``),
    ``image_choice`` (dropdown or None), ``figure`` (the last figure drawn).

    Lecture 05 writes the convolution by hand (``cross_correlate``, section 2) and applies
    three hand-made kernels to a photograph (section 3); the explorer lets you try others.

    Example:
        explorer = cu.widgets.KernelExplorer({"photo": grey, "shrunk 4×": small}, kernel="sharpen")
        explorer.kernel          # the 3×3 numbers now in the boxes
    """

    def __init__(self, image: Any, *, kernel: str | Sequence[Sequence[float]] | np.ndarray = "identity",
                 title: str | None = None, show: bool = True) -> None:
        checks.arguments("KernelExplorer", title=(title, checks.optional(checks.text)), show=(show, checks.flag))
        self.images = _grey_images(image)
        start = _as_kernel(kernel)
        self.title = title
        self._quiet = False   # True while the explorer itself sets several values at once
        self.preset = widgets.Dropdown(options=[*PRESET_KERNELS, CUSTOM], value=self._preset_of(start),
                                       description="kernel")
        self.numbers = [[widgets.FloatText(value=float(start[r, c]), step=0.1,
                                           layout=widgets.Layout(width="6em"))
                         for c in range(3)] for r in range(3)]
        self.image_choice = None
        top = [self.preset]
        if len(self.images) > 1:
            self.image_choice = widgets.Dropdown(options=list(self.images), description="image")
            self.image_choice.observe(self._on_image, names="value")
            top.append(self.image_choice)
        self.preset.observe(self._on_preset, names="value")
        for box in self._boxes():
            box.observe(self._on_number, names="value")
        rows = [widgets.HBox(row) for row in self.numbers]
        self.controls = widgets.VBox([widgets.HBox(top), widgets.HTML("kernel numbers (type to edit):"), *rows])
        self.picture = Picture(visible=show)
        if show:
            show_controls(self.controls, "[Kernel explorer: a kernel dropdown and 3×3 number boxes; "
                                         "run the notebook to use them. The picture below is the last one drawn.]")
        self.figure = self.draw()

    def _boxes(self) -> list[widgets.FloatText]:
        return [box for row in self.numbers for box in row]

    @property
    def kernel(self) -> np.ndarray:
        """The 3×3 numbers now in the boxes."""
        return np.array([[box.value for box in row] for row in self.numbers], dtype=float)

    @staticmethod
    def _preset_of(kernel: np.ndarray) -> str:
        """The name of the preset with these numbers, or "custom"."""
        for name, preset in PRESET_KERNELS.items():
            if np.allclose(kernel, preset):
                return name
        return CUSTOM

    def _on_preset(self, change: dict) -> None:
        if self._quiet or change["new"] == CUSTOM:
            return   # "custom" keeps the numbers as they are
        self._quiet = True
        try:
            for box, value in zip(self._boxes(), PRESET_KERNELS[change["new"]].ravel()):
                box.value = float(value)
        finally:
            self._quiet = False
        self.draw()

    def _on_number(self, change: dict) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            self.preset.value = self._preset_of(self.kernel)
        finally:
            self._quiet = False
        self.draw()

    def _on_image(self, change: dict) -> None:
        self.draw()

    def draw(self) -> Figure:
        """Draw the chosen image and its convolution with the kernel in the boxes; returns the figure."""
        name = self.image_choice.value if self.image_choice is not None else next(iter(self.images))
        label = self.preset.value
        fig = _close(show_convolution(self.images[name], {label: self.kernel}, title=self.title))
        self.figure = fig
        self.picture.draw(fig, f"{name} and its convolution with the kernel {label!r} ({kernel_words(self.kernel)})")
        return fig

    def __repr__(self) -> str:
        return f"KernelExplorer(kernel={self.preset.value!r}, numbers={kernel_words(self.kernel)!r})"


# ---------------------------------------------------------------------------
# Activation browser (lecture 06)
# ---------------------------------------------------------------------------


#: What the activation browser needs of a data set (an ``ImageSet`` has them all).
IMAGE_SET_PARTS = ("images", "labels", "classes", "mean", "std")


def _conv_layer_names(model: nn.Module) -> list[str]:
    """The names (as in ``model.named_modules()``) of every ``nn.Conv2d`` in the model."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def _first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    return None


def _check_model_takes(model: nn.Module, dataset: Any, layers: list[str]) -> None:
    """Run the model once on the first image: it must take these images, give one score per class, and each
    chosen layer must give feature maps (C×H×W per image). Refused with the one message otherwise; the
    model's mode comes back and no hook is left on it."""
    images = dataset.images[:1]
    shape = "×".join(map(str, images.shape[1:]))
    first = _first_conv(model)
    if first is not None and images.ndim == 4 and first[1].in_channels != images.shape[1]:
        name, conv = first
        raise checks.refusal(
            ValueError, "ActivationBrowser", "dataset", f"images the model takes: {conv.in_channels} channel(s) "
            f"(its first layer {name} is Conv2d({conv.in_channels} → {conv.out_channels}))",
            f"{checks.describe(dataset)} with images of {shape}",
            "Pass the data set the model was trained on, e.g. val_loader.dataset.")
    try:
        x = normalize(images, dataset.mean, dataset.std).to(model_device(model))
        with torch.no_grad(), eval_mode(model), capture_activations(model, layers) as activations:
            scores = model(x)
    except (RuntimeError, ValueError, TypeError) as error:
        raise checks.refusal(
            ValueError, "ActivationBrowser", "dataset", "images the model takes",
            f"{checks.describe(dataset)} with images of {shape}, which the model refuses "
            f"({str(error).splitlines()[0][:160]})",
            "Pass the data set the model was trained on, e.g. val_loader.dataset.") from None
    classes = len(dataset.classes)
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2 or scores.shape[1] != classes:
        got = (f"a model that outputs {scores.shape[1]} scores per image" if isinstance(scores, torch.Tensor)
               and scores.ndim == 2 else f"a model whose output has shape {tuple(getattr(scores, 'shape', ()))}")
        raise checks.refusal(ValueError, "ActivationBrowser", "model",
                             f"a classifier with one score per class of the data set ({classes} classes)", got,
                             "Is it the model for this data set? Its last layer needs one output per class.")
    flat = {name: tuple(activations[name].shape[1:]) for name in layers
            if not isinstance(activations.get(name), torch.Tensor) or activations[name].ndim != 4}
    if flat:
        name, per_image = next(iter(flat.items()))
        convs = _conv_layer_names(model)
        raise checks.refusal(
            ValueError, "ActivationBrowser", "layers", "layers whose output per image is feature maps C×H×W "
            "(convolution layers)", f"{name!r}, whose output per image has shape {per_image} (a Linear layer?)",
            f"Choose among {convs}." if convs else "")


class ActivationBrowser:
    """Look at a model's feature maps, one image of a data set and one convolution layer at a time.

    The upper picture is the image, titled with its true class and the model's
    prediction (with the predicted probability). The lower one shows the first ``n``
    feature maps of the chosen layer for that image, each with its own colour scale
    (``cu.feature_plots.show_feature_maps``); with ``relu=True`` after ReLU (what the next layer
    receives, if a ReLU follows). The model runs in evaluation mode without
    gradients, one image at a time; its mode is restored and no hooks are left on it.

    Args:
        model: a trained ``nn.Module`` with at least one ``nn.Conv2d``.
        dataset: an ``ImageSet`` such as ``test_loader.dataset``: uint8 ``images``,
            ``labels``, ``classes``, and the ``mean``/``std`` the model was trained with.
        layers: the layer names to offer (default: every ``nn.Conv2d``, e.g. conv1, conv2, conv3).
        n: how many feature maps to show.
        relu: show the maps after ReLU (negative values set to 0).
        index: the starting image.
        show: display the controls and pictures (in a notebook). Tests pass False.

    Attributes: ``slider``, ``layer`` (the dropdown), ``image_figure``, ``maps_figure``,
    ``prediction`` (the predicted class index of the image shown).

    Lecture 06 records feature maps with forward hooks it writes by hand (section 3) and
    draws them for a few images (section 4); the browser does that for any image and layer.

    Example:
        browser = cu.widgets.ActivationBrowser(model, val_loader.dataset, layers=["conv1", "conv2"])
        browser.slider.value = 7     # the same as moving the slider
    """

    def __init__(self, model: nn.Module, dataset: Any, *, layers: Sequence[str] | None = None, n: int = 8,
                 relu: bool = True, index: int = 0, show: bool = True) -> None:
        checks.arguments("ActivationBrowser", model=(model, checks.model), n=(n, checks.positive_int),
                         relu=(relu, checks.flag), show=(show, checks.flag))
        missing = [part for part in IMAGE_SET_PARTS if not hasattr(dataset, part)]
        if missing:
            raise checks.refusal(TypeError, "ActivationBrowser", "dataset", "an ImageSet such as val_loader.dataset",
                                 f"{checks.describe(dataset)}, which lacks {', '.join(missing)}")
        if len(dataset.images) == 0:
            raise checks.refusal(ValueError, "ActivationBrowser", "dataset", "an ImageSet with images",
                                 "an empty one")
        layers = _conv_layer_names(model) if layers is None else [layers] if isinstance(layers, str) else list(layers)
        if not layers:
            raise checks.refusal(ValueError, "ActivationBrowser", "model", "a model with at least one nn.Conv2d layer",
                                 f"a {type(model).__name__} without one",
                                 "Or pass layers=[...] with the names of the layers whose feature maps to show.")
        available = {name for name, _ in model.named_modules() if name}
        unknown = [name for name in layers if name not in available]
        if unknown:
            raise checks.refusal(ValueError, "ActivationBrowser", "layers",
                                 f"names of the model's layers ({sorted(available)})",
                                 f"{unknown}, which are not in the model")
        checks.index_below(len(dataset.images), "an image number")(index, "index", "ActivationBrowser")
        _check_model_takes(model, dataset, layers)
        self.model, self.dataset, self.n, self.relu = model, dataset, n, bool(relu)
        self._cache: tuple[int, Any, dict] | None = None   # (image index, scores, activations)
        self.kind = f"{getattr(dataset, 'split', 'test')} image"   # "validation image", "test image", ...
        self.slider = widgets.IntSlider(value=int(index), min=0, max=len(dataset.images) - 1, description=self.kind,
                                        style={"description_width": "initial"}, continuous_update=False)
        self.layer = widgets.Dropdown(options=layers, value=layers[0], description="layer")
        self.slider.observe(self._on_change, names="value")
        self.layer.observe(self._on_change, names="value")
        self.controls = widgets.HBox([self.slider, self.layer])
        self.image_picture, self.maps_picture = Picture(visible=show), Picture(visible=show)
        if show:
            show_controls(self.controls, f"[Activation browser: a {self.kind.replace(' ', '-')} slider and a layer "
                                         "dropdown; run the notebook to use them. The pictures below are the last ones "
                                         "drawn.]")
        self.draw()

    def _forward(self, index: int) -> tuple[Any, dict]:
        """Scores and the chosen layers' outputs for image ``index`` (computed once per image)."""
        if self._cache is None or self._cache[0] != index:
            images = self.dataset.images[index:index + 1]
            x = normalize(images, self.dataset.mean, self.dataset.std).to(model_device(self.model))
            with torch.no_grad(), eval_mode(self.model), \
                    capture_activations(self.model, list(self.layer.options)) as activations:
                scores = self.model(x)
            self._cache = (index, scores.detach().float().cpu(), dict(activations))
        return self._cache[1], self._cache[2]

    def _on_change(self, change: dict) -> None:
        self.draw()

    def draw(self) -> tuple[Figure, Figure]:
        """Draw the chosen image and the chosen layer's feature maps; returns both figures."""
        index, layer = self.slider.value, self.layer.value
        scores, activations = self._forward(index)
        probabilities = scores.softmax(dim=1)[0]
        self.prediction = int(probabilities.argmax())
        classes, truth = self.dataset.classes, int(self.dataset.labels[index])
        verdict = "right" if self.prediction == truth else "wrong"
        caption = (f"true: {classes[truth]}\npredicted: {classes[self.prediction]} "
                   f"({float(probabilities[self.prediction]):.0%}, {verdict})")
        self.image_figure = _close(show_images(self.dataset.images[index:index + 1], titles=[caption], scale=2.2,
                                               title=f"{self.kind} {index}"))
        maps = activations[layer][0]
        if self.relu:
            maps = maps.clamp(min=0)
        shown = min(self.n, maps.shape[0])
        after = " after ReLU" if self.relu else ""
        self.maps_figure = _close(show_feature_maps(
            maps, n=self.n, title=f"{layer}{after}: first {shown} of {maps.shape[0]} feature maps "
                                  f"({maps.shape[1]}×{maps.shape[2]}), {self.kind} {index} ({classes[truth]})"))
        self.image_picture.draw(self.image_figure, f"{self.kind} {index}, " + caption.replace("\n", ", "))
        self.maps_picture.draw(self.maps_figure, f"{shown} feature maps of {layer}{after} for {self.kind} {index}")
        return self.image_figure, self.maps_figure

    def __repr__(self) -> str:
        return f"ActivationBrowser(image={self.slider.value}, layer={self.layer.value!r})"
