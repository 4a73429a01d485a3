"""Compare a student's value with the lecture's description (from :mod:`course_utils.live.describe`).

``compare`` runs in a student's ``cu.check(...)``. What is compared, per kind of value:

========================  =========================================================
value                     compared
========================  =========================================================
torch tensor, NumPy array type, number of dimensions, each dimension, dtype (float16,
                          bfloat16 and float32 count as the same: mixed precision),
                          and -- loosely -- the values: no NaN/inf when the lecture
                          has none, inside [0, 1] when the lecture's are, not negative
                          when the lecture's are not, and (floats) a typical size
                          (root mean square) within 10 times the lecture's
model (``nn.Module``)     the output shape on a batch of two zero images (the input
                          shape is found from the data sets in the notebook), the
                          number of parameters, the layers that have parameters
                          (``Linear(3072 → 10)``, ``Conv2d(3 → 100, kernel 5×5)``)
class                     for a model class that needs no arguments: the model
                          ``Class()`` makes, as above
function                  the number of required arguments
number                    whole number or not, and loosely the value: inside [0, 1]
                          when the lecture's is (accuracy as a share), not negative
                          when the lecture's is not, within 10 times the lecture's
DataFrame                 the columns the lecture's has (extra columns are fine)
dict                      the keys, then each value (the first 20)
tuple / list              a tuple's length and items; a list's first item
module, optimizer         the module's name; the optimizer's class and learning rate
dataclass (Evaluation)    its class, then each field
anything else             its class
========================  =========================================================

A size that equals the length of a data set in the notebook (``len(train)``, or
``len(train_loader.dataset)``) is recorded as that relation, not as a number, and
checked against the student's own data set: fast mode and a full run, or a subset and
the whole set, then agree. Values that depend on how long a model trained (losses,
accuracies, logits) are only checked loosely, as above, so that CPU and GPU, fast mode
and a full run all pass. A *call* in the hint's list (``f(X, K)``) is a fixed input, so
its result is compared closely (values within 1e-4 relative).

Only the standard library is imported here (torch, NumPy, pandas through the values).

Example:
    >>> from course_utils.live.describe import describe
    >>> expected = describe(0.42, {})
    >>> compare(expected, 42.0, "`accuracy`", {})
    ["`accuracy` is 42; the lecture's lies between 0 and 1 (a share, not a percentage)"]
    >>> compare(expected, 0.57, "`accuracy`", {})
    []
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .describe import (
    EXACT_ATOL,
    EXACT_RTOL,
    LOOSE_FACTOR,
    as_number,
    class_name,
    can_run,
    is_model_class,
    kind,
    last_row_measures,
    layer_text,
    library,
    parameter_count,
    phrase,
    quiet_rng,
    run_model,
    shape_text,
    short_number,
    signature_facts,
    size_matches,
    tensor_facts,
)


def _kinds_match(expected: str, actual: str) -> bool:
    return expected == actual or {expected, actual} <= {"list", "tuple"}


def compare(expected: dict, value: Any, label: str, namespace: Mapping[str, Any], *, exact: bool = False) -> list[str]:
    """What is wrong with ``value`` compared with the lecture's description (empty list: nothing).

    ``label`` names the value in messages, with backticks: ``"`model`"``.

    Example:
        >>> import torch
        >>> from course_utils.live.describe import describe
        >>> compare(describe(torch.zeros(3), {}), torch.zeros(3, 32, 32), "`channel_mean`", {})
        ["`channel_mean` has shape (3, 32, 32); the lecture's has shape (3,)"]
    """
    actual = kind(value)
    wanted = expected["kind"]
    if not _kinds_match(wanted, actual):
        if wanted == "model" and is_model_class(value):
            return [f"{label} is the class {value.__name__} itself; the lecture's is a model made from it "
                    f"({value.__name__}(...))"]
        if wanted == "number" and actual == "bool":
            return []
        return [f"{label} is {phrase({'kind': actual, 'class': class_name(value)})}; "
                f"the lecture's is {phrase(expected)}"]
    compare_kind = _COMPARE.get(wanted)
    return compare_kind(expected, value, label, namespace, exact) if compare_kind else []




def _compare_number(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    number = as_number(value)
    shown = short_number(number)
    if expected.get("integer") and not float(number).is_integer():
        return [f"{label} is {shown}; the lecture's is a whole number"]
    lecture = expected.get("value")
    if isinstance(lecture, str):                                   # the lecture's was nan or inf
        return []
    if not math.isfinite(number):
        return [f"{label} is {shown}; the lecture's is a finite number ({short_number(lecture)})"]
    if exact:
        if abs(number - lecture) > EXACT_ATOL + EXACT_RTOL * abs(lecture):
            return [f"{label} gives {shown}; the lecture's gives {short_number(lecture)}"]
        return []
    if expected.get("length_of"):
        ok, wanted = size_matches({"size": lecture, "length_of": expected["length_of"]}, int(number), namespace)
        return [] if ok else [f"{label} is {shown}; the lecture's is {wanted}"]
    if 0 <= lecture <= 1 and not expected.get("integer"):
        if not -1e-9 <= number <= 1 + 1e-9:
            why = " (a share, not a percentage)" if 1 < number <= 100 else ""
            return [f"{label} is {shown}; the lecture's lies between 0 and 1{why}"]
        return []
    if lecture >= 0 > number:
        return [f"{label} is {shown}; the lecture's is not negative ({short_number(lecture)})"]
    if lecture < 0 < number:
        return [f"{label} is {shown}; the lecture's is negative ({short_number(lecture)})"]
    if abs(lecture) > 1e-12 and not (1 / LOOSE_FACTOR <= abs(number) / abs(lecture) <= LOOSE_FACTOR):
        return [f"{label} is {shown}; the lecture's is about {short_number(lecture)} (more than {LOOSE_FACTOR:g} times "
                f"{'larger' if abs(number) < abs(lecture) else 'smaller'})"]
    return []


def _compare_bool(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if exact and bool(value) != expected["value"]:
        return [f"{label} gives {bool(value)}; the lecture's gives {expected['value']}"]
    return []


def _compare_str(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if exact and expected.get("value") is not None and value != expected["value"]:
        return [f"{label} gives {value!r}; the lecture's gives {expected['value']!r}"]
    return []




def _compare_tensor(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    shape = list(value.shape)
    wanted_shape = [size_matches(dim, dim["size"], namespace)[1] for dim in expected["dims"]]
    if len(shape) != len(expected["shape"]):
        return [f"{label} has shape {shape_text(shape)}; the lecture's has shape {shape_text(wanted_shape)}"]
    if not all(size_matches(dim, size, namespace)[0] for size, dim in zip(shape, expected["dims"])):
        return [f"{label} has shape {shape_text(shape)}; the lecture's has shape {shape_text(wanted_shape)}"]
    floats = {"torch.float16", "torch.bfloat16", "torch.float32"}
    dtype = str(value.dtype)
    if dtype != expected["dtype"] and not {dtype, expected["dtype"]} <= floats:
        return [f"{label} has dtype {dtype}; the lecture's has {expected['dtype']}"]
    stats = expected.get("stats")
    if not stats:
        return []
    mine = tensor_facts(value, {}, exact).get("stats")
    if not mine:
        return []
    if stats["finite"] and not mine["finite"]:
        return [f"{label} has NaN or infinite values; the lecture's has none"]
    if not (stats["finite"] and mine["finite"]):
        return []
    low, high = short_number(mine["min"]), short_number(mine["max"])
    if stats["min"] >= 0 and stats["max"] <= 1 and (mine["min"] < -1e-6 or mine["max"] > 1 + 1e-6):
        return [f"{label} has values from {low} to {high}; the lecture's lie between 0 and 1"]
    if stats["min"] >= 0 and mine["min"] < -1e-6:
        return [f"{label} has negative values (down to {low}); the lecture's has none"]
    if stats["floating"] and stats["rms"] > 1e-8:
        ratio = mine["rms"] / stats["rms"]
        if not 1 / LOOSE_FACTOR <= ratio <= LOOSE_FACTOR:
            return [f"{label} has values of typical size {short_number(mine['rms'])}; the lecture's are about "
                    f"{short_number(stats['rms'])} (root mean square)"]
    if exact and "values" in expected:
        numpy = library("numpy")
        mine_values = numpy.asarray(tensor_facts(value, {}, True).get("values", []), dtype="float64")
        theirs = numpy.asarray(expected["values"], dtype="float64")
        if mine_values.shape == theirs.shape and not numpy.allclose(mine_values, theirs, rtol=EXACT_RTOL, atol=EXACT_ATOL):
            if theirs.size <= 16:
                mine_text = numpy.array2string(mine_values.reshape(shape), precision=4, separator=", ")
                theirs_text = numpy.array2string(theirs.reshape(expected["shape"]), precision=4, separator=", ")
                return [f"{label} gives {mine_text}; the lecture's gives {theirs_text}".replace("\n", "")]
            worst = float(numpy.abs(mine_values - theirs).max())
            return [f"{label} differs from the lecture's result by up to {short_number(worst)}"]
    return []


def _compare_model(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if expected.get("input") and expected.get("output") and can_run(value):
        shape = expected["input"]
        try:
            output = run_model(value, shape)
        except Exception as error:  # noqa: BLE001 - the student's model cannot take the input
            return [_cannot_run(value, shape, label, error)]
        wanted = expected["output"]
        if output is not None and output != wanted:
            if len(output) == len(wanted) == 2 and output[0] == wanted[0]:
                return [f"{label} has {output[1]} outputs; the lecture's has {wanted[1]}"]
            return [f"{label} gives outputs of shape {shape_text(output)} for a batch of shape "
                    f"{shape_text(shape)}; the lecture's gives {shape_text(wanted)}"]
    mine = parameter_count(value)
    layers = sorted(layer_text(m) for m in value.modules() if list(m.parameters(recurse=False)))
    missing = [layer for layer in expected["layers"] if layer not in layers or expected["layers"].count(layer) > layers.count(layer)]
    extra = [layer for layer in layers if layer not in expected["layers"] or layers.count(layer) > expected["layers"].count(layer)]
    detail = ""
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"the lecture's has {', '.join(dict.fromkeys(missing))}")
        if extra:
            parts.append(f"yours has {', '.join(dict.fromkeys(extra))}")
        detail = " and ".join(parts)
    if expected.get("parameters") is not None and mine is not None and mine != expected["parameters"]:
        text = f"{label} has {mine:,} parameters; the lecture's has {expected['parameters']:,}"
        return [text + (f" ({detail})" if detail else "")]
    if detail:
        return [f"{label}'s layers differ: {detail}"]
    return []


def _cannot_run(model: Any, shape: list[int], label: str, error: Exception) -> str:
    """Why the student's model cannot take the lecture's input: in the lecture's words when it is a shape error."""
    from course_utils import shape_errors  # noqa: PLC0415 - needs torch, which this module does not import

    torch = library("torch")
    parameters = list(model.parameters())
    device = parameters[0].device if parameters else None
    dtype = parameters[0].dtype if parameters and parameters[0].is_floating_point() else torch.float32
    explained = None
    if shape_errors.looks_like_shape_error(error):
        explained = shape_errors.explain_shape_error(model, torch.zeros(shape, device=device, dtype=dtype), error)
    if explained:
        return f"{label} cannot take a batch of shape {shape_text(shape)}: {explained.rstrip('.')}"
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"calling {label} on a batch of shape {shape_text(shape)} raised {type(error).__name__}: {message[:160]}"


