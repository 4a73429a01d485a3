"""The dependency check: which names a blank makes that the code after it needs.

A student fills a blank with what its hint asks for. If the lecture's code for the blank
also makes other names that later code reads, the student's version will not make them,
and the lecture breaks far from the blank. So every such name must be in the hint's
``later cells use:`` list (see :mod:`course_tools.live.markers`), or the lecture must
move that code out of the blank.

The rules, kept simple and on the safe side (when unsure, a name counts as needed):

*What a blank makes* -- the names its code binds in the scope it runs in: assignments
(also to tuple and list targets, ``a, *b = ...``), augmented and annotated assignments
(``x: int = 1``; ``x: int`` alone binds nothing), ``def``, ``class``, ``import`` /
``from ... import`` (``import a.b`` binds ``a``), ``for`` and ``with ... as`` targets,
``match`` captures and the walrus ``:=`` (also inside a comprehension). An ``except ... as
e`` target is not made: Python deletes it when its handler ends.
A comprehension's own variables do not leak and bind nothing. At the top level an
assignment to ``obj.attr`` where ``obj`` was made before the blank makes ``obj.attr``.
Inside a class body the blank makes class attributes, named ``Class.attr``.

*What needs them* -- code that runs after the blank and reads a name before rebinding it:

* the rest of the blank's cell and every later code cell of the live twin (dropped cells
  do not run; later blanks count, since the lecture's code for them is what a student
  catching up runs);
* a rebinding kills a name only when it surely runs: at the top level of a cell or
  inside a ``with``; a rebinding inside ``if``/``for``/``while``/``try`` does not, except
  for the code after it in the same block (``if`` with both branches rebinding does);
* a function's body reads its global names when it is *called*: a later mention of the
  function's name (a call, or passing it along) counts as reading every global name its
  body reads, and so on through the functions it mentions. A class counts the same for
  the global names its methods read. Lambdas count as reading at once;
* a blank inside a loop is followed by the rest of the loop body, the loop header and the
  loop body again from its start (the next iteration);
* a blank inside a function is followed only to the end of that function: its names are
  local, and must be listed with ``later lines use:``;
* a class attribute ``C.attr`` made in a class body is needed by any later ``x.attr`` (the
  object is not tracked), and a special method (``__init__``, ``forward`` ...) by any later
  mention of ``C``.

Not followed: attributes set on ``self`` inside methods, names read only inside
``%magic`` lines or strings (``eval``), and ``global`` statements inside functions.

Example:
    >>> import nbformat
    >>> lecture = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("# make the data\\nx = 1\\ny = 2", metadata={"tags": ["live-blank"]}),
    ...     nbformat.v4.new_code_cell("y = 3\\nprint(x + y)")])
    >>> [needs] = blank_needs(lecture)
    >>> needs.makes, [need.name for need in needs.needed], needs.missing
    (('x', 'y'), ['x'], ('x',))
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from nbformat import NotebookNode

from .blanks import Blank, find_blanks, lecture_code_cells
from .markers import is_probe
from .objects import unnamed_in_hint
from .scopes import (
    all_reads,
    block_bindings,
    class_reads,
    expression_reads,
    function_reads,
    region_statements,
    statement_bindings,
    subscript_targets,
    statement_expressions,
    target_names,
)
from .syntax import parse_cell

_SPECIAL = "forward"


@dataclass(frozen=True)
class Need:
    """A name a blank makes that later code reads: ``cell`` is the lecture cell (from 0) of the first read."""

    name: str
    cell: int


@dataclass(frozen=True)
class BlankNeeds:
    """What the dependency check found for one blank."""

    blank: Blank
    makes: tuple[str, ...]
    needed: tuple[Need, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Needed names the hint's ``later cells use:`` list leaves out."""
        listed = set(self.blank.uses.names)
        return tuple(need.name for need in self.needed if need.name not in listed)

    @property
    def not_made(self) -> tuple[str, ...]:
        """Names the hint lists that the blank does not make (a typo, or code outside the blank)."""
        made = set(self.makes)
        return tuple(
            name for name in self.blank.uses.names
            if name not in made and name.split(".")[0] not in made
        )


# --------------------------------------------------------------------------------------
# Following the code after a blank
# --------------------------------------------------------------------------------------


