"""Blanks that fail well: ``cu.blank(...)`` and the placeholders it leaves behind.

In a checked live twin every blank is a line such as ``cu.blank("03-logistic-regression", 2)``.
Run unfilled, it raises :class:`BlankNotFilled`, whose message names the blank, repeats
its hint and says how to catch up -- the run stops *at the blank*, never with a
``ZeroDivisionError`` three functions away. Inside a function body the line only runs
when the function is called, so the function can still be defined.

At the top level of a cell, ``cu.blank`` also binds every name the blank should make
(its hint's ``later cells use:`` list) to a placeholder. A student who runs on past the
error gets the same message at the first use of such a name -- calling it, printing it,
comparing it (``p == 0.5``), rounding it, copying it, giving it to torch or NumPy
(``torch.cat([t, p])``) or to a course helper -- instead of a ``NameError``, a silent
``False`` or, worse, an old value of that name from earlier in the lecture.

In Jupyter and Colab the error shows as its sentence (and the line of your code that ran
into it), not as a traceback through this file: see :meth:`BlankNotFilled._render_traceback_`.

This module uses only the standard library.

Example:
    >>> namespace = {}
    >>> exec('import course_utils.live.placeholders as p\\np.blank("03-logistic-regression", 2)', namespace)
    Traceback (most recent call last):
    ...
    course_utils.live.placeholders.BlankNotFilled: blank 2 of 03-logistic-regression is not filled in: ...
"""
from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from types import FrameType, TracebackType

from .packagedata import check_lecture_and_blank, solution_for

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))    # course_utils/
_LIBRARY_DIRS = tuple({os.path.abspath(path) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                       if (path := sysconfig.get_paths().get(key))})


class BlankNotFilled(NotImplementedError):
    """A blank of a live notebook was run before it was filled in (or a name it should make was used).

    In IPython (Jupyter, Colab) it shows as one red line with its sentence, not as a traceback.
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error: the sentence, and the line of the student's code that ran into it.

        IPython's ``showtraceback`` calls this method when an exception has it (IPython 7.34
        in Colab as well as IPython 8/9 under ipykernel 6/7 in JupyterLab); the lines go to
        the notebook instead of a traceback through ``course_utils``.
        """
        lines = [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]
        where = students_line(self.__traceback__)
        if where:
            lines.append(f"(It happened in your code, at: {where})")
        lines += [str(note) for note in getattr(self, "__notes__", [])]
        return lines


def _is_students_file(filename: str) -> bool:
    """True for code a student ran: a notebook cell, not Python, torch or course_utils."""
    if filename.startswith("<frozen") or filename.startswith("<string>"):
        return False
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    return not path.startswith(_PACKAGE_DIR + os.sep) and not path.startswith(_LIBRARY_DIRS)


def students_line(traceback: TracebackType | None) -> str | None:
    """The innermost line of a student's own code in ``traceback`` (``"loss = loss_fn(p, y)"``), if any.

    The line ``cu.blank(...)`` itself is not repeated: the message already names it.
    """
    found = None
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if _is_students_file(code.co_filename):
            line = linecache.getline(code.co_filename, traceback.tb_lineno).strip()
            if line:
                found = line
        traceback = traceback.tb_next
    if found is None or "cu.blank(" in found:
        return None
    return found


def is_top_level(frame: FrameType) -> bool:
    """True for a frame running the top level of a notebook cell or script (its locals are its globals).

    Not by the code's name: IPython 7.34 (Colab's) names a cell's code ``<cell line: 0>``, not ``<module>``.
    """
    return frame.f_locals is frame.f_globals


def _cell_frame(frame: FrameType | None) -> FrameType | None:
    """The frame running the top level of a notebook cell (or script) that ``frame`` was called from."""
    while frame is not None and not is_top_level(frame):
        frame = frame.f_back
    return frame


def blank_message(lecture: str, number: int, solution: dict | None, *, called_in_its_cell: bool = False) -> str:
    """What a student reads when blank ``number`` of ``lecture`` runs unfilled.

    For a blank inside a function, the advice depends on where the function was called:
    from the cell that defines it (catching up runs that whole cell, so the student goes
    on with the next one), or from a later cell (which is then run again).

    Example:
        >>> print(blank_message("03-x", 2, {"hint": "write the training steps — later cells use: loss",
        ...                                 "scope": "module"}))
        blank 2 of 03-x is not filled in: write the training steps — later cells use: loss. Replace the line cu.blank("03-x", 2) by your code. Behind? Run cu.catch_up("03-x", 2) in a new cell.
        >>> print(blank_message("05-x", 3, {"hint": "the loops", "scope": "function", "owner": "max_pool"},
        ...                     called_in_its_cell=True))
        blank 3 of 05-x is not filled in: the loops. Replace the line cu.blank("05-x", 3) by your code. Behind? Run cu.catch_up("05-x", 3) in a new cell: it runs the lecture's code for this whole cell (max_pool included), and you go on with the next cell.
    """
    hint = (solution or {}).get("hint") or "the comment above says what to write"
    text = (
        f"blank {number} of {lecture} is not filled in: {hint.rstrip('.')}. "
        f'Replace the line cu.blank("{lecture}", {number}) by your code. '
        f'Behind? Run cu.catch_up("{lecture}", {number}) in a new cell'
    )
    if (solution or {}).get("scope") == "function":
        owner = solution.get("owner")  # type: ignore[union-attr]
        if called_in_its_cell:
            included = f" ({owner} included)" if owner else ""
            text += f": it runs the lecture's code for this whole cell{included}, and you go on with the next cell"
        else:
            again = f"it defines {owner} as the lecture does" if owner else "it runs the lecture's code for that cell"
            text += f": {again}; then run this cell again"
    return text + "."


