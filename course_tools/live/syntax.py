"""Does a notebook cell parse as Python? (IPython syntax such as ``%magic`` and ``!shell`` aside.)

Used by ``--check`` (every lecture and live cell must parse) and by the dependency check,
which reads each cell's syntax tree.

Example:
    >>> parse_problem("for x in range(3):\\n    # nothing here")
    "line 2: expected an indented block after 'for' statement on line 1"
    >>> python_source("%matplotlib inline\\nx = 1")
    'pass\\nx = 1'
"""
from __future__ import annotations

import ast
import re
import warnings

from nbformat import NotebookNode

from .markers import has_tag

# Lines IPython rewrites before Python sees them: %magic, %%cell magic, !shell, x = !cmd,
# x = %magic, and help requests such as ``obj?`` / ``?obj``.
# A continuation line that starts with the operators "% x" or "!= y" is Python, not a magic.
_MAGIC_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:[\w.]+[ \t]*=[ \t]*)?(?:%%?[A-Za-z_]|!(?!=))")
_HELP_LINE = re.compile(r"^(?P<indent>[ \t]*)\?*[\w.]+\?{1,2}[ \t]*$|^(?P<indent2>[ \t]*)\?{1,2}[\w.]+[ \t]*$")
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
"""Cell magics whose body is Python; the body of any other (``%%bash`` ...) is not checked."""

RAISES_TAG = "raises-exception"
_RAISES_COMMENT = re.compile(r"^[ \t]*#[ \t]*NBVAL_RAISES_EXCEPTION", re.MULTILINE)


def python_source(source: str) -> str | None:
    """The cell's source with IPython syntax replaced by ``pass``, ready for ``ast.parse``.

    ``%magic``, ``!shell``, ``x = !cmd`` and ``obj?`` lines become ``pass`` at the same
    indentation (so line numbers stay right). A cell that starts with a cell magic whose
    body is not Python (``%%bash``, ``%%html`` ...) gives ``None``: there is nothing to check.

    Example:
        >>> python_source('if "google.colab" in sys.modules:\\n    %pip install -q x')
        'if "google.colab" in sys.modules:\\n    pass'
    """
    lines = source.split("\n")
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        magic = first[2:].split(None, 1)[0] if first[2:].strip() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return None
    out = []
    for line in lines:
        magic = _MAGIC_LINE.match(line)
        helpline = _HELP_LINE.match(line)
        if magic:
            out.append(magic.group("indent") + "pass")
        elif helpline:
            out.append((helpline.group("indent") or helpline.group("indent2") or "") + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def parse_cell(source: str) -> ast.Module | None:
    """The syntax tree of a cell (magics as ``pass``), or None when it does not parse or is not Python."""
    code = python_source(source)
    if code is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "\d" in a string
            return ast.parse(code)
    except SyntaxError:
        return None


def parse_problem(source: str) -> str | None:
    """``None`` when a code cell's source parses as Python (magics aside), else a short reason.

    Example:
        >>> parse_problem("x = (") is not None
        True
    """
    code = python_source(source)
    if code is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    return None


def may_not_parse(cell: NotebookNode) -> bool:
    """Cells that are meant to fail (nbval's ``raises-exception``) are not parse-checked."""
    return has_tag(cell, RAISES_TAG) or bool(_RAISES_COMMENT.search(cell.get("source", "")))
