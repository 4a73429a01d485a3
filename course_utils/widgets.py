"""Interactive tools for the lectures, built from core ipywidgets.

- ``KernelExplorer`` (lecture 05): pick a preset 3×3 kernel or type its nine numbers,
  and see the image and what the kernel makes of it.
- ``ActivationBrowser`` (lecture 06): pick an image of a data set (slider) and a convolution
  layer (dropdown), and see the image, its true and predicted class, and that
  layer's feature maps.
- ``LiveCurve``: the loss and accuracy curves, redrawn in place while ``cu.train``
  runs (``cu.train(..., live_plot=True)`` creates one).

How they draw. Each tool shows its controls and, below them, a picture: a PNG in an
ordinary notebook output, shown through an IPython *display handle*
(``display(picture, display_id=True)``). When a control changes, the tool draws a new
figure and replaces the picture in place (``handle.update(picture)``). Because the
picture is an ordinary output, a saved notebook keeps the last picture drawn: on
GitHub, in nbviewer, or in a notebook opened without a running kernel you see that
picture, and a line of text where the controls were. The controls come alive again
when you run the cell.

Only core widgets and ``observe(..., names="value")`` are used, so the tools work
with ipywidgets 7.7 (Colab) and 8 (JupyterLab 4). Colab renders core widgets by
itself; ``google.colab.output.enable_custom_widget_manager()`` is not needed.

Example:
    explorer = cu.KernelExplorer(small)           # controls and picture appear below the cell
    explorer.preset.value = "box blur"            # the same as choosing it in the dropdown
    browser = cu.ActivationBrowser(model, test_loader.dataset)
"""
from __future__ import annotations

import base64
import io
import time
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from course_utils.config import CORE_HISTORY_COLUMNS
from course_utils.progress import in_notebook
from course_utils.feature_plots import as_grey_image, show_convolution, show_feature_maps
from course_utils.plotting import LINE_COLORS, format_number, show_images

__all__ = ["PRESET_KERNELS", "KernelExplorer", "ActivationBrowser", "LiveCurve", "live_output_available"]

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


# ---------------------------------------------------------------------------
# Where we run, and how a picture gets into the notebook
# ---------------------------------------------------------------------------


def _ipython():
    """The running IPython shell, or None in plain Python."""
    from IPython import get_ipython

    return get_ipython()


def live_output_available() -> bool:
    """True when outputs that redraw in place make sense here: in a Jupyter kernel.

    That is JupyterLab, Jupyter Notebook, Colab or VS Code. False in a terminal, in
    plain Python or terminal IPython, and when the environment variable
    ``COURSE_LIVE_OUTPUT`` is 0 (``make test`` sets it, so that test runs print text only).
    (The same test that ``cu.train`` uses for its progress line: ``progress.in_notebook``.)

    Example:
        >>> live_output_available()     # in plain Python
        False
    """
    return in_notebook()


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn (like the notebook's inline backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class Picture:
    """One picture in the notebook output, replaced in place at every ``draw``.

    Outside IPython (plain Python, a test) nothing is displayed; ``draw`` still
    renders, so mistakes in a figure show up everywhere.
    """

    def __init__(self, visible: bool = True) -> None:
        self.visible = visible
        self.handle = None    # the IPython DisplayHandle, after the first draw
        self.draws = 0        # how many pictures were sent to the notebook

    def draw(self, fig: Figure, text: str) -> None:
        """Show ``fig`` as a PNG (``text`` stands in for it where pictures are not shown)."""
        from IPython.display import display

        bundle = {"image/png": base64.b64encode(figure_png(fig)).decode("ascii"), "text/plain": f"[picture: {text}]"}
        if not self.visible or _ipython() is None:
            return
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)
        self.draws += 1


def show_controls(box: widgets.Widget, text: str) -> None:
    """Display a widget; where widgets cannot be shown (a saved notebook on GitHub), ``text`` stands in.

    (The default stand-in is the widget's long repr; the view data is the same in ipywidgets 7 and 8.)
    """
    from IPython.display import display

    if _ipython() is None:
        return
    view = {"version_major": 2, "version_minor": 0, "model_id": box.model_id}
    display({"text/plain": text, "application/vnd.jupyter.widget-view+json": view}, raw=True)


def _close(fig: Figure) -> Figure:
    """Close a pyplot figure (so the notebook does not show it a second time) and return it."""
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------
# Kernel explorer (lecture 05)
# ---------------------------------------------------------------------------


