"""Argument checks: each rule written once, and one message format for every refusal.

Every public helper checks its arguments first -- before any download, decoding,
drawing or training -- so that a wrong argument ends in one sentence instead of a
traceback from deep inside torch or matplotlib. Every refusal reads the same way::

    <helper>: <argument> must be <what it expects>, got <what it got>. <the likely fix>

A helper states its rules in one call, argument by argument::

    checks.arguments("summary", model=(model, checks.model), batch_size=(batch_size, checks.positive_int))

A ``Rule`` says what it expects in words and how to test it: the kind of thing
(wrong kind: ``TypeError``) and, for the right kind, a good value (else ``ValueError``).
Rules compose: ``optional(positive_int)`` also takes None, ``one_of("auto", True, False)``
takes those three. Before that, the table of known mistakes (``course_utils.mistakes``)
is asked whether the value is a classic slip for its role -- the model's class instead
of a model, the pair ``(X, y)`` instead of the images -- so that the message can say what
probably happened and what to write instead.

The last part checks what flows through ``train``, ``evaluate`` and ``predict`` once
they run: each batch, and the scores the model gives for it.

Example:
    >>> positive_int(0, "log_every", "train")
    Traceback (most recent call last):
    ...
    ValueError: train: log_every must be a whole number of at least 1, got 0.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import matplotlib
import numpy as np
import torch
from torch import nn

from course_utils.mistakes import recognise

# --------------------------------------------------------------------------
# The message format
# --------------------------------------------------------------------------


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def describe(value: Any) -> str:
    """What was passed, in a few words: ``0``, ``'yes'``, ``the class Linear``, ``a float32 tensor of shape (2, 3)``."""
    if value is None or isinstance(value, (bool, numbers.Number)):
        return repr(value)
    if isinstance(value, (str, bytes)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "...'"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of {value.dtype} of shape {value.shape}"
    if isinstance(value, Mapping):
        return f"{_a(type(value).__name__)} with keys {list(value)[:5]}"
    if isinstance(value, (list, tuple)) and len(repr(value)) <= 60:
        return repr(value)
    if isinstance(value, (list, tuple)):
        return f"{_a(type(value).__name__)} of {len(value)} items"
    return _a(type(value).__name__)


def _safely(read: Callable[[], Any], default: Any = None) -> Any:
    """``read()``, or ``default`` when reading fails (for the clues of a message: never a second error)."""
    try:
        return read()
    except Exception:  # noqa: BLE001
        return default


def _clues(value: Any, function: str, name: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The ``{placeholders}`` a mistake's text may use (see ``course_utils.mistakes``)."""
    cls = value.__name__ if isinstance(value, type) else type(value).__name__
    keys = list(value)[:5] if isinstance(value, Mapping) else []
    shape = _safely(lambda: getattr(value, "shape", None))   # a live notebook's placeholder refuses every use
    text = repr(value)
    return {
        "function": function, "name": name, "cls": cls, "a_cls": _a(cls),
        "keys": keys, "first_key": keys[0] if keys else "conv1",
        "shape": tuple(shape) if shape is not None else None, "dtype": _safely(lambda: getattr(value, "dtype", None)),
        "count": _safely(lambda: len(value) if hasattr(type(value), "__len__") else 0, 0),
        "described": describe(value), "value": text if len(text) <= 80 else text[:77] + "...",
        **context,
    }


def refusal(error: type[Exception], function: str, name: str, expects: str, got: str, fix: str = "") -> Exception:
    """THE message format: ``<helper>: <argument> must be <expects>, got <got>. <fix>``."""
    where = f"{function}: " if function else ""
    return error(f"{where}{name} must be {expects}, got {got}." + (f" {fix}" if fix else ""))


# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------