def _compare_class(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    instance_facts = expected.get("instance")
    if not instance_facts:
        return []
    if not is_model_class(value):
        return [f"{label} is a class, but not a model class (a subclass of nn.Module) as the lecture's is"]
    try:
        with quiet_rng():
            instance = value()
    except Exception as error:  # noqa: BLE001
        return [f"{value.__name__}() raised {type(error).__name__}: {str(error)[:160]}; "
                f"the lecture's {expected['name']} can be made without arguments"]
    return _compare_model(instance_facts, instance, f"`{value.__name__}()`", namespace, exact)


def _compare_function(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    required = expected.get("required")
    mine = signature_facts(value).get("required")
    if required is None or mine is None or len(required) == len(mine):
        return []
    return [f"{label} takes {len(mine)} argument(s) ({', '.join(mine)}); the lecture's takes {len(required)} "
            f"({', '.join(required)})"]


def _compare_module(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if value.__name__ != expected["name"]:
        return [f"{label} is the module {value.__name__}; the lecture's is {expected['name']}"]
    return []


def _compare_optimizer(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if type(value).__name__ != expected["class"]:
        return [f"{label} is a {type(value).__name__} optimizer; the lecture's is {expected['class']}"]
    lr = float(value.param_groups[0].get("lr", float("nan")))
    if not math.isclose(lr, expected["lr"], rel_tol=1e-6):
        return [f"{label} has learning rate {short_number(lr)}; the lecture's has {short_number(expected['lr'])}"]
    return []


def _compare_table(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if "columns" in expected:
        columns = [str(column) for column in value.columns]
        missing = [column for column in expected["columns"] if column not in columns]
        if missing:
            return [f"{label} has no column {', '.join(missing)}; the lecture's has {', '.join(expected['columns'])}"]
    ok, wanted = size_matches(expected["rows"], len(value), namespace) if expected["rows"].get("length_of") else (True, "")
    if not ok:
        return [f"{label} has {len(value)} rows; the lecture's has {wanted}"]
    mine = last_row_measures(value) if expected.get("last") else {}
    for column, facts in expected.get("last", {}).items():
        if column in mine:
            problems = compare(facts, mine[column], f"the last {column} in {label}", namespace)
            if problems:
                return problems
    return []


def _compare_dict(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if "keys" not in expected:
        return []
    keys = {repr(k): k for k in value}
    missing = [k for k in expected["keys"] if k not in keys]
    if missing:
        return [f"{label} has no key {', '.join(missing)}; the lecture's has {', '.join(expected['keys'])}"]
    extra = [k for k in keys if k not in expected["keys"]]
    if extra:
        return [f"{label} has the extra key {', '.join(extra)}; the lecture's has only {', '.join(expected['keys'])}"]
    for key, facts in expected.get("values", {}).items():
        problems = compare(facts, value[keys[key]], f"{label[:-1]}[{key}]`", namespace, exact=exact)
        if problems:
            return problems
    return []


def _compare_sequence(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    length = expected.get("length")
    if length and (expected["kind"] == "tuple" or exact or length.get("length_of")):
        ok, wanted = size_matches(length, len(value), namespace)
        if not ok:
            return [f"{label} has {len(value)} items; the lecture's has {wanted}"]
    for position, facts in enumerate(expected.get("items", [])[: len(value)]):
        problems = compare(facts, value[position], f"{label[:-1]}[{position}]`", namespace, exact=exact)
        if problems:
            return problems
    return []


def _compare_object(expected: dict, value: Any, label: str, namespace, exact: bool) -> list[str]:
    if class_name(value) != expected["class"]:
        return [f"{label} is {phrase({'kind': 'object', 'class': class_name(value)})}; "
                f"the lecture's is {phrase(expected)}"]
    for name, facts in expected.get("fields", {}).items():
        problems = compare(facts, getattr(value, name, None), f"{label[:-1]}.{name}`", namespace, exact=exact)
        if problems:
            return problems
    return []


_COMPARE = {
    "number": _compare_number, "bool": _compare_bool, "str": _compare_str, "tensor": _compare_tensor,
    "array": _compare_tensor, "model": _compare_model, "class": _compare_class, "function": _compare_function,
    "module": _compare_module, "optimizer": _compare_optimizer, "dataframe": _compare_table,
    "series": _compare_table, "dict": _compare_dict, "tuple": _compare_sequence, "list": _compare_sequence,
    "object": _compare_object,
}
