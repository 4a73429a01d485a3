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
who asks. For a blank inside a function it defines the function as the lecture does and
runs the rest of that cell too, so the student goes on with the next cell (or runs again a
later cell that stopped when it called the function). For a blank that defines a class,
objects made from the student's earlier class (``model = LogisticRegression()`` in a later
cell) are still of the old class: the student is told which ones to make again.

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

from course_utils import checks

from .packagedata import check_lecture_and_blank
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


def _class_names(code: str) -> list[str]:
    """The classes a cell's code defines at its top level."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [stmt.name for stmt in tree.body if isinstance(stmt, ast.ClassDef)]


def made_from_old_classes(old: Mapping[str, type], names: Mapping[str, Any]) -> list[str]:
    """The notebook's variables that are objects of a replaced class, and optimizers of their parameters.

    Example:
        >>> class Net:
        ...     pass
        >>> made_from_old_classes({"Net": Net}, {"model": Net(), "other": 3, "_": Net()})
        ['model']
    """
    stale = []
    objects = []
    for name, value in list(names.items()):
        if name.startswith("_") or name in ("In", "Out") or type(value).__name__ == "Unfilled":
            continue
        if any(type(value) is cls or (not isinstance(value, type) and isinstance(value, cls)) for cls in old.values()):
            stale.append(name)
            objects.append(value)
    torch = sys.modules.get("torch")
    if torch is not None and objects:
        ours = {id(p) for value in objects if isinstance(value, torch.nn.Module) for p in value.parameters()}
        for name, value in list(names.items()):
            if (isinstance(value, torch.optim.Optimizer) and not name.startswith("_")
                    and any(id(p) in ours for group in value.param_groups for p in group["params"])):
                stale.append(name)
    return stale


def catch_up(lecture: str, blank: int, *, namespace: Mapping[str, Any] | None = None, run: bool = True) -> None:
    """Run (and show) the lecture's code for blank ``blank`` of ``lecture``, to catch up with the class.

    ``namespace`` is where to run it (default: the notebook's variables, as for
    :func:`course_utils.live.selfcheck.check`); ``run=False`` only shows the code.
    Every live twin's blanks say how to use it (lecture 01's twin is the first). A
    lecture or blank that does not exist is refused before anything runs.
    """
    data = check_lecture_and_blank(lecture, blank, "cu.catch_up")
    if not isinstance(run, bool):
        raise checks.refusal(TypeError, "cu.catch_up", "run", "True or False", repr(run),
                             "run=False only shows the lecture's code.")
    solution = next(entry for entry in data["blanks"] if entry["number"] == blank)
    names = notebook_namespace(namespace)
    code = solution["cell_code"]
    shell = _shell() if namespace is None else None
    header = f"# blank {blank} of {lecture}, as the lecture writes it (cu.catch_up ran it)"
    after = ""
    if solution.get("scope") == "function" and run:
        owner = solution.get("owner") or "the function"
        after = (f" It runs the whole cell, so {owner} is defined as the lecture's and the rest of that cell ran too: "
                 f"go on with the next cell. (If a later cell stopped when it called {owner}, run that cell again.)")
    if shell is not None and "google.colab" not in sys.modules and hasattr(shell, "set_next_input"):
        shell.set_next_input(f"{header}\n{code}", replace=True)
        print(f"Catching up on blank {blank} of {lecture}: running the lecture's code, which now "
              f"replaces the code of this cell.{after}")
    else:
        print(f"Catching up on blank {blank} of {lecture}: running the lecture's code for it:{after}")
        print(textwrap.indent(code, "    "))
        print()
    if not run:
        return
    old_classes = {name: names[name] for name in _class_names(code) if isinstance(names.get(name), type)}
    try:
        value = run_cell_code(code, names, f"<cu.catch_up {lecture} blank {blank}>", shell)
    except (BlankNotFilled, NameError) as error:
        if blank > 1:
            note = (f"An earlier blank may not be filled in yet: catch up on it first, "
                    f'e.g. cu.catch_up("{lecture}", {blank - 1}).')
            error.__notes__ = [*getattr(error, "__notes__", []), note]     # error.add_note, also on Python 3.10
        raise
    replaced = {name: cls for name, cls in old_classes.items() if names.get(name) is not cls}
    stale = made_from_old_classes(replaced, names)
    if stale:
        classes = " and ".join(replaced)
        print(f"Made from your earlier {classes}, so still the old kind: {', '.join(stale)}. Run the cells that "
              f"make {'it' if len(stale) == 1 else 'them'} again (e.g. {stale[0]} = {next(iter(replaced))}(...)), "
              "so that they use the lecture's class.")
    if value is not None:
        if shell is not None:
            from IPython.display import display  # noqa: PLC0415 - only inside IPython
            display(value)
        else:
            print(repr(value))
