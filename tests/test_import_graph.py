"""The import graph of ``course_utils`` (what students read) and ``course_tools`` (what instructors run).

The graph is built from the source with ``ast``, not by importing anything, and it counts every
import: at the top of a module and inside functions (a lazy import is still a dependency; the
circle ``inspection → training → widgets → inspection`` that this test was written against
had two lazy legs). Two rules:

- ``course_utils`` never imports ``course_tools``: the students' package installs and works without it;
- no module imports, directly or through others, a module that imports it back (no circles). An
  import of the package itself (``import course_utils`` inside ``course_utils``) is a circle too:
  the package's ``__init__`` imports its modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("course_utils", "course_tools")


def module_name(path: Path) -> str:
    """``course_utils/live/selfcheck.py`` -> ``course_utils.live.selfcheck``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the two packages, by its dotted name."""
    return {module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of import nodes inside ``if TYPE_CHECKING:`` blocks (they never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the two packages that module ``name`` (at ``path``) imports, anywhere in its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: from .x import y, from .. import z
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {target for target in found if target in known and target != name}


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of the two packages it imports."""
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (``[a, b, ..., a]``) through each group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:   # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle_through(group, graph) for group in groups]


def _circle_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & set(group)):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no circle in {group}")


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


# ---------------------------------------------------------------------------------------------------------


def test_the_graph_sees_top_level_lazy_and_relative_imports():
    """The graph is not empty by accident: it holds edges of each kind of import."""
    graph = import_graph()
    assert "course_utils.checks" in graph["course_utils.training"]                 # from course_utils import checks
    assert "course_utils.live.catchup" in graph["course_utils.live"]               # from .catchup import catch_up
    assert "course_utils.live.selfcheck" in graph["course_tools.live.recording"]   # the tool uses the runtime
    assert "course_tools.live.cli" in graph["course_tools.live.__main__"]


def test_the_cycle_finder_finds_a_circle_through_a_lazy_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_course_utils_never_imports_course_tools():
    graph = import_graph()
    upward = sorted(f"{source} imports {target}" for source, targets in graph.items()
                    if in_package(source, "course_utils") for target in targets if in_package(target, "course_tools"))
    assert upward == [], "the students' package must not need the instructors' tools:\n" + "\n".join(upward)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_a_module_that_imports_it_back(package):
    graph = import_graph()
    inside = {name: {t for t in targets if in_package(t, package)}
              for name, targets in graph.items() if in_package(name, package)}
    found = [" → ".join(circle) for circle in cycles(inside)]
    assert found == [], f"import circles in {package}:\n" + "\n".join(found)
