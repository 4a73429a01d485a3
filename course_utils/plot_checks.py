"""The argument checks behind the plotting helpers' error messages.

A plotting function given the wrong thing should not end in a traceback from
deep inside numpy or matplotlib. These checks run first and name the argument,
what it got, what it expects and the likely fix, for the mix-ups that happen
in class: the ``(X, y)`` pair a loader yields instead of the images, a layer
instead of its weight, the whole dict of activations instead of one of them,
a loader or an ``ImageSet`` instead of a tensor, class names where labels go.

No torch import here (plotting works without it): tensors, layers and models
are recognised by what they have (``.shape``, ``.weight``, ``.forward``).

Example:
    >>> check_images((np.zeros((2, 3, 4, 4)), np.zeros(2)), "show_images")
    Traceback (most recent call last):
    ...
    TypeError: show_images takes images, but got a pair (images, labels); for a batch from a loader use X, y = batch, ...
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np


def _shape(x: Any) -> tuple[int, ...] | None:
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else None


def _is_module(x: Any) -> bool:
    """A torch ``nn.Module`` (a layer or a model), recognised without importing torch."""
    return callable(getattr(x, "forward", None)) and callable(getattr(x, "parameters", None))


def _is_loader(x: Any) -> bool:
    """A DataLoader or TensorLoader (something to iterate over batches with a batch size)."""
    return hasattr(x, "batch_size") and hasattr(x, "__iter__") and not hasattr(x, "shape")


def check_images(images: Any, function: str) -> None:
    """Refuse, with the fix, what is often passed instead of images (a tensor or array of pixels)."""
    if isinstance(images, (tuple, list)) and len(images) == 2:
        first, second = (_shape(part) for part in images)
        if first is not None and second is not None and len(first) >= 3 and len(second) == 1:
            raise TypeError(f"{function} takes images, but got a pair (images, labels); for a batch from a loader "
                            f"use X, y = batch, then cu.{function}(X, y, classes).")
    if all(hasattr(images, name) for name in ("images", "labels", "classes")):
        raise TypeError(f"{function} takes images, got an ImageSet ({images!r:.80}). Pass its tensors: "
                        f"cu.{function}(data.images[:16], data.labels[:16], data.classes).")
    if _is_loader(images):
        raise TypeError(f"{function} takes images, got a loader ({type(images).__name__}). Take one batch first: "
                        f"X, y = next(iter(loader)), then cu.{function}(X[:16], y[:16], classes).")
    if _is_module(images):
        raise TypeError(f"{function} takes images, got a model or layer ({type(images).__name__}).")
    if isinstance(images, (str, bytes, Path)):
        raise TypeError(f"{function} takes images as a tensor or array, got the name {images!r}. Load the picture "
                        f"first (e.g. np.asarray(PIL.Image.open(name))).")
    if isinstance(images, Mapping):
        raise TypeError(f"{function} takes images as a tensor or array, got a dict with keys {list(images)[:5]}.")
    if _shape(images) is None and not isinstance(images, (list, tuple)):
        raise TypeError(f"{function} takes images as a tensor or NumPy array, got {type(images).__name__}.")


def as_numbers(values: Any, name: str, function: str) -> np.ndarray:
    """``values`` as a numeric NumPy array, or a TypeError naming the argument (no object arrays)."""
    if hasattr(values, "detach"):   # a torch tensor: leave the autograd graph, move to the CPU
        values = values.detach().cpu()
        if str(values.dtype) == "torch.bfloat16":
            values = values.float()
        return values.numpy()
    if isinstance(values, (list, tuple)) and values and all(hasattr(v, "detach") for v in values):
        try:   # a list of tensors of one shape: stack them
            return np.stack([as_numbers(v, name, function) for v in values])
        except ValueError:
            raise TypeError(f"{function}: {name} is a list of tensors of different shapes "
                            f"{[tuple(v.shape) for v in values][:4]}; pass one tensor.") from None
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as error:
        raise TypeError(f"{function}: {name} must be numbers (a tensor, array or list), got "
                        f"{type(values).__name__} ({error}).") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{function}: {name} must be numbers (a tensor, array or list of numbers), got "
                        f"{type(values).__name__} {str(values)[:60]!r}.")
    return array


def check_labels(labels: Any, name: str, function: str) -> None:
    """Labels are class NUMBERS; catch class names (strings) and whole Evaluations in their place."""
    if labels is None:
        return
    if isinstance(labels, str) or (isinstance(labels, (list, tuple)) and labels and
                                   all(isinstance(v, str) for v in labels)):
        raise TypeError(f"{function}: {name} must be class numbers such as 0, 1, 2 (one per image), got class "
                        f"names {list(labels)[:3] if not isinstance(labels, str) else labels!r}. Pass the names as "
                        f"classes= (and your own words above the images as titles=).")
    if hasattr(labels, "confusion") or _is_loader(labels) or _is_module(labels):
        raise TypeError(f"{function}: {name} must be one class number per image (a tensor or list), "
                        f"got {type(labels).__name__}.")


def check_classes(classes: Any, function: str) -> None:
    """``classes`` is a list of names indexed by label (or None)."""
    if classes is None:
        return
    if isinstance(classes, str):
        raise TypeError(f"{function}: classes must be a list of class names, e.g. train.classes, "
                        f"got one string {classes!r:.60}.")
    if not hasattr(classes, "__len__") or not hasattr(classes, "__getitem__") or isinstance(classes, Mapping):
        raise TypeError(f"{function}: classes must be a list of class names, e.g. train.classes, "
                        f"got {type(classes).__name__}.")


def check_number(value: Any, name: str, *, whole: bool = False, positive: bool = True) -> None:
    """A real number (a whole number when ``whole``), greater than 0 when ``positive``."""
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {kind}{' of at least 1' if whole and positive else ''}, got {value!r}")
    if whole and int(value) != value:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be {'a whole number of at least 1' if whole else 'positive'}, got {value!r}")


def check_flag(value: Any, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def check_cmap(cmap: Any, name: str = "cmap") -> None:
    """A colour map's name known to matplotlib (e.g. "viridis", "gray"), or None."""
    if cmap is None or isinstance(cmap, matplotlib.colors.Colormap):
        return
    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise ValueError(f"{name} must be the name of a matplotlib colour map such as 'viridis', 'gray' or "
                         f"'magma', got {cmap!r}")