def _anything(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """What an argument must be: ``expects`` in words, ``is_kind`` (else TypeError), ``is_valid`` (else ValueError).

    ``role`` names the known mistakes to look for first; ``fix`` is said when a value
    is refused and no known mistake explains it; ``context`` holds other arguments of
    the call that a mistake may need (``loader.given(passes=3)``); ``allows_none``: None is fine.
    """

    expects: str
    is_kind: Callable[[Any], bool]
    is_valid: Callable[[Any], bool] = _anything
    role: str | tuple[str, ...] = ""
    fix: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    allows_none: bool = False

    def __call__(self, value: Any, name: str, function: str = "") -> Any:
        """Return ``value`` when the rule accepts it; otherwise raise the one message."""
        if value is None and self.allows_none:
            return value
        found = recognise(self.role, value, self.context) if self.role else None
        if found is not None:
            mistake, more = found
            clues = {**_clues(value, function, name, self.context), **more}
            raise refusal(mistake.error, function, name, self.expects, mistake.got.format_map(clues),
                          mistake.fix.format_map(clues))
        if not self.is_kind(value):
            raise refusal(TypeError, function, name, self.expects, describe(value), self.fix)
        if not self.is_valid(value):
            raise refusal(ValueError, function, name, self.expects, describe(value), self.fix)
        return value

    def given(self, **context: Any) -> Rule:
        """The same rule, knowing other arguments of the call (e.g. ``optimizer.given(model=model)``)."""
        return replace(self, context={**self.context, **context})


def arguments(function: str, **named: tuple[Any, Rule]) -> None:
    """Check every argument of ``function`` with its rule, in order: ``arguments("f", n=(n, positive_int))``."""
    for name, (value, rule) in named.items():
        rule(value, name, function)


def optional(rule: Rule) -> Rule:
    """``rule``, or None."""
    return replace(rule, expects=f"{rule.expects} or None", allows_none=True)


def one_of(*choices: Any) -> Rule:
    """One of ``choices`` (of the same type: 1 is not True here)."""
    shown = ", ".join(repr(choice) for choice in choices)
    return Rule(f"one of {shown}", _anything, lambda v: any(type(v) is type(c) and v == c for c in choices))


def instance_of(cls: type, expects: str, fix: str = "") -> Rule:
    """An instance of ``cls``, described as ``expects`` (e.g. ``instance_of(Augment, "a cu.Augment(...)")``)."""
    return Rule(expects, lambda v: isinstance(v, cls), fix=fix)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


# NumPy's scalars count as what they are: np.int64(10) is a whole number, np.float32(0.1) a number,
# np.bool_(True) a flag. Numbers written in quotes ("1e-3") are a known mistake (role "number").
flag = Rule("True or False", lambda v: isinstance(v, (bool, np.bool_)), role="flag")
#: True, False or None -- None meaning "as the setting says" (``fast=None``: follow ``COURSE_FAST``).
maybe_flag = Rule("True, False or None", lambda v: v is None or isinstance(v, (bool, np.bool_)), role="flag")
text = Rule("a string", lambda v: isinstance(v, str))
whole_number = Rule("a whole number such as 0", _is_whole, role="number")
positive_int = Rule("a whole number of at least 1", _is_number, lambda v: _is_whole(v) and v >= 1, role="number")
non_negative_int = Rule("a whole number, 0 or more", _is_number, lambda v: _is_whole(v) and v >= 0, role="number")
positive_number = Rule("a positive number", _is_number, lambda v: math.isfinite(v) and v > 0, role="number")
non_negative_number = Rule("a number, 0 or more", _is_number, lambda v: math.isfinite(v) and v >= 0, role="number")
share = Rule("a share between 0 and 1 (such as 1 / 10)", _is_number, lambda v: 0 <= v <= 1, role="number")
learning_rate = Rule("a positive number such as 1e-3 (the learning rate)", _is_number,
                     lambda v: math.isfinite(v) and v > 0, role="number")
#: What every random number generator takes: torch's up to 2**64 - 1, NumPy's through ``seed % 2**32``.
seed = Rule("a whole number such as 0 (from 0 to 2**63 - 1)", _is_whole, lambda v: 0 <= v < 2**63, role="number")


def _is_image_count_or_share(value: Any) -> bool:
    if _is_whole(value):
        return value >= 1
    return math.isfinite(value) and 0 < value < 1


#: How many training images to hold out: a count (whole, >= 1) or a share strictly between 0 and 1.
validation_size = Rule("a number of images such as 5_000, or a share between 0 and 1 such as 0.1", _is_number,
                       _is_image_count_or_share, role="number",
                       fix="A share is below 1 (0.1 holds out a tenth); a count is a whole number (5_000).")


def index_below(count: int, what: str = "an index") -> Rule:
    """A whole number 0 .. count - 1 (e.g. ``index_below(len(data), "an image number")``)."""
    return Rule(f"{what} 0..{count - 1}", _is_number, lambda v: _is_whole(v) and 0 <= v < count, role="number")


def _is_device_name(value: Any) -> bool:
    try:
        return torch.device(value).type in ("cpu", "cuda", "mps")
    except (RuntimeError, TypeError, ValueError):
        return False


#: A device torch knows by name (``"cpu"``, ``"cuda:0"``, ``torch.device("mps")``); whether it is here is not checked.
device = Rule("a device such as 'cpu', 'cuda' or 'mps' (or cu.get_device())",
              lambda v: isinstance(v, (str, torch.device)), _is_device_name, role="device")


def finite_numbers(values: Any, name: str, function: str = "", *, fix: str = "") -> np.ndarray:
    """``numbers_of(values)``, refused when any of them is NaN or infinite (a picture of them would be blank)."""
    array = numbers_of(values, name, function)
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise refusal(ValueError, function, name, "finite numbers", f"{describe(values)} with {bad:,} NaN or "
                      f"infinite value{'s' if bad != 1 else ''}", fix)
    return array


def texts(each: str, fix: str = "") -> Rule:
    """A list (or tuple) with one string per item: ``texts("title per image")``."""
    return Rule(f"a list with one {each}", lambda v: isinstance(v, (list, tuple)), fix=fix)


# --- models, optimizers, loss functions --------------------------------------

model = Rule("a model (a torch.nn.Module)", lambda v: isinstance(v, nn.Module), role="model")
loss_fn = Rule("a loss function called as loss_fn(scores, labels), such as nn.CrossEntropyLoss()", callable,
               role="loss function")
optimizer = Rule("a torch.optim optimizer such as torch.optim.Adam(model.parameters(), lr=1e-3)",
                 lambda v: isinstance(v, torch.optim.Optimizer), role="optimizer")
scheduler = Rule("a learning-rate scheduler from torch.optim.lr_scheduler (with a step() method)",
                 lambda v: callable(getattr(v, "step", None)), role="scheduler")


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters that training would change; a clear error when there are none."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("The model has no trainable parameters, so there is nothing to train. "
                         "(Did you freeze them all with requires_grad_(False)?)")
    return trainable


