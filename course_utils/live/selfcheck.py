"""``cu.check(lecture, blank)``: does what the student's code made look like what the lecture made?

The live twin of a checked lecture has a line ``cu.check("03-logistic-regression", 2)``
after each blank whose hint lists names. It looks each listed name up in the notebook,
compares it with the description the tool recorded from the executed lecture (see
:mod:`course_utils.live.describe` for what is compared) and prints ONE line::

    ✓ blank 2 of 03-logistic-regression: `model`, `history` look like the lecture's.
    ✗ blank 2 of 03-logistic-regression: `model` has 25 outputs; the lecture's has 10.
    ✗ blank 2 of 03-logistic-regression: `history` is missing: the blank above should keep what `cu.train(...)` returns as `history`.

Where the names come from: ``namespace`` when given (a dict, e.g. ``globals()``);
otherwise the IPython user namespace (the notebook's variables) when running in IPython;
otherwise the globals of the code that called ``check``.

Two environment variables are for the tool and for tests, not for students:

* ``COURSE_LIVE_RECORD=path`` -- record instead of check: describe the names and append
  them to ``path`` (one JSON line per check), as ``python -m course_tools.live --record`` does;
* ``COURSE_LIVE_STRICT=1`` -- a check that does not pass raises :class:`SelfCheckFailed`
  after printing its line (automated runs of filled-in live twins).

This module uses only the standard library (torch and friends only through the values).

A check leaves the notebook exactly as it found it: it may run the student's model once on
a batch of zeros, but every layer's training mode, the gradients, torch's random state
and every device stay as they were (see :func:`course_utils.live.describe.run_model`).

Besides the values, the check looks at what *later cells* need from a class or model the
blank makes (the tool finds it in the lecture: ``model.linear.weight`` read in a later
cell, ``SignConvNet(num_classes=26)`` called in one) and says so when it is missing::

    ✗ blank 1 of 03-logistic-regression: `LogisticRegression` has no attribute `linear`; later cells read `model.linear.weight`.

Example:
    >>> check("03-logistic-regresion", 2, namespace={})      # a typo
    Traceback (most recent call last):
    ...
    ValueError: cu.check: lecture must be the name of one of the course's lectures, got '03-logistic-regresion': no lecture named 03-logistic-regresion. Did you mean 03-logistic-regression? Write cu.check("03-logistic-regression", 2).
"""
from __future__ import annotations

import ast
import inspect
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from .compare import compare
from .describe import describe, is_model_class, library, quiet_rng
from .packagedata import check_lecture_and_blank, load_checks, solution_for

RECORD_ENV = "COURSE_LIVE_RECORD"
STRICT_ENV = "COURSE_LIVE_STRICT"

_MISSING = object()


class SelfCheckFailed(AssertionError):
    """A self-check did not pass while ``COURSE_LIVE_STRICT`` was set."""


def notebook_namespace(namespace: Mapping[str, Any] | None, depth: int = 2) -> Mapping[str, Any]:
    """The variables to check: ``namespace``, else IPython's user namespace, else the caller's globals."""
    if namespace is not None:
        if not isinstance(namespace, Mapping):
            raise TypeError(
                f"namespace should be a dict of the notebook's variables (e.g. globals()), got {type(namespace).__name__}."
            )
        return namespace
    if "IPython" in sys.modules:
        shell = sys.modules["IPython"].get_ipython()
        if shell is not None:
            return shell.user_ns
    return sys._getframe(depth).f_globals


def _item_parts(item: str) -> tuple[list[str], bool]:
    """``"model.fc"`` -> (["model", "fc"], False); ``"f(X, K)"`` -> (["f"], True)."""
    node = ast.parse(item, mode="eval").body
    is_call = isinstance(node, ast.Call)
    node = node.func if is_call else node
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    parts.insert(0, node.id if isinstance(node, ast.Name) else item)
    return parts, is_call


