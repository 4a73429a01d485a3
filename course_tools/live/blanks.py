"""The blanks of a lecture: where they are, what they hide, and how a checked live twin shows them.

Blanks are numbered from 1 in the order they appear in the lecture (whole ``live-blank``
cells and ``# live-start`` regions alike; dropped cells do not count). Students see the
number in the live twin and in every message: ``blank 2 of 03-logistic-regression``.

In the live twin of a *checked* lecture (``[tool.course_utils.live] checked`` in
pyproject.toml) a blank is its hint and one line that raises a clear error until the
student replaces it::

    # write the training steps — later cells use: loss, scores
    cu.blank("03-logistic-regression", 2)

and when the hint lists names (or a ``# live-check:`` line gives calls to compare), one
check line follows -- right after the region when the region is at the top level of its
cell, after the whole top-level statement (a loop, a ``with`` block, a class) that holds
it otherwise, and in a cell of its own after a ``live-blank`` cell::

    cu.check("03-logistic-regression", 2)

A blank inside a function body makes only local names: the function can still be
defined, and calling it raises the blank's message. Its check goes where the function's
result first appears (:func:`find_call_site`): after the first statement of the lecture
that calls the function -- ``history = train_model(...)`` is checked through ``history``,
``print(max_pool(A))`` through the call ``max_pool(A)`` itself when its inputs are fixed
(built from literals, so the check may call it again).

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
from dataclasses import dataclass, replace

from nbformat import NotebookNode

from .colab import is_stamped
from .markers import (
    BLANK_TAG,
    DROP_TAG,
    Region,
    UsesList,
    cell_hint,
    dotted_name,
    find_regions,
    has_tag,
    is_check_line,
    is_nbval_comment,
    leading_check_lines,
    parse_check_items,
    parse_uses,
    region_check_lines,
    region_code,
    remove_markers,
)
from .objects import ObjectNeed, object_needs
from .scopes import block_bindings, region_statements
from .syntax import parse_cell

FORMAT = 2
"""Version of the solution and check files; a change makes every recorded check stale."""


@dataclass(frozen=True)
class CallSite:
    """Where the result of a function holding a blank first appears: the check of that blank goes there.

    ``cell`` is the lecture cell (from 0), ``after`` the line (from 0) after which the check line
    goes, ``items`` what it compares (the names the call's result is kept in, or the call itself),
    ``exact`` those compared closely (results of fixed inputs), ``statement`` the lecture's line.
    """

    cell: int
    after: int
    items: tuple[str, ...]
    exact: tuple[str, ...]
    statement: str


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
    probes: UsesList = UsesList()
    call_site: CallSite | None = None
    needs: tuple[ObjectNeed, ...] = ()

    @property
    def kind(self) -> str:
        """``"cell"`` or ``"region"``."""
        return "cell" if self.region is None else "region"

    @property
    def check_items(self) -> tuple[str, ...]:
        """What the check after this blank compares: the hint's list and the ``# live-check:`` calls,
        or, for a blank inside a function, the function's result where it first appears."""
        if self.scope == "function":
            return self.call_site.items if self.call_site else ()
        return tuple(dict.fromkeys([*self.uses.items, *self.probes.items]))

    @property
    def needs_check(self) -> bool:
        """True when the live twin gets a ``cu.check(...)`` line for this blank."""
        return bool(self.check_items)

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
            code = "\n".join(line for line in cell.source.split("\n") if not is_check_line(line))
            blank = Blank(len(blanks) + 1, index, None, hint, code, parse_uses(hint), "module", None, None,
                          parse_check_items(leading_check_lines(cell.source)))
            blanks.append(_with_needs(lecture, blank))
            continue
        for region in find_regions(cell.source):
            scope, owner, after = _region_place(cell.source, region)
            hint = (region.hint,)
            blank = Blank(len(blanks) + 1, index, region, hint, region_code(cell.source, region), parse_uses(hint),
                          scope, owner, after, parse_check_items(region_check_lines(cell.source, region)))
            blanks.append(_with_needs(lecture, blank))
    return blanks


def blank_statements(lecture: NotebookNode, blank: Blank) -> list[ast.stmt]:
    """The statements of the lecture's code for a blank (parsed in its cell; empty if the cell does not parse)."""
    tree = parse_cell(lecture.cells[blank.cell].source)
    if tree is None:
        return []
    if blank.region is None:
        return tree.body
    return region_statements(tree, blank.region.start + 2, blank.region.end)[0]


def _later_statements(lecture: NotebookNode, blank: Blank) -> list[tuple[int, list[ast.stmt]]]:
    """The code that runs after a blank, as (lecture cell, top-level statements): the rest of its cell, later cells."""
    after = []
    for index in lecture_code_cells(lecture):
        if index < blank.cell:
            continue
        tree = parse_cell(lecture.cells[index].source)
        if tree is None:
            continue
        if index == blank.cell:
            if blank.region is None:
                continue
            after.append((index, [stmt for stmt in tree.body if stmt.lineno > blank.region.end + 1]))
        else:
            after.append((index, tree.body))
    return after


def _with_needs(lecture: NotebookNode, blank: Blank) -> Blank:
    """The blank with what later code needs from its objects (module scope) or its call site (function scope)."""
    if blank.scope == "module":
        needs = tuple(object_needs(blank_statements(lecture, blank), _later_statements(lecture, blank)))
        return replace(blank, needs=needs) if needs else blank
    if blank.scope == "function":
        site = find_call_site(lecture, blank)
        return replace(blank, call_site=site) if site else blank
    return blank


# --------------------------------------------------------------------------------------
# Where a function's result first appears
# --------------------------------------------------------------------------------------


def _literal_names(statements: list[ast.stmt], known: set[str], modules: set[str]) -> None:
    """Follow top-level statements: ``modules`` gets imported names, ``known`` names built only from literals."""
    for stmt in statements:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            modules |= {alias.asname or alias.name.split(".")[0] for alias in stmt.names}
            continue
        bound, _ = block_bindings([stmt])
        fixed = (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                 and _is_fixed(stmt.value, known, modules))
        known -= set(bound)
        if fixed:
            known.add(stmt.targets[0].id)  # type: ignore[union-attr]


def _is_fixed(node: ast.expr, known: set[str], modules: set[str]) -> bool:
    """True for an expression built from literals (and names that are): ``np.array([[0, 1], [2, 3]])``, ``X``."""
    names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    return all(name in known or name in modules for name in names)


def _calls_of(stmt: ast.stmt, function: str) -> list[ast.Call]:
    return [n for n in ast.walk(stmt) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == function]


def find_call_site(lecture: NotebookNode, blank: Blank) -> CallSite | None:
    """Where the result of the function holding ``blank`` first appears (None: no check for it).

    The function must be defined at the top level of the blank's cell (not a method). The
    first later top-level statement that calls it -- further down the same cell, or in a
    later cell the live twin keeps (not a ``live-blank`` cell, not inside a region) -- is
    the place: ``result = f(...)`` gives the check item ``result`` (compared closely when
    every argument is built from literals); any other statement gives the call ``f(A)``
    itself when its inputs are fixed, and no check otherwise.
    """
    if blank.owner is None:
        return None
    known: set[str] = set()
    modules: set[str] = set()
    for index in lecture_code_cells(lecture):
        cell = lecture.cells[index]
        tree = parse_cell(cell.source)
        if tree is None:
            continue
        statements = tree.body
        if index == blank.cell:
            owner = next((stmt for stmt in tree.body if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                          and stmt.name == blank.owner
                          and stmt.lineno <= blank.region.start < (stmt.end_lineno or 0)), None)  # type: ignore[union-attr]
            if owner is None:
                return None                                # a method, or a nested function: no place to check
            _literal_names([stmt for stmt in tree.body if stmt.lineno < owner.lineno], known, modules)
            statements = [stmt for stmt in tree.body if stmt.lineno > (owner.end_lineno or owner.lineno)]
        elif index < blank.cell:
            _literal_names(tree.body, known, modules)
            continue
        if has_tag(cell, BLANK_TAG):
            continue
        regions = find_regions(cell.source)
        for stmt in statements:
            inside_region = any(region.start < stmt.lineno <= region.end + 1 for region in regions)
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == blank.owner:
                return None                                # defined again: the blank's version is gone
            calls = [] if inside_region else _calls_of(stmt, blank.owner)
            if calls:
                return _site(index, stmt, calls[0], known, modules)
            _literal_names([stmt], known, modules)
    return None


def _site(index: int, stmt: ast.stmt, call: ast.Call, known: set[str], modules: set[str]) -> CallSite | None:
    fixed = all(_is_fixed(arg, known, modules) for arg in [*call.args, *(k.value for k in call.keywords)])
    after = (stmt.end_lineno or stmt.lineno) - 1
    if (isinstance(stmt, ast.Assign) and stmt.value is call
            and all(isinstance(target, ast.Name) for target in stmt.targets)):
        names = tuple(target.id for target in stmt.targets)  # type: ignore[attr-defined]
        return CallSite(index, after, names, names if fixed else (), ast.unparse(stmt))
    if fixed:
        return CallSite(index, after, (ast.unparse(call),), (), ast.unparse(stmt))
    return None


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


def checked_cell_source(source: str, blanks: list[Blank], stem: str,
                        call_sites: list[Blank] | None = None) -> str:
    """The live source of a cell with regions: each region becomes hint + blank line, plus check lines.

    ``call_sites`` are blanks (of this cell or an earlier one) inside a function whose result
    first appears in this cell: their check lines go after that statement.
    """
    by_start = {blank.region.start: blank for blank in blanks if blank.region is not None}
    checks: dict[int, list[str]] = {}
    for blank in blanks:
        if blank.region is not None and blank.scope != "function" and blank.needs_check and blank.check_after is not None:
            checks.setdefault(blank.check_after, []).append(check_call(stem, blank.number))
    for blank in call_sites or []:
        checks.setdefault(blank.call_site.after, []).append(check_call(stem, blank.number))  # type: ignore[union-attr]
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
                callee = dotted_name(stmt.value.func) if isinstance(stmt.value, ast.Call) else None
                phrase = f"keep what `{callee}(...)` returns as `{name}`" if callee else f"set `{name}`"
    return phrase


def fingerprint(lecture: NotebookNode, blank: Blank) -> str:
    """A hash of everything that decides the values a blank's check records.

    That is the code of every code cell the live twin keeps, up to and including the
    blank's cell (or the cell where its check goes, if later), and what the check compares.
    Editing any of it makes the recorded check stale.
    """
    last = max(blank.cell, blank.call_site.cell if blank.call_site else blank.cell)
    cells = [lecture.cells[index].source for index in lecture_code_cells(lecture) if index <= last]
    payload = json.dumps([FORMAT, blank.number, cells, list(blank.check_items)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def solutions_data(lecture: NotebookNode, stem: str) -> dict:
    """What catch-up, ``cu.blank`` and the filled twin need to know about every blank of a lecture.

    Generated from the lecture by ``python -m course_tools.live`` and shipped as package
    data (``course_utils/live/data/solutions/<stem>.json``).
    """
    blanks = []
    for blank in find_blanks(lecture):
        placeholders = []
        if blank.scope == "module":
            bound = set(block_bindings(blank_statements(lecture, blank))[0])
            placeholders = [item for item in blank.uses.items if item.isidentifier() and item in bound]
        makers = {name: made_by(blank.code, name) for name in blank.uses.names if "." not in name}
        site = blank.call_site
        if site:
            makers.update({name: made_by(site.statement, name) for name in site.items if name.isidentifier()})
        blanks.append({
            "number": blank.number,
            "cell": blank.cell + 1,
            "kind": blank.kind,
            "scope": blank.scope,
            "owner": blank.owner,
            "hint": blank.hint_text,
            "uses": list(blank.uses.items),
            "check_items": list(blank.check_items),
            "exact": list(site.exact) if site else [],
            "check_at": {"cell": site.cell + 1, "after": site.statement} if site else None,
            "needs": [need.as_json() for need in blank.needs],
            "placeholders": placeholders,
            "made_by": makers,
            "code": blank.code,
            "cell_code": runnable_source(lecture.cells[blank.cell].source),
            "check": blank.needs_check,
            "fingerprint": fingerprint(lecture, blank),
        })
    return {"format": FORMAT, "lecture": stem, "generated_by": "python -m course_tools.live", "blanks": blanks}
