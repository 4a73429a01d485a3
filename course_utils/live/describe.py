"""Describe a value in a few JSON facts, for the self-checks.

``describe`` runs when the tool records a lecture (``python -m course_tools.live --record``):
right after each blank, every name its hint lists is described -- its kind (tensor,
model, number, DataFrame ...) and the facts :mod:`course_utils.live.compare` checks a
student's value against (see the table there).

A size that equals the length of a data set in the notebook (``len(train)``, or
``len(train_loader.dataset)``) is recorded as that relation, not as a number, and
checked against the student's own data set: fast mode and a full run, or a subset and
the whole set, then agree.

Only the standard library is imported here; torch, NumPy and pandas are looked up in
``sys.modules`` (a value of a library that was never imported cannot be of its type).

Example:
    >>> describe(0.42, {})
    {'kind': 'number', 'integer': False, 'value': 0.42}
    >>> import torch
    >>> describe(torch.zeros(2, 3), {})["dims"]
    [{'size': 2}, {'size': 3}]
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import re
import sys
import types
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 3
MAX_ITEMS = 20
LOOSE_FACTOR = 10.0
STATS_SAMPLE = 1_000_000
EXACT_RTOL, EXACT_ATOL = 1e-4, 1e-6
_LEN = re.compile(r"^len\((?P<path>[A-Za-z_][\w.]*)\)$")


def library(name: str):
    return sys.modules.get(name)


# --------------------------------------------------------------------------------------
# Kinds of values
# --------------------------------------------------------------------------------------


def is_tensor(value: Any) -> bool:
    torch = library("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_array(value: Any) -> bool:
    numpy = library("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _is_module(value: Any) -> bool:
    torch = library("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def is_model_class(value: Any) -> bool:
    torch = library("torch")
    return torch is not None and isinstance(value, type) and issubclass(value, torch.nn.Module)


def kind(value: Any) -> str:
    """The kind of value ``describe`` distinguishes: ``"tensor"``, ``"model"``, ``"number"``, ...

    Example:
        >>> kind(3), kind(True), kind([1]), kind(len)
        ('number', 'bool', 'list', 'function')
    """
    numpy, pandas, torch = library("numpy"), library("pandas"), library("torch")
    if value is None:
        return "none"
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        return "bool"
    if isinstance(value, int | float) or (numpy is not None and isinstance(value, numpy.integer | numpy.floating)):
        return "number"
    if is_tensor(value):
        return "number" if value.dim() == 0 and value.dtype != torch.bool else "tensor"
    if _is_array(value):
        return "array"
    if isinstance(value, str):
        return "str"
    if _is_module(value):
        return "model"
    if isinstance(value, type):
        return "class"
    if isinstance(value, types.ModuleType):
        return "module"
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return "dataframe"
    if pandas is not None and isinstance(value, pandas.Series):
        return "series"
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        return "optimizer"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return "tuple"
    if isinstance(value, list):
        return "list"
    if callable(value) and isinstance(value, types.FunctionType | types.BuiltinFunctionType | types.MethodType):
        return "function"
    return "object"


_PHRASES = {
    "none": "None", "bool": "True or False", "str": "a string", "tensor": "a torch tensor",
    "array": "a NumPy array", "model": "a model (an nn.Module)", "class": "a class", "module": "a module",
    "dataframe": "a DataFrame", "series": "a pandas Series", "optimizer": "an optimizer", "dict": "a dict",
    "tuple": "a tuple", "list": "a list", "function": "a function",
}


def phrase(description: dict) -> str:
    """``a torch tensor``, ``a whole number``, ``an Evaluation`` ... for messages."""
    what = description["kind"]
    if what == "number":
        return "a whole number" if description.get("integer") else "a number"
    if what == "object":
        name = description.get("class", "object").rsplit(".", 1)[-1]
        return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"
    return _PHRASES[what]


def as_number(value: Any) -> float:
    return float(value.item()) if hasattr(value, "item") else float(value)


def short_number(value: float) -> str:
    """A number for a message: ``42``, ``0.4213``, ``1.2e-05``."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