def _as_kernel(kernel: Any, name: str = "kernel") -> np.ndarray:
    """A preset name or 3×3 numbers -> a 3×3 float array (or a clear error)."""
    if isinstance(kernel, str):
        if kernel not in PRESET_KERNELS:
            raise ValueError(f"{name}={kernel!r} is not a preset; choose one of {list(PRESET_KERNELS)} "
                             "or pass 3×3 numbers such as [[0, 0, 0], [0, 1, 0], [0, 0, 0]].")
        return PRESET_KERNELS[kernel].copy()
    try:
        array = np.asarray(kernel, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a preset name or 3×3 numbers, got {type(kernel).__name__}.") from None
    if array.shape != (3, 3):
        raise ValueError(f"{name} must be 3×3 numbers (the explorer edits 3×3 kernels), got shape {array.shape}.")
    return array


def kernel_words(kernel: np.ndarray) -> str:
    """A kernel's numbers on one line, rows separated by semicolons: "0 -1 0; -1 5 -1; 0 -1 0"."""
    return "; ".join(" ".join(format_number(v) for v in row) for row in kernel)


def _grey_images(image: Any) -> dict[str, np.ndarray]:
    """One grey image, or a dict {name: grey image} -> {name: 2-D float array}."""
    named = dict(image) if isinstance(image, Mapping) else {"image": image}
    if not named:
        raise ValueError("image is an empty dict; pass one grey image H×W or a dict {name: grey image}.")
    result = {}
    for name, picture in named.items():
        try:
            result[str(name)] = as_grey_image(picture)
        except ValueError as error:
            raise ValueError(f"image {name!r}: {error}. For a colour photo, convert it to grey first, e.g. "
                             "photo[..., :3] @ [0.299, 0.587, 0.114] / 255.") from None
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
        kernel: the starting kernel: a name from ``PRESET_KERNELS`` or 3×3 numbers.
        title: the figure's title.
        show: display the controls and the picture (in a notebook). Tests pass False.

    Attributes: ``preset`` (the dropdown), ``numbers`` (3 rows of 3 ``FloatText``),
    ``image_choice`` (dropdown or None), ``figure`` (the last figure drawn).

    Example:
        explorer = cu.KernelExplorer({"photo": grey, "shrunk 4×": small}, kernel="sharpen")
        explorer.kernel          # the 3×3 numbers now in the boxes
    """

    def __init__(self, image: Any, *, kernel: str | Sequence[Sequence[float]] | np.ndarray = "sharpen",
                 title: str | None = None, show: bool = True) -> None:
        self.images = _grey_images(image)
        start = _as_kernel(kernel)
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a string or None, got {type(title).__name__}.")
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


def _conv_layer_names(model) -> list[str]:
    """The names (as in ``model.named_modules()``) of every ``nn.Conv2d`` in the model."""
    from torch import nn

    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


class ActivationBrowser:
    """Look at a model's feature maps, one image of a data set and one convolution layer at a time.

    The upper picture is the image, titled with its true class and the model's
    prediction (with the predicted probability). The lower one shows the first ``n``
    feature maps of the chosen layer for that image, each with its own colour scale
    (``cu.show_feature_maps``); with ``relu=True`` after ReLU (what the next layer
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

    Example:
        browser = cu.ActivationBrowser(model, test_loader.dataset, layers=["conv1", "conv2"])
        browser.slider.value = 7     # the same as moving the slider
    """

    def __init__(self, model, dataset, *, layers: Sequence[str] | None = None, n: int = 8,
                 relu: bool = True, index: int = 0, show: bool = True) -> None:
        from torch import nn

        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}.")
        needed = ("images", "labels", "classes", "mean", "std")
        missing = [name for name in needed if not hasattr(dataset, name)]
        if missing:
            raise TypeError(f"dataset must be an ImageSet such as test_loader.dataset (with {', '.join(needed)}); "
                            f"got {type(dataset).__name__}, which lacks {', '.join(missing)}.")
        if len(dataset.images) == 0:
            raise ValueError("dataset has no images.")
        layers = _conv_layer_names(model) if layers is None else [layers] if isinstance(layers, str) else list(layers)
        if not layers:
            raise ValueError("the model has no nn.Conv2d layer; pass layers=[...] with the names of layers to show.")
        available = {name for name, _ in model.named_modules() if name}
        unknown = [name for name in layers if name not in available]
        if unknown:
            raise ValueError(f"layers {unknown} are not in the model; its layers are {sorted(available)}.")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a whole number of at least 1, got {n!r}.")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(dataset.images):
            raise ValueError(f"index must be an image number 0..{len(dataset.images) - 1}, got {index!r}.")
        self.model, self.dataset, self.n, self.relu = model, dataset, n, bool(relu)
        self._cache: tuple[int, Any, dict] | None = None   # (image index, scores, activations)
        self.kind = f"{getattr(dataset, 'split', 'test')} image"   # "validation image", "test image", ...
        self.slider = widgets.IntSlider(value=index, min=0, max=len(dataset.images) - 1, description=self.kind,
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
        import torch

        from course_utils.devices import eval_mode, model_device
        from course_utils.inspection import capture_activations
        from course_utils.data import normalize

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


# ---------------------------------------------------------------------------
# Live training curve (used by cu.train(..., live_plot=True))
# ---------------------------------------------------------------------------


class LiveCurve:
    """Loss and accuracy while training runs, redrawn in place at most every ``min_interval`` seconds.

    ``cu.train(..., live_plot=True)`` creates one, calls ``update(history)`` at every log
    point and ``close()`` at the end. The x axis counts the training images seen
    (an epoch's size is known only after the first epoch); dotted lines mark where
    each epoch starts. Training values are running means since the previous log
    point; validation values (columns ``val_loss``, ``val_accuracy``, when present
    and not NaN) are drawn as points.

    Where in-place output is not available (see ``live_output_available``), nothing
    is displayed, but ``figure`` is still kept up to date.

    Example:
        curve = LiveCurve(title="ConvNet")
        for ...:                      # inside a training loop
            curve.update(history)     # a DataFrame with epoch, batch, examples, loss, accuracy, ...
        curve.close()
    """

    def __init__(self, title: str | None = None, *, live: bool | None = None, min_interval: float = 0.5) -> None:
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a string or None, got {type(title).__name__}.")
        if not isinstance(min_interval, (int, float)) or min_interval < 0:
            raise ValueError(f"min_interval must be a number of seconds >= 0, got {min_interval!r}.")
        self.title = title
        self.live = live_output_available() if live is None else bool(live)
        self.min_interval = float(min_interval)
        self.figure = Figure(figsize=(10, 3.6), layout="constrained")   # not pyplot's: never shown twice
        self.picture = Picture(visible=self.live)
        self.history: pd.DataFrame | None = None
        self._shown_at: float | None = None   # when the picture was last sent
        self._unshown = False                  # drawn since then but not sent

    def update(self, history: pd.DataFrame) -> None:
        """Redraw the curves from the history so far (the picture at most every ``min_interval`` s)."""
        if not isinstance(history, pd.DataFrame):
            raise TypeError(f"history must be a pandas DataFrame (what cu.train records), got {type(history).__name__}.")
        missing = [column for column in CORE_HISTORY_COLUMNS if column not in history.columns]
        if missing:
            raise ValueError(f"history lacks the column(s) {missing}; expected at least {CORE_HISTORY_COLUMNS}, "
                             f"got {list(history.columns)}.")
        if history.empty:
            return
        self.history = history.copy()
        self.caption = draw_curves(self.figure, self.history, self.title)
        now = time.perf_counter()
        if self._shown_at is None or now - self._shown_at >= self.min_interval:
            self._send(now)
        else:
            self._unshown = True

    def _send(self, now: float) -> None:
        self.picture.draw(self.figure, self.caption)
        self._shown_at, self._unshown = now, False

    def close(self) -> None:
        """Show the last state drawn, so that the saved notebook keeps the final curves."""
        if self._unshown:
            self._send(time.perf_counter())

    def __repr__(self) -> str:
        rows = 0 if self.history is None else len(self.history)
        return f"LiveCurve(title={self.title!r}, rows={rows}, live={self.live})"


def draw_curves(fig: Figure, history: pd.DataFrame, title: str | None) -> str:
    """Draw loss (left) and accuracy in % (right) against training images seen, into ``fig``; returns its title."""
    fig.clear()
    ax_loss, ax_accuracy = fig.subplots(1, 2)
    seen = history["examples"].to_numpy(dtype=float)
    for ax, column, scale in ((ax_loss, "loss", 1.0), (ax_accuracy, "accuracy", 100.0)):
        ax.plot(seen, history[column].to_numpy(dtype=float) * scale, color=LINE_COLORS[0], label="training")
        validation_column = "val_" + column
        if validation_column in history.columns:
            points = history[history[validation_column].notna()]
            if not points.empty:
                ax.plot(points["examples"], points[validation_column].to_numpy(dtype=float) * scale, "o",
                        color=LINE_COLORS[1], label="validation")
        for epoch in sorted(history["epoch"].unique())[1:]:   # where every epoch after the first starts
            start = history.loc[history["epoch"] < epoch, "examples"].max()
            ax.axvline(start, color="0.6", linestyle=":", linewidth=1)
        ax.set_xlabel("training images seen")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    ax_loss.set_title("loss")
    ax_accuracy.set_title("accuracy (%)")
    ax_accuracy.set_ylim(0, 100)
    last = history.iloc[-1]
    caption = (f"{title or 'Training'}: epoch {int(last['epoch'])}, {int(last['examples']):,} images seen, "
               f"loss {float(last['loss']):.3f}, accuracy {float(last['accuracy']):.1%}")
    fig.suptitle(caption)
    return caption