class Unfilled:
    """Stands in for a name an unfilled blank should have made; any use raises ``BlankNotFilled``.

    Only ``repr``, ``type``, ``id``, ``hash``, ``is`` and ``isinstance`` work (so that
    debuggers, tracebacks and the notebook's own machinery can look at it). Everything a
    program does with a value -- calling, printing, comparing, arithmetic, ``round``,
    ``len``, iterating, copying, pickling, attributes, torch and NumPy functions (also
    inside a list: ``torch.cat([t, p])``) -- raises the blank's message.

    Example:
        >>> model = Unfilled("model", "03-logistic-regression", 2)
        >>> model
        <model: not made yet - blank 2 of 03-logistic-regression is not filled in>
        >>> model == 0.5
        Traceback (most recent call last):
        ...
        course_utils.live.placeholders.BlankNotFilled: `model` is not made yet: blank 2 of 03-logistic-regression is not filled in...
    """

    __slots__ = ("_name", "_lecture", "_number")

    is_unfilled_blank_placeholder = True
    """Marks the placeholder for code that must not import this module (``course_utils.mistakes``)."""

    def __init__(self, name: str, lecture: str, number: int):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_lecture", lecture)
        object.__setattr__(self, "_number", number)

    def not_made_message(self) -> str:
        """``"`model` is not made yet: blank 2 of ... is not filled in: ..."``: what every use says."""
        solution = solution_for(self._lecture, self._number)
        return f"`{self._name}` is not made yet: " + blank_message(self._lecture, self._number, solution)

    def _fail(self, *args, **kwargs):
        __tracebackhide__ = True  # noqa: F841 - IPython and pytest hide this frame
        raise BlankNotFilled(self.not_made_message())

    def __repr__(self) -> str:
        return f"<{self._name}: not made yet - blank {self._number} of {self._lecture} is not filled in>"

    def __getattr__(self, attribute: str):
        if attribute.startswith("_"):              # IPython, inspect ... probe _repr_html_ and the like
            raise AttributeError(attribute)
        self._fail()

    def __setattr__(self, attribute: str, value) -> None:
        self._fail()

    def __delattr__(self, attribute: str) -> None:
        self._fail()

    __hash__ = object.__hash__                     # a dict or set may still hold it (by identity)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        placeholder = _first_placeholder([args, kwargs or {}])
        if placeholder is not None:
            placeholder._fail()
        return NotImplemented


def _first_placeholder(value, depth: int = 0) -> Unfilled | None:
    """The first placeholder in ``value``, looking into lists, tuples and dicts (torch passes ``[t, p]``)."""
    if isinstance(value, Unfilled):
        return value
    if depth < 3 and isinstance(value, (list, tuple)):
        return next((found for item in value if (found := _first_placeholder(item, depth + 1)) is not None), None)
    if depth < 3 and isinstance(value, dict):
        return _first_placeholder(list(value.values()), depth + 1)
    return None


_FAILING = (
    # calling, containers, iteration, conversion to text and numbers
    "__call__ __getitem__ __setitem__ __delitem__ __iter__ __next__ __reversed__ __len__ __length_hint__ "
    "__contains__ __bool__ __str__ __format__ __bytes__ __fspath__ __int__ __float__ __index__ __complex__ "
    "__round__ __trunc__ __floor__ __ceil__ __enter__ __exit__ __await__ __aiter__ __anext__ __aenter__ "
    "__aexit__ "
    # comparisons: p == 0.5 must not quietly be False
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ "
    # arithmetic, both sides, and in place
    "__neg__ __pos__ __abs__ __invert__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __matmul__ "
    "__rmatmul__ __truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __divmod__ __rdivmod__ "
    "__pow__ __rpow__ __lshift__ __rlshift__ __rshift__ __rrshift__ __and__ __rand__ __or__ __ror__ __xor__ "
    "__rxor__ __iadd__ __isub__ __imul__ __imatmul__ __itruediv__ __ifloordiv__ __imod__ __ipow__ "
    "__ilshift__ __irshift__ __iand__ __ior__ __ixor__ "
    # copying and pickling (copy.deepcopy(model), torch.save)
    "__copy__ __deepcopy__ __reduce__ __reduce_ex__ __getstate__ "
    # NumPy
    "__array__ __array_function__ __array_ufunc__"
).split()
for _name in _FAILING:
    setattr(Unfilled, _name, Unfilled._fail)
del _name


def blank(lecture: str, number: int) -> None:
    """Stand for blank ``number`` of ``lecture`` in a live notebook: always raises :class:`BlankNotFilled`.

    Replace the line by your code. At the top level of a cell this also binds the names
    the blank should make to placeholders (:class:`Unfilled`) first. It is not code from a
    lecture but the live twins' line for the code you write in class (lecture 01's twin
    is the first to use it). A lecture or blank number that does not exist is refused
    first (``ValueError``), with the names that do.
    """
    __tracebackhide__ = True  # noqa: F841
    check_lecture_and_blank(lecture, number, "cu.blank")
    solution = solution_for(lecture, number)
    caller = sys._getframe(1)
    if solution and is_top_level(caller):                    # top level of a cell: globals are the notebook's
        for name in solution.get("placeholders", []):
            caller.f_globals[name] = Unfilled(name, lecture, number)
    cell = _cell_frame(caller)
    in_its_cell = cell is not None and cell is not caller and cell.f_code.co_filename == caller.f_code.co_filename
    raise BlankNotFilled(blank_message(lecture, number, solution, called_in_its_cell=in_its_cell))
