"""The blanks of a lecture: where they are, what they hide, and how a checked live twin shows them.

Blanks are numbered from 1 in the order they appear in the lecture (whole ``live-blank``
cells and ``# live-start`` regions alike; dropped cells do not count). Students see the
number in the live twin and in every message: ``blank 2 of 03-logistic-regression``.

In the live twin of a *checked* lecture (``[tool.course_utils.live] checked`` in
pyproject.toml) a blank is its hint and one line that raises a clear error until the
student replaces it::

    # write the training steps — later cells use: loss, scores
    cu.blank("03-logistic-regression", 2)

and when the hint lists names, one check line follows -- right after the region when
the region is at the top level of its cell, after the whole top-level statement (a loop,
a ``with`` block, a class) that holds it otherwise, and in a cell of its own after a
``live-blank`` cell::

    cu.check("03-logistic-regression", 2)

A blank inside a function body makes only local names, so it gets no check line; the
function can still be defined, and calling it raises the blank's message.

Example:
    >>> import nbformat
    >>> lecture = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "x = 1\\n# live-start: double x — later cells use: y\\ny = 2 * x\\n# live-end\\nprint(y)")])
    >>> [blank] = find_blanks(lecture)
    >>> blank.number, blank.scope, blank.uses.items, blank.code
    (1, 'module', ('y',), 'y = 2 * x')
    >>> print(checked_cell_source(lecture.cells[0].source, [blank], "01-demo"))
    x = 1
    # double x — later cells use: y
    cu.blank("01-demo", 1)
    cu.check("01-demo", 1)
    print(y)
"""
from __future__ import annotations

import ast
import hashlib
import json
import textwrap
from dataclasses import dataclass

from nbformat import NotebookNode

from .colab import is_stamped
from .markers import (
    BLANK_TAG,
    DROP_TAG,
    Region,
    UsesList,
    cell_hint,
    find_regions,
    has_tag,
    is_nbval_comment,
    parse_uses,
    region_code,
    remove_markers,
)
from .syntax import parse_cell

FORMAT = 1
"""Version of the solution and check files; a change makes every recorded check stale."""


@dataclass(frozen=True)
class Blank:
    """One blank of a lecture.

    ``cell`` is the index of its lecture cell (from 0); ``region`` is None for a whole
    ``live-blank`` cell. ``scope`` says where the hidden code runs: ``"module"`` (the top
    level of the notebook), ``"function"`` (inside the function ``owner``) or ``"class"``
    (in the body of the class ``owner``). ``check_after`` is the lecture line (from 0)
    after which a region's check line goes.
    """

    number: int
    cell: int
    region: Region | None
    hint: tuple[str, ...]
    code: str
    uses: UsesList
    scope: str
    owner: str | None
    check_after: int | None

    @property
    def kind(self) -> str:
        """``"cell"`` or ``"region"``."""
        return "cell" if self.region is None else "region"

    @property
    def needs_check(self) -> bool:
        """True when the live twin gets a ``cu.check(...)`` line after this blank."""
        return bool(self.uses.items) and self.scope != "function"

    @property
    def hint_text(self) -> str:
        """The hint as one line of text, without the ``#`` signs."""
        return " ".join(line.lstrip("#").strip() for line in self.hint).strip()


def _enclosing(tree: ast.Module, line: int) -> tuple[str, str | None, ast.stmt | None]:
    """Scope, owner name and top-level statement around the (1-based) ``line`` of a cell."""
    scope, owner = "module", None
    top = next((stmt for stmt in tree.body if stmt.lineno < line <= (stmt.end_lineno or stmt.lineno)), None)
    if top is None:
        return scope, owner, None
    best_depth = -1
    stack: list[tuple[ast.AST, int]] = [(top, 0)]
    while stack:
        node, depth = stack.pop()
        inside = getattr(node, "lineno", 0) < line <= (getattr(node, "end_lineno", 0) or 0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and inside and depth > best_depth:
            scope = "class" if isinstance(node, ast.ClassDef) else "function"
            owner, best_depth = node.name, depth
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))
    return scope, owner, top


def _region_place(source: str, region: Region) -> tuple[str, str | None, int]:
    """Where a region's code runs (scope, owner) and the line after which its check goes."""
    tree = parse_cell(source)
    if tree is None:                      # does not parse: --check reports it elsewhere
        return "module", None, region.end
    scope, owner, top = _enclosing(tree, region.start + 1)
    after = region.end if top is None else max(region.end, (top.end_lineno or top.lineno) - 1)
    return scope, owner, after


def lecture_code_cells(lecture: NotebookNode) -> list[int]:
    """Indices of the lecture's code cells that the live twin keeps (not dropped, not stamped)."""
    return [
        index for index, cell in enumerate(lecture.cells)
        if cell.cell_type == "code" and not has_tag(cell, DROP_TAG) and not is_stamped(cell)
    ]