# --------------------------------------------------------------------------------------
# Data-set lengths: sizes that legitimately differ between fast mode and a full run
# --------------------------------------------------------------------------------------


def _is_dataset(value: Any) -> bool:
    torch = library("torch")
    if isinstance(value, type) or not hasattr(type(value), "__len__"):
        return False
    if torch is not None and isinstance(value, torch.utils.data.Dataset):
        return True
    return type(value).__name__ == "ImageSet"


def data_lengths(namespace: Mapping[str, Any]) -> dict[int, list[str]]:
    """Lengths of the data sets in a notebook: ``{1000: ["len(train)", "len(train_loader.dataset)"]}``.

    Example:
        >>> import torch
        >>> data_lengths({"train": torch.utils.data.TensorDataset(torch.zeros(5, 2))})
        {5: ['len(train)']}
    """
    lengths: dict[int, list[str]] = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or type(value).__name__ == "Unfilled":
            continue
        for expression, candidate in ((f"len({name})", value), (f"len({name}.dataset)", None)):
            try:
                if candidate is None:
                    if isinstance(value, type) or isinstance(value, types.ModuleType):
                        continue
                    candidate = getattr(value, "dataset", None)
                if _is_dataset(candidate) and len(candidate) > 1:
                    lengths.setdefault(len(candidate), []).append(expression)
            except Exception:  # noqa: BLE001 - an object that refuses: not a data set
                continue
    return lengths


def resolve_length(expression: str, namespace: Mapping[str, Any]) -> int | None:
    """Evaluate ``len(name)`` / ``len(name.attr)`` in a namespace; None when it cannot."""
    match = _LEN.match(expression)
    if not match:
        return None
    first, *rest = match.group("path").split(".")
    if first not in namespace:
        return None
    value = namespace[first]
    try:
        for attribute in rest:
            value = getattr(value, attribute)
        return len(value)
    except Exception:  # noqa: BLE001
        return None


def _size(size: int, lengths: dict[int, list[str]]) -> dict:
    entry: dict[str, Any] = {"size": int(size)}
    if size in lengths:
        entry["length_of"] = lengths[size]
    return entry