def check_weight(weight: Any) -> None:
    """``show_kernels`` takes a convolution WEIGHT: catch a layer, a model and a state dict in its place."""
    if _is_module(weight):
        inner = getattr(weight, "weight", None)
        if _shape(inner) is not None:
            raise TypeError(f"show_kernels takes a layer's weight tensor, got the layer {type(weight).__name__} "
                            f"itself. Pass its weight: cu.show_kernels(layer.weight), e.g. "
                            f"cu.show_kernels(model.conv1.weight).")
        raise TypeError(f"show_kernels takes one convolution layer's weight, got a {type(weight).__name__} "
                        f"(a model, or a layer without weights). Pass one layer's weight, e.g. "
                        f"cu.show_kernels(model.conv1.weight).")
    if isinstance(weight, Mapping):
        raise TypeError(f"show_kernels takes one weight tensor, got a dict (keys {list(weight)[:4]}); pick one, "
                        f"e.g. state_dict['conv1.weight'].")
    shape = _shape(weight)
    if shape is not None and len(shape) == 2:
        raise ValueError(f"expected a convolution weight out×in×k×k (e.g. model.conv1.weight), got shape {shape}: "
                         f"that is a Linear layer's weight (outputs × inputs). show_kernels is for Conv2d layers.")


def check_activation(activation: Any) -> None:
    """``show_feature_maps`` takes ONE layer's output for one image: catch the whole dict and tuples."""
    if isinstance(activation, Mapping):
        keys = ", ".join(repr(k) for k in list(activation)[:6])
        raise TypeError(f"show_feature_maps takes one layer's activation, got the whole dict of activations "
                        f"(keys {keys}). Pick one layer and one image, e.g. "
                        f"cu.show_feature_maps(acts[{next(iter(activation), 'conv1')!r}][0]).")
    if isinstance(activation, (tuple, list)) and activation and all(_shape(a) is not None for a in activation):
        raise TypeError(f"show_feature_maps takes one tensor, got a {type(activation).__name__} of "
                        f"{len(activation)} tensors (a layer with several outputs?); pick one, e.g. activation[0].")
    if _is_module(activation):
        raise TypeError(f"show_feature_maps takes what a layer OUTPUTS (record it with cu.capture_activations), "
                        f"got the layer {type(activation).__name__} itself.")


def check_kernels(kernels: Any) -> None:
    """``show_convolution`` takes a dict {name: kernel}."""
    if not isinstance(kernels, Mapping):
        if _shape(kernels) is not None or isinstance(kernels, (list, tuple)):
            raise TypeError("show_convolution takes kernels as a dict {name: kernel}; for one kernel k use "
                            "{'my kernel': k}.")
        raise TypeError(f"show_convolution takes kernels as a dict {{name: kernel}}, got {type(kernels).__name__}.")


def check_confusion(confusion: Any) -> None:
    """``plot_confusion_matrix`` takes an Evaluation or a square count matrix."""
    if hasattr(confusion, "confusion"):
        return
    if _is_module(confusion):
        raise TypeError(f"plot_confusion_matrix takes the result of cu.evaluate (or its .confusion), got the model "
                        f"{type(confusion).__name__}. Evaluate it first: result = cu.evaluate(model, test_loader), "
                        f"then cu.plot_confusion_matrix(result).")
    if _is_loader(confusion):
        raise TypeError("plot_confusion_matrix takes the result of cu.evaluate(model, loader), got a loader.")
    if hasattr(confusion, "columns") and "accuracy" in getattr(confusion, "columns", ()):
        raise TypeError("plot_confusion_matrix got a per-class accuracy table; draw that one with "
                        "cu.plot_per_class_accuracy, or pass the Evaluation itself here.")
    if _shape(confusion) is None and not isinstance(confusion, (list, tuple)):
        raise TypeError(f"plot_confusion_matrix takes the Evaluation from cu.evaluate or a square matrix of "
                        f"counts, got {type(confusion).__name__}.")


def check_per_class(per_class: Any) -> None:
    """``plot_per_class_accuracy`` takes an Evaluation or its per-class table (a DataFrame or Series)."""
    if hasattr(per_class, "per_class") or hasattr(per_class, "columns") or hasattr(per_class, "index"):
        return
    if _is_module(per_class):
        raise TypeError(f"plot_per_class_accuracy takes the result of cu.evaluate (or its .per_class), got the "
                        f"model {type(per_class).__name__}. Evaluate it first: result = cu.evaluate(model, "
                        f"test_loader), then cu.plot_per_class_accuracy(result).")
    if _shape(per_class) is not None and len(_shape(per_class)) == 2:
        raise TypeError("plot_per_class_accuracy got a matrix; a confusion matrix is drawn by "
                        "cu.plot_confusion_matrix. Here, pass the Evaluation or its .per_class table.")
    raise TypeError(f"plot_per_class_accuracy takes the Evaluation from cu.evaluate or its .per_class table, got "
                    f"{type(per_class).__name__}.")