def resolve(item: str, namespace: Mapping[str, Any], made_by: Mapping[str, str]) -> tuple[Any, str | None]:
    """The value of a listed item in the notebook, or ``(_MISSING, why)``."""
    parts, is_call = _item_parts(item)
    first = parts[0]
    value = namespace.get(first, _MISSING)
    if value is _MISSING or type(value).__name__ == "Unfilled":
        how = made_by.get(first, f"make `{first}`")
        return _MISSING, f"`{first}` is missing: the blank above should {how}"
    for depth, attribute in enumerate(parts[1:], start=1):
        try:
            value = getattr(value, attribute)
        except AttributeError:
            return _MISSING, f"`{'.'.join(parts[:depth + 1])}` is missing: `{'.'.join(parts[:depth])}` has no attribute `{attribute}`"
    if is_call:
        try:
            value = eval(compile(item, "<cu.check>", "eval"), dict(namespace))  # noqa: S307 - the lecture's own probe
        except Exception as error:  # noqa: BLE001 - the student's function failed: that is the finding
            return _MISSING, f"calling `{item}` raised {type(error).__name__}: {str(error).strip()[:160]}"
    return value, None


def checked_items(solution: Mapping[str, Any]) -> list[str]:
    """What the check after a blank compares: the hint's list, its probes, or (inside a function) the result."""
    return list(solution.get("check_items") or solution.get("uses") or [])


def is_exact(item: str, solution: Mapping[str, Any]) -> bool:
    """A call on fixed inputs (``f(X, K)``), or a result of fixed inputs, is compared closely."""
    return _item_parts(item)[1] or item in solution.get("exact", [])


def _instance_of(cls: type) -> Any:
    """An object of a model class made without arguments (torch's random state kept), or None."""
    try:
        with quiet_rng():
            return cls()
    except Exception:  # noqa: BLE001 - needs arguments: its attributes cannot be looked at
        return None


def _keyword_problem(cls: Any, need: Mapping[str, Any]) -> str | None:
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters) or any(p.name == need["name"] for p in parameters):
        return None
    return f"`{cls.__name__}` takes no argument `{need['name']}`; later cells call `{need['read']}`"


def _attribute_problem(label: str, value: Any, need: Mapping[str, Any]) -> str | None:
    """Walk ``need["path"]`` on ``value`` through layers (nn.Modules); the first missing attribute is the problem."""
    torch = library("torch")
    current, walked = value, label
    for depth, attribute in enumerate(need["path"]):
        if depth and (torch is None or not isinstance(current, torch.nn.Module)):
            return None                                    # past the layers: tensors have their own attributes
        try:
            current = getattr(current, attribute)
        except Exception:  # noqa: BLE001 - a missing attribute (or one whose property fails)
            return f"{walked} has no attribute `{attribute}`; later cells read `{need['read']}`"
        walked = f"`{label.strip('`')}.{'.'.join(need['path'][:depth + 1])}`"
    return None


def needs_problems(solution: Mapping[str, Any], namespace: Mapping[str, Any]) -> list[str]:
    """What later cells need from the objects a blank makes (attributes, keyword arguments) that the student's lack.

    The needs come from the tool's reading of the lecture (``solutions``): a later cell reads
    ``model.linear.weight`` on an object of the blank's class ``LogisticRegression``, or calls
    ``SignConvNet(num_classes=26)``.
    """
    problems: list[str] = []
    instances: dict[str, Any] = {}
    for need in solution.get("needs", []):
        owner = need["of"]
        value = namespace.get(owner, _MISSING)
        if value is _MISSING or type(value).__name__ == "Unfilled":
            continue                                       # reported as missing already
        if need["kind"] == "keyword":
            problem = _keyword_problem(value, need) if isinstance(value, type) else None
        elif is_model_class(value):
            if owner not in instances:
                instances[owner] = _instance_of(value)
            instance = instances[owner]
            problem = None if instance is None else _attribute_problem(f"`{owner}`", instance, need)
        else:
            problem = _attribute_problem(f"`{owner}`", value, need)
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def check_problems(lecture: str, number: int, namespace: Mapping[str, Any]) -> tuple[list[str], list[str]] | str:
    """``(items checked, problems)`` for one blank, or a line saying why nothing can be checked."""
    record = load_checks(lecture)
    expected = (record or {}).get("blanks", {}).get(str(number))
    if expected is None:
        return (f"· blank {number} of {lecture}: no recorded check "
                f"(instructor: python -m course_tools.live --record {lecture}).")
    solution = solution_for(lecture, number) or {}
    if solution.get("fingerprint") and solution["fingerprint"] != expected.get("fingerprint"):
        return (f"· blank {number} of {lecture}: the recorded check is out of date, so it is skipped "
                f"(instructor: python -m course_tools.live --record {lecture}).")
    made_by = solution.get("made_by", {})
    problems: list[str] = []
    items = expected.get("items") or list(expected["values"])
    for item in items:
        facts = expected["values"][item]
        value, why = resolve(item, namespace, made_by)
        if why:
            problems.append(why)
            continue
        problems += compare(facts, value, f"`{item}`", namespace, exact=is_exact(item, solution))
    problems += needs_problems(solution, namespace)
    return items, problems