# --- loaders and data --------------------------------------------------------

loader = Rule("a loader that yields (X, y) batches", lambda v: isinstance(v, Iterable), role="loader",
              fix="This cannot be looped over: pass a cu.TensorLoader, a torch DataLoader or a list of (X, y) pairs.")
images = Rule("a tensor or NumPy array of images", lambda v: hasattr(v, "shape") or isinstance(v, (list, tuple)),
              role="images")
class_labels = Rule("class numbers such as 0, 1, 2, one per image (a tensor, array or list)",
                    lambda v: hasattr(v, "shape") or isinstance(v, (list, tuple)), role="labels")
class_names = Rule("a list of class names, e.g. train.classes",
                   lambda v: hasattr(v, "__len__") and hasattr(v, "__getitem__") and not isinstance(v, Mapping),
                   role="class names")
# --- what pictures of convolutions and evaluations take ---------------------

kernels = Rule("a dict {name: kernel}", lambda v: isinstance(v, Mapping), role="kernels")
weight = Rule("a convolution layer's weight, out×in×k×k (e.g. model.conv1.weight)",
              lambda v: hasattr(v, "shape") or isinstance(v, (list, tuple)), role="weight")
activation = Rule("one layer's output for one image, C×H×W (recorded with cu.capture_activations)",
                  lambda v: hasattr(v, "shape") or isinstance(v, (list, tuple)), role="activation")
confusion = Rule("the Evaluation from cu.evaluate, or a square matrix of counts",
                 lambda v: hasattr(v, "confusion") or hasattr(v, "shape") or isinstance(v, (list, tuple)),
                 role=("evaluation result", "confusion"))
per_class_table = Rule("the Evaluation from cu.evaluate, or its .per_class table",
                       lambda v: hasattr(v, "per_class") or hasattr(v, "columns") or hasattr(v, "index"),
                       role=("evaluation result", "per-class table"))
colour_map = Rule("the name of a matplotlib colour map such as 'viridis', 'gray' or 'magma'", _anything,
                  lambda v: isinstance(v, matplotlib.colors.Colormap) or (isinstance(v, str) and v in matplotlib.colormaps))