class _Flow:
    """Walks code in the order it runs and notes the first read of each watched name.

    ``killed`` is the set of watched names rebound since the blank (their later reads
    do not see the blank's value). Reads count only once the walk has passed the blank
    (``active``); statements of the blank itself are recognised by identity.
    """

    def __init__(self, watched: set[str], summaries: dict[str, set[str]], blank_statements: list[ast.stmt]):
        self.watched = watched
        self.summaries = dict(summaries)
        self.blank_ids = {id(stmt) for stmt in blank_statements}
        self.last_blank_id = id(blank_statements[-1]) if blank_statements else None
        self.found: dict[str, int] = {}
        self.cell = -1
        self.active = not blank_statements

    # reads and bindings --------------------------------------------------------------

    def read(self, name: str, killed: set[str], seen: set[str] | None = None) -> None:
        if not self.active:
            return
        if name in self.watched and name not in killed:
            self.found.setdefault(name, self.cell)
        seen = seen if seen is not None else set()
        for inner in self.summaries.get(name, ()):
            if inner not in seen:
                seen.add(inner)
                self.read(inner, killed, seen)

    def read_expression(self, node: ast.AST | None, killed: set[str]) -> None:
        if node is None:
            return
        for name, attribute in expression_reads(node):
            if attribute is None:
                self.read(name, killed)
            elif self.active:
                path = f"{name}.{attribute}"
                if path in self.watched and path not in killed and name not in killed:
                    self.found.setdefault(path, self.cell)

    def bind(self, stmt: ast.stmt, killed: set[str], surely: bool = True) -> set[str]:
        """Record what ``stmt`` binds (function summaries always; kills when it surely runs)."""
        names, attributes = statement_bindings(stmt)
        for name in names:
            self.summaries.pop(name, None)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self.summaries[stmt.name] = function_reads(stmt)
        elif isinstance(stmt, ast.ClassDef):
            self.summaries[stmt.name] = class_reads(stmt)
        if self.active and surely:
            killed = killed | set(names) | set(attributes)
        return killed

    # statements ------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt], killed: set[str]) -> set[str]:
        killed = set(killed)
        for stmt in stmts:
            if id(stmt) in self.blank_ids:
                killed = self.bind(stmt, killed)          # the blank's own code: its reads are the student's
                if id(stmt) == self.last_blank_id and not self.active:
                    self.active, killed = True, set()
                continue
            killed = self.statement(stmt, killed)
        return killed

    def statement(self, stmt: ast.stmt, killed: set[str]) -> set[str]:
        if isinstance(stmt, ast.For | ast.AsyncFor):
            self.read_expression(stmt.iter, killed)
            targets = set(target_names(stmt.target))
            return self.loop(stmt, killed, targets)
        if isinstance(stmt, ast.While):
            self.read_expression(stmt.test, killed)
            return self.loop(stmt, killed, set())
        if isinstance(stmt, ast.If):
            self.read_expression(stmt.test, killed)
            was_active = self.active
            body = self.block(stmt.body, killed)
            if not was_active and self.active:
                return body
            other = self.block(stmt.orelse, killed)
            if not was_active and self.active:
                return other
            return killed | (body & other)
        if isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                self.read_expression(item.context_expr, killed)
                if item.optional_vars is not None:
                    self.read_expression(item.optional_vars, killed)   # obj.attr / x[i] targets read obj, x
                    if self.active:
                        killed = killed | set(target_names(item.optional_vars))
            return self.block(stmt.body, killed)
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            was_active = self.active
            body = self.block(stmt.body, killed)
            for handler in stmt.handlers:
                self.read_expression(handler.type, body)
                self.block(handler.body, body | ({handler.name} if handler.name and self.active else set()))
            after = self.block(stmt.orelse, body)
            return self.block(stmt.finalbody, after if (not was_active and self.active) else killed)
        if isinstance(stmt, ast.Match):
            self.read_expression(stmt.subject, killed)
            for case in stmt.cases:
                self.read_expression(case.pattern, killed)
                self.read_expression(case.guard, killed)
                self.block(case.body, killed)
            return killed
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for expr in [*stmt.decorator_list, *stmt.args.defaults, *stmt.args.kw_defaults]:
                self.read_expression(expr, killed)
            return self.bind(stmt, killed)
        if isinstance(stmt, ast.ClassDef):
            for expr in [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]:
                self.read_expression(expr, killed)
            own = set(block_bindings(stmt.body)[0])
            for name in all_reads([s for s in stmt.body if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]):
                if name not in own:
                    self.read(name, killed)
            return self.bind(stmt, killed)
        # simple statements: everything they read, then what they bind
        if isinstance(stmt, ast.AugAssign):
            self.read_expression(_as_load(stmt.target), killed)
        for expr in statement_expressions(stmt):
            self.read_expression(expr, killed)
        if isinstance(stmt, ast.Delete):
            return killed | {name for target in stmt.targets for name in target_names(target)} if self.active else killed
        return self.bind(stmt, killed, surely=not isinstance(stmt, ast.Expr))  # an Expr binds only by :=

    def loop(self, stmt: ast.For | ast.AsyncFor | ast.While, killed: set[str], targets: set[str]) -> set[str]:
        was_active = self.active
        inside = killed | targets if self.active else killed
        body = self.block(stmt.body, inside)
        if not was_active and self.active:
            # the blank is in this loop: the next iteration runs the header and the body again
            if isinstance(stmt, ast.While):
                self.read_expression(stmt.test, body)
            again = self.block(stmt.body, body | targets)
            after = body & again
            return self.block(stmt.orelse, after)
        self.block(stmt.orelse, killed)
        return killed