def find_blanks(lecture: NotebookNode) -> list[Blank]:
    """Every blank of a lecture, numbered from 1 (the markers must be valid: see ``lint_notebook``)."""
    blanks: list[Blank] = []
    for index in lecture_code_cells(lecture):
        cell = lecture.cells[index]
        if has_tag(cell, BLANK_TAG):
            hint = tuple(cell_hint(cell))
            blanks.append(Blank(len(blanks) + 1, index, None, hint, cell.source, parse_uses(hint),
                                "module", None, None))
            continue
        for region in find_regions(cell.source):
            scope, owner, after = _region_place(cell.source, region)
            hint = (region.hint,)
            blanks.append(Blank(len(blanks) + 1, index, region, hint, region_code(cell.source, region),
                                parse_uses(hint), scope, owner, after))
    return blanks


# --------------------------------------------------------------------------------------
# The lines a checked live twin shows
# --------------------------------------------------------------------------------------


def blank_call(stem: str, number: int) -> str:
    """``cu.blank("03-logistic-regression", 2)``: the line a student replaces by code."""
    return f'cu.blank("{stem}", {number})'


def check_call(stem: str, number: int) -> str:
    """``cu.check("03-logistic-regression", 2)``: compares what the blank made with the lecture."""
    return f'cu.check("{stem}", {number})'


def checked_blank_cell_source(blank: Blank, stem: str) -> str:
    """The live source of a whole ``live-blank`` cell: its hint and the blank line."""
    return "\n".join([*blank.hint, blank_call(stem, blank.number)])


def checked_cell_source(source: str, blanks: list[Blank], stem: str) -> str:
    """The live source of a cell with regions: each region becomes hint + blank line, plus check lines."""
    by_start = {blank.region.start: blank for blank in blanks if blank.region is not None}
    checks: dict[int, list[str]] = {}
    for blank in blanks:
        if blank.region is not None and blank.needs_check and blank.check_after is not None:
            checks.setdefault(blank.check_after, []).append(check_call(stem, blank.number))
    out: list[str] = []
    skip_until = -1
    for number, line in enumerate(source.split("\n")):
        if number in by_start:
            blank = by_start[number]
            indent = blank.region.indent  # type: ignore[union-attr]
            out.extend([indent + blank.hint[0], indent + blank_call(stem, blank.number)])
            skip_until = blank.region.end  # type: ignore[union-attr]
        elif number > skip_until:
            out.append(line)
        out.extend(checks.get(number, []))
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# What the tool stores about each blank
# --------------------------------------------------------------------------------------


def runnable_source(source: str) -> str:
    """A lecture cell as catch-up runs it: live markers and ``# NBVAL_...`` lines removed."""
    return "\n".join(line for line in remove_markers(source).split("\n") if not is_nbval_comment(line))


def _dotted_call(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_call(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def made_by(code: str, name: str) -> str:
    """How the lecture's code makes ``name``, as the end of the sentence "the blank above should ...".

    Example:
        >>> made_by("history = cu.train(model, loader)", "history")
        'keep what `cu.train(...)` returns as `history`'
        >>> made_by("class Net:\\n    pass", "Net")
        'define the class `Net`'
    """
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return f"make `{name}`"
    phrase = f"make `{name}`"
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            phrase = f"define the class `{name}`"
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            phrase = f"define the function `{name}`"
        elif isinstance(stmt, ast.Import | ast.ImportFrom) and any(
            (alias.asname or alias.name.split(".")[0]) == name for alias in stmt.names
        ):
            phrase = f"import `{name}`"
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                callee = _dotted_call(stmt.value.func) if isinstance(stmt.value, ast.Call) else None
                phrase = f"keep what `{callee}(...)` returns as `{name}`" if callee else f"set `{name}`"
    return phrase


def fingerprint(lecture: NotebookNode, blank: Blank) -> str:
    """A hash of everything that decides the values a blank's check records.

    That is the code of every code cell the live twin keeps, up to and including the
    blank's cell, and the hint's list. Editing any of it makes the recorded check stale.
    """
    cells = [lecture.cells[index].source for index in lecture_code_cells(lecture) if index <= blank.cell]
    payload = json.dumps([FORMAT, blank.number, cells, list(blank.uses.items)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def solutions_data(lecture: NotebookNode, stem: str) -> dict:
    """What catch-up, ``cu.blank`` and the filled twin need to know about every blank of a lecture.

    Generated from the lecture by ``python -m course_tools.live`` and shipped as package
    data (``course_utils/live/data/solutions/<stem>.json``).
    """
    blanks = []
    for blank in find_blanks(lecture):
        placeholders = [item for item in blank.uses.items if item.isidentifier()] if blank.scope == "module" else []
        blanks.append({
            "number": blank.number,
            "cell": blank.cell + 1,
            "kind": blank.kind,
            "scope": blank.scope,
            "owner": blank.owner,
            "hint": blank.hint_text,
            "uses": list(blank.uses.items),
            "placeholders": placeholders,
            "made_by": {name: made_by(blank.code, name) for name in blank.uses.names if "." not in name},
            "code": blank.code,
            "cell_code": runnable_source(lecture.cells[blank.cell].source),
            "check": blank.needs_check,
            "fingerprint": fingerprint(lecture, blank),
        })
    return {"format": FORMAT, "lecture": stem, "generated_by": "python -m course_tools.live", "blanks": blanks}