def size_matches(expected: dict, actual: int, namespace: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a size matches, and how the lecture's size reads in a message."""
    relations = expected.get("length_of")
    if not relations:
        return actual == expected["size"], str(expected["size"])
    resolved = {expression: resolve_length(expression, namespace) for expression in relations}
    known = {expression: length for expression, length in resolved.items() if length is not None}
    if not known:
        return True, str(expected["size"])            # no data set to compare with: do not guess
    expression, length = next(iter(known.items()))
    return actual in known.values(), f"{expression} = {length}"


# --------------------------------------------------------------------------------------
# describe
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_rng(devices: list | None = None):
    """Keep torch's random state as it was (so that a check never changes what a notebook draws).

    ``devices``: the CUDA devices whose generators to keep too (a model's device); the CPU's always.
    """
    torch = library("torch")
    if torch is None:
        yield
        return
    with torch.random.fork_rng(devices=devices or []):
        yield


def tensor_facts(value: Any, lengths: dict[int, list[str]], exact: bool) -> dict:
    """Shape, dtype and value statistics of a tensor or array (statistics from at most a million values)."""
    numpy = library("numpy")
    torch_value = is_tensor(value)
    shape = list(value.shape)
    facts: dict[str, Any] = {
        "kind": "tensor" if torch_value else "array",
        "dtype": str(value.dtype),
        "shape": shape,
        "dims": [_size(size, lengths) for size in shape],
    }
    if torch_value:
        if value.is_complex() or value.numel() == 0:
            return facts
        floating = value.is_floating_point()
        flat = value.detach().reshape(-1)
        flat = flat[:: flat.numel() // STATS_SAMPLE + 1]           # a whole training set: sample it, on its device
        array = flat.cpu().double().numpy()
    else:
        if value.size == 0 or value.dtype.kind not in "biuf":
            return facts
        floating = value.dtype.kind == "f"
        flat = value.reshape(-1)
        array = flat[:: flat.size // STATS_SAMPLE + 1].astype("float64")
    finite = bool(numpy.isfinite(array).all())
    facts["stats"] = {"floating": floating, "finite": finite}
    if finite:
        facts["stats"].update(min=float(array.min()), max=float(array.max()), rms=float(numpy.sqrt((array ** 2).mean())))
    if exact and len(array) <= 10_000 and len(array) == (value.numel() if torch_value else value.size):
        facts["values"] = array.tolist()
    return facts


def parameter_count(model: Any) -> int | None:
    try:
        return int(sum(p.numel() for p in model.parameters()))
    except Exception:  # noqa: BLE001 - lazy modules have no sizes yet
        return None


def can_run(model: Any) -> bool:
    """Whether a check may run the student's model: not when hooks would fire or lazy weights appear."""
    from course_utils.model_trials import can_run as allowed  # noqa: PLC0415 - needs torch: only for a model

    return allowed(model)


def layer_text(module: Any) -> str:
    """``Linear(3072 → 10)``, ``Conv2d(3 → 100, kernel 5×5)`` (see :func:`course_utils.model_trials.layer_text`)."""
    from course_utils.model_trials import layer_text as text  # noqa: PLC0415 - needs torch: only for a layer

    return text(module)


def run_model(model: Any, shape: list[int]) -> list[int] | None:
    """The output shape of ``model`` on a batch of zeros of ``shape``; the model is left exactly as it was.

    See :func:`course_utils.model_trials.left_as_found`: every layer keeps its own training
    mode, no gradients are made, torch's random state and the devices stay as they were.
    """
    from course_utils.model_trials import left_as_found  # noqa: PLC0415 - needs torch: only for a model

    torch = library("torch")
    parameters = list(model.parameters())
    device = parameters[0].device if parameters else torch.device("cpu")
    dtype = parameters[0].dtype if parameters and parameters[0].is_floating_point() else torch.float32
    with left_as_found(model):
        output = model(torch.zeros(shape, device=device, dtype=dtype))
    return list(output.shape) if is_tensor(output) else None


def _input_shapes(model: Any, namespace: Mapping[str, Any]) -> list[list[int]]:
    """Input shapes (batch of 2) worth trying: the notebook's images, then what the first layer takes."""
    shapes: list[list[int]] = []
    for value in list(namespace.values()):
        try:
            if _is_dataset(value):
                images = getattr(value, "images", None)
                item = images[0] if is_tensor(images) else value[0]
                item = item[0] if isinstance(item, tuple | list) else item
                if is_tensor(item):
                    shapes.append([2, *item.shape])
        except Exception:  # noqa: BLE001
            continue
    for module in model.modules():
        if hasattr(module, "in_features"):
            shapes.append([2, module.in_features])
            break
        if hasattr(module, "in_channels"):
            shapes += [[2, module.in_channels, side, side] for side in (32, 28)]
            break
    unique = []
    for shape in shapes:
        if shape not in unique:
            unique.append(shape)
    return unique


def _model_facts(model: Any, namespace: Mapping[str, Any]) -> dict:
    facts: dict[str, Any] = {
        "kind": "model",
        "class": type(model).__name__,
        "parameters": parameter_count(model),
        "layers": sorted(layer_text(m) for m in model.modules() if list(m.parameters(recurse=False))),
    }
    if can_run(model):
        for shape in _input_shapes(model, namespace):
            try:
                output = run_model(model, shape)
            except Exception:  # noqa: BLE001 - this input does not fit: try the next
                continue
            if output is not None:
                facts.update(input=shape, output=output)
                break
    return facts


def describe(value: Any, namespace: Mapping[str, Any], *, exact: bool = False, depth: int = 0,
             lengths: dict[int, list[str]] | None = None) -> dict:
    """A few JSON facts about ``value`` that a student's value can be compared with.

    ``namespace`` is the notebook's namespace (for data-set lengths and model inputs);
    ``exact=True`` also keeps values (for the result of a call on fixed inputs).

    Example:
        >>> import torch
        >>> describe(torch.zeros(2, 3), {})["shape"]
        [2, 3]
        >>> describe({"a": 1}, {})["keys"]
        ["'a'"]
    """
    lengths = data_lengths(namespace) if lengths is None else lengths
    what = kind(value)
    facts: dict[str, Any] = {"kind": what}
    if what == "number":
        number = as_number(value)
        integer = isinstance(value, int) or "int" in str(getattr(value, "dtype", ""))
        facts.update(integer=bool(integer), value=number if math.isfinite(number) else str(number))
        if integer and int(number) in lengths:
            facts["length_of"] = lengths[int(number)]
    elif what == "bool":
        facts["value"] = bool(value)
    elif what == "str":
        facts["value"] = value if exact or len(value) <= 200 else None
    elif what in ("tensor", "array"):
        facts = tensor_facts(value, lengths, exact)
    elif what == "model":
        facts = _model_facts(value, namespace)
    elif what == "class":
        facts["name"] = value.__name__
        if is_model_class(value):
            try:
                with quiet_rng():
                    instance = value()
            except Exception:  # noqa: BLE001 - needs arguments: only "a class" is checked
                instance = None
            facts["instance"] = _model_facts(instance, namespace) if instance is not None else None
    elif what == "function":
        facts.update(signature_facts(value))
    elif what == "module":
        facts["name"] = value.__name__
    elif what == "optimizer":
        facts.update({"class": type(value).__name__, "lr": float(value.param_groups[0].get("lr", float("nan")))})
    elif what in ("dataframe", "series"):
        facts["rows"] = _size(len(value), lengths)
        if what == "dataframe":
            facts["columns"] = [str(column) for column in value.columns]
            last = last_row_measures(value)
            if last:
                facts["last"] = {column: describe(number, namespace) for column, number in last.items()}
    elif what == "dict" and depth < MAX_DEPTH:
        keys = list(value)
        if len(keys) <= 100 and all(isinstance(k, str | int) for k in keys):
            facts["keys"] = [repr(k) for k in keys]
            facts["values"] = {repr(k): describe(value[k], namespace, exact=exact, depth=depth + 1, lengths=lengths)
                               for k in keys[:MAX_ITEMS]}
    elif what in ("tuple", "list") and depth < MAX_DEPTH:
        facts["length"] = _size(len(value), lengths)
        shown = value[:MAX_ITEMS] if what == "tuple" or exact else value[:1]
        facts["items"] = [describe(item, namespace, exact=exact, depth=depth + 1, lengths=lengths) for item in shown]
    elif what == "object":
        facts["class"] = f"{type(value).__module__}.{type(value).__qualname__}"
        if dataclasses.is_dataclass(value) and depth < MAX_DEPTH:
            facts["fields"] = {
                field.name: describe(getattr(value, field.name), namespace, exact=exact, depth=depth + 1, lengths=lengths)
                for field in dataclasses.fields(value)[:MAX_ITEMS]
            }
    return facts


MEASURES = ("loss", "accuracy")
"""Columns of a table whose last row a check compares (loosely): a training history's losses and accuracies."""


def last_row_measures(table: Any) -> dict[str, float]:
    """The last row's losses and accuracies of a table (a training history): ``{"loss": 1.75, "accuracy": 0.41}``.

    Only these are compared: the number of images seen or the seconds taken differ
    between fast mode and a full run, a CPU and a GPU; a loss that grew instead of
    falling does not (a training loop without ``optimizer.zero_grad()``).

    Example:
        >>> import pandas as pd
        >>> last_row_measures(pd.DataFrame({"epoch": [1, 2], "seconds": [3.0, 6.0], "loss": [2.1, 1.9]}))
        {'loss': 1.9}
    """
    if len(table) == 0:
        return {}
    found = {}
    for column in table.columns:
        name = str(column)
        if any(measure in name.lower() for measure in MEASURES):
            value = table[column].iloc[-1]
            if isinstance(value, int | float) or type(value).__module__ == "numpy":
                try:
                    found[name] = float(value)
                except (TypeError, ValueError):
                    continue
    return found


def signature_facts(function: Any) -> dict:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return {}
    required = [p.name for p in parameters
                if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {"required": required}

def class_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def shape_text(shape: list) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