def _as_load(target: ast.expr) -> ast.expr:
    """An augmented assignment's target read as a value (``x += 1`` reads ``x``)."""
    return ast.parse(ast.unparse(target), mode="eval").body


# --------------------------------------------------------------------------------------
# One blank, and every blank of a lecture
# --------------------------------------------------------------------------------------


def _owner_node(tree: ast.Module, name: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    """The innermost function or class called ``name`` that spans ``line``."""
    best = None
    for node in ast.walk(tree):
        if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name
                and node.lineno < line <= (node.end_lineno or 0)):
            if best is None or node.lineno > best.lineno:
                best = node
    return best


def _module_summaries(trees: list[tuple[int, ast.Module]]) -> dict[str, set[str]]:
    """Function and class summaries after running these cells (top level, in order)."""
    flow = _Flow(set(), {}, [])
    for _, tree in trees:
        flow.block(tree.body, set())
    return flow.summaries


def _later_attribute_reads(trees: list[tuple[int, ast.Module]], owner: str, attributes: list[str]) -> dict[str, int]:
    """For class attributes: the first later ``x.attr`` (or, for special methods, mention of the class)."""
    found: dict[str, int] = {}
    for cell, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in attributes:
                found.setdefault(f"{owner}.{node.attr}", cell)
            elif isinstance(node, ast.Name) and node.id == owner and isinstance(node.ctx, ast.Load):
                for attribute in attributes:
                    if attribute == _SPECIAL or (attribute.startswith("__") and attribute.endswith("__")):
                        found.setdefault(f"{owner}.{attribute}", cell)
    return found


def analyse_blank(blank: Blank, trees: list[tuple[int, ast.Module]]) -> BlankNeeds:
    """The dependency check for one blank, given the parsed code cells of the live twin (lecture index, tree)."""
    here = next((tree for cell, tree in trees if cell == blank.cell), None)
    if here is None:                                   # the blank's cell does not parse: reported elsewhere
        return BlankNeeds(blank, (), ())
    later = [(cell, tree) for cell, tree in trees if cell > blank.cell]
    if blank.region is None:
        statements, first_line, last_line = here.body, 1, 10**9
    else:
        first_line, last_line = blank.region.start + 2, blank.region.end
        statements, _ = region_statements(here, first_line, last_line)
    if not statements:
        return BlankNeeds(blank, (), ())
    names, attributes = block_bindings(statements)

    if blank.scope == "function":
        owner = _owner_node(here, blank.owner or "", first_line)
        flow = _Flow(set(names), {}, statements)
        flow.cell = blank.cell
        flow.block(owner.body if owner is not None else here.body, set())
        needed = [Need(name, cell) for name, cell in flow.found.items()]
        return BlankNeeds(blank, tuple(names), tuple(needed))

    if blank.scope == "class":
        owner = _owner_node(here, blank.owner or "", first_line)
        made = tuple(f"{blank.owner}.{name}" for name in names)
        rest = [stmt for stmt in (owner.body if owner else []) if stmt.lineno > last_line]
        found: dict[str, int] = {}
        for name in sorted(all_reads(rest) & set(names)):
            found.setdefault(f"{blank.owner}.{name}", blank.cell)
        for name, cell in _later_attribute_reads([(blank.cell, ast.Module(body=rest, type_ignores=[])), *later],
                                                 blank.owner or "", names).items():
            found.setdefault(name, cell)
        return BlankNeeds(blank, made, tuple(Need(name, cell) for name, cell in found.items()))

    before = [(cell, tree) for cell, tree in trees if cell < blank.cell]
    made_before = set(_module_bindings(before)) | set(block_bindings([s for s in here.body if s.lineno < first_line])[0])
    paths = [path for path in attributes if path.split(".")[0] not in names and path.split(".")[0] in made_before]
    filled = [name for name in subscript_targets(statements) if name not in names and name in made_before]
    names = names + filled                             # always[name] = ... fills an object made before the blank
    flow = _Flow(set(names) | set(paths), _module_summaries(before), statements)
    flow.cell = blank.cell
    killed = flow.block(here.body, set())
    for cell, tree in later:
        flow.cell = cell
        killed = flow.block(tree.body, killed)
    needed = sorted(flow.found.items(), key=lambda item: item[1])
    return BlankNeeds(blank, tuple(names + paths), tuple(Need(name, cell) for name, cell in needed))