def _record(lecture: str, number: int, namespace: Mapping[str, Any], path: str) -> None:
    """Describe the blank's listed names and append them to the record file (recording mode)."""
    solution = solution_for(lecture, number)
    if solution is None:
        raise RuntimeError(f"recording: no solutions for blank {number} of {lecture} in {os.environ.get('COURSE_LIVE_DATA')}")
    values = {}
    for item in checked_items(solution):
        value, why = resolve(item, namespace, solution.get("made_by", {}))
        if why:
            raise RuntimeError(f"recording blank {number} of {lecture}: {why} (the lecture's own code should make it)")
        values[item] = describe(value, namespace, exact=is_exact(item, solution))
    unmet = needs_problems(solution, namespace)
    if unmet:
        raise RuntimeError(f"recording blank {number} of {lecture}: the lecture's own code does not give what the "
                           f"tool found later cells need: {'; '.join(unmet)} (instructor: report this to the course "
                           "kit's maintainers; course_tools/live/dependencies.py read the lecture wrongly)")
    torch = sys.modules.get("torch")
    line = {"lecture": lecture, "blank": number, "items": list(values), "values": values,
            "torch": getattr(torch, "__version__", None),
            "cuda": bool(torch is not None and torch.cuda.is_available())}
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")
    print(f"recorded blank {number} of {lecture}: {', '.join(values)}")


def check(lecture: str, blank: int, namespace: Mapping[str, Any] | None = None) -> None:
    """Compare what blank ``blank`` of ``lecture`` made with the lecture, and print one line.

    The live twins call it after each blank whose hint lists names (lecture 01's twin is
    the first); what it compares was recorded from the lecture itself.

    Example (in the live notebook, right after blank 2)::

        cu.check("03-logistic-regression", 2)
        ✓ blank 2 of 03-logistic-regression: `model`, `history` look like the lecture's.
    """
    check_lecture_and_blank(lecture, blank, "cu.check")
    names = notebook_namespace(namespace)
    solution = solution_for(lecture, blank) or {}
    if not checked_items(solution) and not solution.get("check"):
        print(f"· blank {blank} of {lecture} has no self-check: nothing after it needs what it makes.")
        return
    record_path = os.environ.get(RECORD_ENV, "").strip()
    if record_path:
        _record(lecture, blank, names, record_path)
        return
    result = check_problems(lecture, blank, names)
    if isinstance(result, str):
        line = result
    else:
        items, problems = result
        if problems:
            more = len(problems) - 1
            line = f"✗ blank {blank} of {lecture}: {problems[0]}."
            if more:
                line += f" (And {more} more: fix this first.)"
        else:
            shown = ", ".join(f"`{item}`" for item in items)
            line = f"✓ blank {blank} of {lecture}: {shown} look{'s' if len(items) == 1 else ''} like the lecture's."
    print(line)
    if not line.startswith("✓") and os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        raise SelfCheckFailed(line)