def numbers_of(values: Any, name: str, function: str = "") -> np.ndarray:
    """``values`` -- a tensor, NumPy array or list of numbers -- as a NumPy array (on the CPU, detached).

    This is the one place where pictures turn tensors into NumPy arrays; anything that
    is not numbers is refused with the one message.

    Example:
        >>> numbers_of(torch.tensor([1.5, 2.0], dtype=torch.bfloat16), "x")
        array([1.5, 2. ], dtype=float32)
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        return (values.float() if values.dtype == torch.bfloat16 else values).numpy()   # NumPy has no bfloat16
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, torch.Tensor) for v in values):
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) > 1:
            raise refusal(TypeError, function, name, "numbers (one tensor, or tensors of one shape)",
                          f"a list of tensors of different shapes {sorted(shapes)[:4]}", "Pass one tensor.")
        return np.stack([numbers_of(v, name, function) for v in values])
    expects = "numbers (a tensor, array or list of numbers)"
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as error:
        raise refusal(TypeError, function, name, expects, f"{describe(values)} ({error})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise refusal(TypeError, function, name, expects, describe(values))
    return array


# --------------------------------------------------------------------------
# What flows through train, evaluate and predict: batches and scores
# --------------------------------------------------------------------------

inputs = Rule("floating point (e.g. torch.float32): normalized images, not raw pixels",
              lambda v: isinstance(v, torch.Tensor), lambda v: v.is_floating_point(), role="inputs")


def empty_loader_error(what: str) -> ValueError:
    """The error for a loader that gave no batches at all."""
    return ValueError(
        f"The loader given to {what} produced no batches. Is the data set empty? "
        "(A generator can be looped over only once: pass a list or a loader instead.)"
    )


def loader_classes(loader: Any) -> tuple[str, ...] | None:
    """The loader's class names if it knows them (``.classes``, or ``.dataset.classes``), else None."""
    names = getattr(loader, "classes", None)
    if names is None:   # a torch DataLoader over a torchvision data set keeps them on .dataset
        names = getattr(getattr(loader, "dataset", None), "classes", None)
    return None if names is None else tuple(str(name) for name in names)


def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpack one batch into (inputs, labels), with a clear error for anything else."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise refusal(TypeError, "", "Each batch from the loader", "a pair (X, y) of inputs and labels",
                      describe(batch))
    return batch[0], batch[1]


def check_inputs(X: Any) -> None:
    """Inputs must be a floating-point tensor (normalized images, not raw uint8 pixels)."""
    inputs(X, "Inputs X")


def check_labels(y: Any) -> torch.Tensor:
    """Labels must be a 1-D tensor of class indices; return them as int64."""
    if not isinstance(y, torch.Tensor):
        raise refusal(TypeError, "", "Labels y", "a torch.Tensor of class indices", describe(y))
    if y.is_floating_point() or y.dtype == torch.bool or y.ndim != 1:
        raise refusal(TypeError, "", "Labels y", "a 1-D tensor of whole-number class indices (0, 1, 2, ...)",
                      f"dtype {y.dtype} and shape {tuple(y.shape)}")
    return y.long()


def check_scores(scores: Any, batch_size: int) -> None:
    """The model must give one row of class scores per example: a 2-D tensor."""
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2:
        shape = f"shape {tuple(scores.shape)}" if isinstance(scores, torch.Tensor) else describe(scores)
        raise refusal(ValueError, "", "The model's output", "2-D (batch size, number of classes)", shape,
                      "A convolutional model usually needs nn.Flatten() before its last nn.Linear layer.")
    if scores.shape[0] != batch_size:
        raise ValueError(
            f"The model gave {scores.shape[0]} rows of scores for a batch of {batch_size} inputs. "
            "Check any reshaping (x.view / x.reshape) in the model: keep the batch dimension first."
        )


def check_label_range(y: torch.Tensor, num_outputs: int) -> None:
    """Every label must name one of the model's outputs: 0 .. num_outputs - 1.

    This reads the labels' smallest and largest value back from the device, so
    on a GPU it waits for the GPU: ``train`` calls it on the first batch of each
    epoch only (and on every batch on the CPU, where it costs nothing extra).
    """
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_outputs:
        raise ValueError(
            f"Labels range from {low} to {high}, but the model outputs {num_outputs} "
            f"scores per image, so it only knows classes 0 .. {num_outputs - 1}. Make the last layer "
            "output as many scores as there are classes."
        )


def check_outputs_match_classes(num_outputs: int, classes: tuple[str, ...] | None, name: str = "loader") -> None:
    """A classifier needs exactly one output per class of the data (when the loader names its classes).

    Too many outputs train silently (the extra ones are only ever pushed down) and
    make the model look as if it could answer classes that do not exist.
    """
    if classes is not None and num_outputs != len(classes):
        raise ValueError(
            f"The model outputs {num_outputs} scores per image, but the {name} has {len(classes)} classes "
            f"({', '.join(classes[:4])}{', ...' if len(classes) > 4 else ''}). Give the last layer one output "
            f"per class: nn.Linear(..., {len(classes)})."
        )