def _module_bindings(trees: list[tuple[int, ast.Module]]) -> list[str]:
    names: list[str] = []
    for _, tree in trees:
        names += block_bindings(tree.body)[0]
    return names


def twin_trees(lecture: NotebookNode) -> list[tuple[int, ast.Module]]:
    """The parsed code cells the live twin keeps, as ``(lecture cell index, tree)`` (unparsable ones left out)."""
    trees = []
    for index in lecture_code_cells(lecture):
        tree = parse_cell(lecture.cells[index].source)
        if tree is not None:
            trees.append((index, tree))
    return trees


def blank_needs(lecture: NotebookNode) -> list[BlankNeeds]:
    """The dependency check for every blank of a lecture (markers must be valid)."""
    trees = twin_trees(lecture)
    return [analyse_blank(blank, trees) for blank in find_blanks(lecture)]


def hint_warnings(lecture: NotebookNode) -> list[tuple[int, str]]:
    """``(lecture cell index, message)`` for hints that show students what only the self-check needs.

    A call in a ``later cells use:`` list (``output_side(32, 3, 1, 2)``) is a probe of the
    check: it belongs on a ``# live-check:`` line, which the live twin leaves out.
    """
    warnings = []
    for blank in find_blanks(lecture):
        probes = [item for item in blank.uses.items if is_probe(item)]
        if probes:
            names = ", ".join(dict.fromkeys(item.split("(")[0].split(".")[0] for item in probes))
            where = ("right after its '# live-start' line" if blank.region is not None
                     else "among the cell's leading comment lines")
            warnings.append((blank.cell, (
                f"blank {blank.number}: its hint shows students the self-check's call(s) {', '.join(probes)}; "
                f"list only names there (later ... use: {names}) and move the calls to a line "
                f"'# live-check: {', '.join(probes)}' {where}, which the live twin leaves out.")))
    return warnings


def needs_problems(lecture: NotebookNode) -> list[tuple[int, str]]:
    """``(lecture cell index, message)`` for every blank whose hint does not list what later code needs.

    Also reported: a ``later cells use:`` list that cannot be read, and listed names the
    blank does not make.
    """
    problems: list[tuple[int, str]] = []
    for needs in blank_needs(lecture):
        blank = needs.blank
        label = f"blank {blank.number}" + (f" (inside {blank.owner})" if blank.scope != "module" else "")
        if blank.uses.problem:
            problems.append((blank.cell, f"{label}: {blank.uses.problem}"))
            continue
        if needs.missing:
            where = {need.name: need.cell for need in needs.needed}
            listed = ", ".join(f"{name} (cell {where[name] + 1})" for name in needs.missing)
            wanted = ", ".join([*blank.uses.items, *needs.missing])
            phrase = "later lines use" if blank.scope == "function" else "later cells use"
            problems.append((
                blank.cell,
                f"{label} makes names that later code reads, but its hint does not list them: {listed}. "
                f'End the hint with "— {phrase}: {wanted}", or move that code out of the blank.',
            ))
        for need in unnamed_in_hint(blank.hint_text, list(blank.needs)):
            what = (f"the class {need.of}" if need.of[:1].isupper() else f"`{need.of}`")
            if need.kind == "attribute":
                problems.append((blank.cell, (
                    f"{label} makes {what}, and cell {need.cell + 1} reads {need.read} on it, but the hint does not "
                    f"name self.{need.name}: say in the hint what the class calls it (e.g. \"... self.{need.name} ...\"), "
                    "so that a student's version works in the later cells too.")))
            else:
                problems.append((blank.cell, (
                    f"{label}: cell {need.cell + 1} calls {need.read}, but the hint does not name the argument "
                    f"{need.name}: say in the hint that {need.of} takes it (e.g. \"{need.of}({need.name}=...)\").")))
        if needs.not_made:
            problems.append((
                blank.cell,
                f"{label}: the hint lists {', '.join(needs.not_made)}, but the blank's code does not make "
                f"{'it' if len(needs.not_made) == 1 else 'them'}; the blank makes: {', '.join(needs.makes) or 'nothing'}.",
            ))
    return problems
