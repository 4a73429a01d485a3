"""Blanks that fail well: ``cu.blank(...)`` and the placeholders it leaves behind.

In a checked live twin every blank is a line such as ``cu.blank("03-logistic-regression", 2)``.
Run unfilled, it raises :class:`BlankNotFilled`, whose message names the blank, repeats
its hint and says how to catch up -- the run stops *at the blank*, never with a
``ZeroDivisionError`` three functions away. Inside a function body the line only runs
when the function is called, so the function can still be defined.

At the top level of a cell, ``cu.blank`` also binds every name the blank should make
(its hint's ``later cells use:`` list) to a placeholder. A student who runs on past the
error gets the same message at the first use of such a name, instead of a
``NameError`` -- or, worse, an old value of that name from earlier in the lecture.

This module uses only the standard library.

Example:
    >>> namespace = {}
    >>> exec('import course_utils.live.placeholders as p\\np.blank("99-demo", 1)', namespace)
    Traceback (most recent call last):
    ...
    course_utils.live.placeholders.BlankNotFilled: blank 1 of 99-demo is not filled in: ...
"""
from __future__ import annotations

import sys

from .packagedata import check_lecture_and_blank, solution_for


class BlankNotFilled(NotImplementedError):
    """A blank of a live notebook was run before it was filled in (or a name it should make was used)."""


def blank_message(lecture: str, number: int, solution: dict | None) -> str:
    """What a student reads when blank ``number`` of ``lecture`` runs unfilled.

    Example:
        >>> print(blank_message("03-x", 2, {"hint": "write the training steps — later cells use: loss",
        ...                                 "scope": "module"}))
        blank 2 of 03-x is not filled in: write the training steps — later cells use: loss. Replace the line cu.blank("03-x", 2) by your code. Behind? Run cu.catch_up("03-x", 2) in a new cell.
    """
    hint = (solution or {}).get("hint") or "the comment above says what to write"
    text = (
        f"blank {number} of {lecture} is not filled in: {hint.rstrip('.')}. "
        f'Replace the line cu.blank("{lecture}", {number}) by your code. '
        f'Behind? Run cu.catch_up("{lecture}", {number}) in a new cell'
    )
    if (solution or {}).get("scope") == "function":
        owner = solution.get("owner")  # type: ignore[union-attr]
        text += f" (it defines {owner} again), then run this cell again" if owner else ", then run this cell again"
    return text + "."


class Unfilled:
    """Stands in for a name an unfilled blank should have made; any use raises ``BlankNotFilled``.

    Only ``repr`` works (so that debuggers and tracebacks can show it).

    Example:
        >>> model = Unfilled("model", "03-x", 2)
        >>> model
        <model: not made yet - blank 2 of 03-x is not filled in>
        >>> model.eval()
        Traceback (most recent call last):
        ...
        course_utils.live.placeholders.BlankNotFilled: `model` is not made yet: blank 2 of 03-x is not filled in...
    """

    __slots__ = ("_name", "_lecture", "_number")

    def __init__(self, name: str, lecture: str, number: int):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_lecture", lecture)
        object.__setattr__(self, "_number", number)

    def _fail(self, *args, **kwargs):
        __tracebackhide__ = True  # noqa: F841 - IPython and pytest hide this frame
        solution = solution_for(self._lecture, self._number)
        raise BlankNotFilled(f"`{self._name}` is not made yet: " + blank_message(self._lecture, self._number, solution))

    def __repr__(self) -> str:
        return f"<{self._name}: not made yet - blank {self._number} of {self._lecture} is not filled in>"

    def __getattr__(self, attribute: str):
        if attribute.startswith("_"):              # IPython, pickle, copy ... probe _repr_html_ and the like
            raise AttributeError(attribute)
        self._fail()

    def __setattr__(self, attribute: str, value) -> None:
        self._fail()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        for value in [*args, *(kwargs or {}).values()]:
            if isinstance(value, Unfilled):
                value._fail()
        return NotImplemented

    def __array__(self, *args, **kwargs):
        self._fail()


_FAILING = (
    "__call__ __getitem__ __setitem__ __delitem__ __iter__ __len__ __bool__ __contains__ __str__ __format__ "
    "__int__ __float__ __index__ __complex__ __neg__ __pos__ __abs__ __invert__ __enter__ __exit__ "
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __matmul__ __rmatmul__ __truediv__ __rtruediv__ "
    "__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __lt__ __le__ __gt__ __ge__ "
    "__and__ __rand__ __or__ __ror__ __xor__ __rxor__ __lshift__ __rshift__ __iadd__ __isub__ __imul__ "
    "__itruediv__ __array_function__ __array_ufunc__"
).split()
for _name in _FAILING:
    setattr(Unfilled, _name, Unfilled._fail)
del _name


def blank(lecture: str, number: int) -> None:
    """Stand for blank ``number`` of ``lecture`` in a live notebook: always raises :class:`BlankNotFilled`.

    Replace the line by your code. At the top level of a cell this also binds the names
    the blank should make to placeholders (:class:`Unfilled`) first. It is not code from a
    lecture but the live twins' line for the code you write in class (lecture 01's twin
    is the first to use it).
    """
    __tracebackhide__ = True  # noqa: F841
    check_lecture_and_blank(lecture, number, "cu.blank")
    solution = solution_for(lecture, number)
    caller = sys._getframe(1)
    if solution and caller.f_code.co_name == "<module>":      # top level of a cell: globals are the notebook's
        for name in solution.get("placeholders", []):
            caller.f_globals[name] = Unfilled(name, lecture, number)
    raise BlankNotFilled(blank_message(lecture, number, solution))
