"""``cu.catch_up(lecture, blank)``: a student who fell behind gets the lecture's code for a blank in one step.

It runs the lecture's code for the cell that holds the blank -- the whole cell, as the
lecture notebook has it -- in the notebook's namespace, so every name the blank makes
(and everything else the cell does) is there afterwards, and it shows that code:

* in JupyterLab (and Jupyter Notebook) the cell you typed ``cu.catch_up(...)`` into is
  replaced by the lecture's code, with a first comment line saying where it came from
  (IPython's ``set_next_input(..., replace=True)``, the mechanism of the ``%load`` magic);
* in Google Colab, which does not take such requests from the kernel, and anywhere else,
  the code is printed below the cell instead.

Nothing changes for anybody else: the solutions ship inside the package
(``course_utils/live/data/solutions``) and appear only in the notebook of the student
who asks. For a blank inside a function the cell defines the function again; run the
cell that stopped once more afterwards.

This module uses only the standard library (IPython when it runs in IPython).

Example (in a live notebook, in a new cell)::

    cu.catch_up("03-logistic-regression", 2)
"""
from __future__ import annotations

import ast
import linecache
import sys
import textwrap
from collections.abc import Mapping
from typing import Any

from .packagedata import check_lecture_and_blank, load_solutions
from .placeholders import BlankNotFilled
from .selfcheck import notebook_namespace


def _shell():
    if "IPython" not in sys.modules:
        return None
    return sys.modules["IPython"].get_ipython()


def run_cell_code(code: str, namespace: Mapping[str, Any], filename: str, shell=None) -> Any:
    """Run notebook-cell code in ``namespace`` and return the value of its last expression (or None).

    IPython syntax (``%magic``) is translated by ``shell`` when given. Tracebacks show the code's lines.

    Example:
        >>> namespace = {}
        >>> run_cell_code("x = 2\\nx * 21", namespace, "<demo>")
        42
        >>> namespace["x"]
        2
    """
    source = shell.transform_cell(code) if shell is not None else code
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - the lecture's own code
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), filename, "eval"), namespace)  # noqa: S307


def catch_up(lecture: str, blank: int, *, namespace: Mapping[str, Any] | None = None, run: bool = True) -> None:
    """Run (and show) the lecture's code for blank ``blank`` of ``lecture``, to catch up with the class.

    ``namespace`` is where to run it (default: the notebook's variables, as for
    :func:`course_utils.live.selfcheck.check`); ``run=False`` only shows the code.
    Every live twin's blanks say how to use it (lecture 01's twin is the first).
    """
    check_lecture_and_blank(lecture, blank, "cu.catch_up")
    if not isinstance(run, bool):
        raise TypeError(f"run should be True or False, got {run!r}.")
    data = load_solutions(lecture)
    if data is None:
        raise ValueError(
            f"No solutions for the lecture {lecture!r} are installed. Check the name (it is the one in the "
            "cu.check lines of the live notebook); in Colab, run the install cell at the top again to get "
            "the current course_utils."
        )
    numbers = [entry["number"] for entry in data["blanks"]]
    solution = next((entry for entry in data["blanks"] if entry["number"] == blank), None)
    if solution is None:
        raise ValueError(f"{lecture} has blanks {numbers[0]} to {numbers[-1]}, got blank={blank}." if numbers
                         else f"{lecture} has no blanks.")
    names = notebook_namespace(namespace)
    code = solution["cell_code"]
    shell = _shell() if namespace is None else None
    header = f"# blank {blank} of {lecture}, as the lecture writes it (cu.catch_up ran it)"
    again = " Then run the cell that stopped again." if solution.get("scope") == "function" else ""
    if shell is not None and "google.colab" not in sys.modules and hasattr(shell, "set_next_input"):
        shell.set_next_input(f"{header}\n{code}", replace=True)
        print(f"Catching up on blank {blank} of {lecture}: running the lecture's code, which now "
              f"replaces the code of this cell.{again}")
    else:
        print(f"Catching up on blank {blank} of {lecture}: running the lecture's code for it:{again}")
        print(textwrap.indent(code, "    "))
        print()
    if not run:
        return
    try:
        value = run_cell_code(code, names, f"<cu.catch_up {lecture} blank {blank}>", shell)
    except (BlankNotFilled, NameError) as error:
        if blank > 1:
            error.add_note(f"An earlier blank may not be filled in yet: catch up on it first, "
                           f'e.g. cu.catch_up("{lecture}", {blank - 1}).')
        raise
    if value is not None:
        if shell is not None:
            from IPython.display import display  # noqa: PLC0415 - only inside IPython
            display(value)
        else:
            print(repr(value))
