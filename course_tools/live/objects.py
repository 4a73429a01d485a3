"""What later cells need from the classes and objects a blank makes: attributes and keyword arguments.

A blank that defines a class hides more than a name. When the lecture's later cells read
``model.linear.weight`` on an object made from that class, or call ``SignConvNet(num_classes=26)``,
a student whose class names its layer ``self.fc``, or whose ``__init__`` takes no
``num_classes``, breaks those cells although the class "works". This module finds such
needs in the lecture's code, without running it:

* the classes the blank defines, and the attributes each defines itself (methods, class
  attributes, and every ``self.x = ...`` in its methods);
* the objects made from them, by the blank (``model = ConvNet().to(device)``) or later
  (``mlp = MLP()``), followed through the cells in order (an object rebound to something
  else is no longer followed);
* every later read ``obj.attr...`` (also ``getattr(obj, "attr")``, and ``getattr(obj, name)``
  in a loop over a list of strings) of an attribute the lecture's class defines itself --
  ``model.parameters()`` is torch's, not the student's business;
* every later call of the class with keyword arguments.

The tool checks that the blank's hint names each of them (``self.linear``,
``num_classes``), and stores them with the solutions, so that ``cu.check`` can say
"`LogisticRegression` has no attribute `linear`; later cells read `model.linear.weight`".

Example:
    >>> import ast
    >>> blank = ast.parse("class Net:\\n    def __init__(self, width=2):\\n        self.fc = width").body
    >>> later = [(5, ast.parse("net = Net(width=3)\\nprint(net.fc, net.parameters())").body)]
    >>> [(need.of, need.kind, need.name, need.read) for need in object_needs(blank, later)]
    [('Net', 'keyword', 'width', 'Net(width=3)'), ('Net', 'attribute', 'fc', 'net.fc')]
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectNeed:
    """One thing later code needs from a class (or object) a blank makes.

    ``of`` is the class or object as the hint lists it (``LogisticRegression``, ``model``);
    ``kind`` is ``"attribute"`` (``path`` is what is read after the object: ``("linear",
    "weight")``) or ``"keyword"`` (``name`` is the argument); ``read`` is the code that needs
    it, for messages; ``cell`` the lecture cell (from 0) of the first such read.
    """

    of: str
    kind: str
    name: str
    path: tuple[str, ...]
    read: str
    cell: int

    def as_json(self) -> dict:
        return {"of": self.of, "kind": self.kind, "name": self.name, "path": list(self.path), "read": self.read,
                "cell": self.cell + 1}


def defined_attributes(node: ast.ClassDef) -> set[str]:
    """The attributes a class defines itself: methods, class attributes, ``self.x = ...`` in its methods.

    Example:
        >>> sorted(defined_attributes(ast.parse(
        ...     "class N:\\n    size = 3\\n    def __init__(self):\\n        self.a, self.b = 1, 2\\n"
        ...     "    def forward(self, x):\\n        return x").body[0]))
        ['__init__', 'a', 'b', 'forward', 'size']
    """
    names: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    for sub in ast.walk(node):
        targets: list[ast.expr] = []
        if isinstance(sub, ast.Assign):
            targets = sub.targets
        elif isinstance(sub, ast.AugAssign | ast.AnnAssign):
            targets = [sub.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id == "self":
                    names.add(part.attr)
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "setattr"
                and len(sub.args) >= 2 and isinstance(sub.args[0], ast.Name) and sub.args[0].id == "self"
                and isinstance(sub.args[1], ast.Constant) and isinstance(sub.args[1].value, str)):
            names.add(sub.args[1].value)
    return names


def _made_from(value: ast.expr, classes: dict[str, set[str]]) -> str | None:
    """The class an expression makes an object of: ``C(...)``, ``C(...).to(device)``; None otherwise."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        value = value.func.value                           # C(...).to(device).eval(): methods return the model
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in classes:
        return value.func.id
    return None


def _chain(node: ast.Attribute) -> tuple[ast.expr, list[str]]:
    """``a.b.c`` -> (Name a, ["b", "c"])."""
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.insert(0, current.attr)
        current = current.value
    return current, parts


def _string_loops(stmt: ast.stmt) -> dict[str, list[str]]:
    """Loop variables that run over a literal list of strings: ``for name in ["conv1", "conv2"]``."""
    loops: dict[str, list[str]] = {}
    for node in ast.walk(stmt):
        if (isinstance(node, ast.For) and isinstance(node.target, ast.Name) and isinstance(node.iter, ast.List | ast.Tuple)
                and node.iter.elts and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.iter.elts)):
            loops[node.target.id] = [e.value for e in node.iter.elts]  # type: ignore[attr-defined]
    return loops


class _Reader:
    """Follows the objects of the blank's classes through later statements and notes what is read on them."""

    def __init__(self, classes: dict[str, set[str]], objects: dict[str, str], made_in_blank: set[str]):
        self.classes = classes
        self.objects = dict(objects)              # variable -> class
        self.made_in_blank = made_in_blank        # variables the blank itself makes (listed in its hint)
        self.needs: list[ObjectNeed] = []

    def _owner(self, variable: str, cls: str) -> str:
        return variable if variable in self.made_in_blank else cls

    def _add(self, need: ObjectNeed) -> None:
        if not any((n.of, n.kind, n.path, n.name) == (need.of, need.kind, need.path, need.name) for n in self.needs):
            self.needs.append(need)

    def _attribute(self, variable: str | None, cls: str, path: list[str], read: str, cell: int) -> None:
        if path and path[0] in self.classes[cls] and not path[0].startswith("__"):
            owner = self._owner(variable, cls) if variable else cls
            self._add(ObjectNeed(owner, "attribute", path[0], tuple(path), read, cell))

    def statement(self, stmt: ast.stmt, cell: int) -> None:
        parents = {child: parent for parent in ast.walk(stmt) for child in ast.iter_child_nodes(parent)}
        loops = _string_loops(stmt)
        for node in ast.walk(stmt):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                if isinstance(parents.get(node), ast.Attribute):
                    continue                              # only the outermost a.b.c
                root, path = _chain(node)
                called = isinstance(parents.get(node), ast.Call) and parents[node].func is node  # type: ignore[attr-defined]
                shown = path[:-1] if called and len(path) > 1 else path
                if isinstance(root, ast.Name) and root.id in self.objects:
                    self._attribute(root.id, self.objects[root.id], shown, ".".join([root.id, *shown]), cell)
                elif isinstance(root, ast.Call) and (cls := _made_from(root, self.classes)):
                    self._attribute(None, cls, shown, ast.unparse(root) + "." + ".".join(shown), cell)
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name) and node.func.id in self.classes:
                    for keyword in node.keywords:
                        if keyword.arg:
                            self._add(ObjectNeed(node.func.id, "keyword", keyword.arg, (), ast.unparse(node), cell))
                if (isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2
                        and isinstance(node.args[0], ast.Name) and node.args[0].id in self.objects):
                    variable, name = node.args[0].id, node.args[1]
                    names = ([name.value] if isinstance(name, ast.Constant) and isinstance(name.value, str)
                             else loops.get(name.id, []) if isinstance(name, ast.Name) else [])
                    for attribute in names:
                        self._attribute(variable, self.objects[variable], [attribute],
                                        f'getattr({variable}, "{attribute}")', cell)
        self.bind(stmt)

    def bind(self, stmt: ast.stmt) -> None:
        """Follow ``x = C(...)`` (x is now an object of C) and any other rebinding of a followed name."""
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign | ast.AnnAssign) and getattr(node, "value", None) is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                cls = _made_from(node.value, self.classes)  # type: ignore[arg-type]
                for target in targets:
                    for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)):
                        if cls and isinstance(target, ast.Name):
                            self.objects[name] = cls
                        else:
                            self.objects.pop(name, None)


def object_needs(made: list[ast.stmt], after: list[tuple[int, list[ast.stmt]]]) -> list[ObjectNeed]:
    """What the code ``after`` a blank needs from the classes and objects the blank's statements ``made``.

    ``made`` are the blank's statements at the top level of a cell; ``after`` is the code that
    runs after it, as ``(lecture cell index, statements)`` in order (the rest of the blank's
    cell, then the later cells). Keyword needs come first for each class, then attributes,
    in the order they are first read.
    """
    classes = {stmt.name: defined_attributes(stmt) for stmt in made if isinstance(stmt, ast.ClassDef)}
    if not classes:
        return []
    probe = _Reader(classes, {}, set())
    for stmt in made:
        if not isinstance(stmt, ast.ClassDef):
            probe.bind(stmt)
    reader = _Reader(classes, probe.objects, set(probe.objects))   # the blank's own calls are the student's to write
    for cell, statements in after:
        for stmt in statements:
            reader.statement(stmt, cell)
    keywords = [need for need in reader.needs if need.kind == "keyword"]
    return keywords + [need for need in reader.needs if need.kind == "attribute"]


def unnamed_in_hint(hint: str, needs: list[ObjectNeed]) -> list[ObjectNeed]:
    """The needs a hint does not name: an attribute as ``self.<name>``, a keyword argument by its name.

    Example:
        >>> need = ObjectNeed("Net", "attribute", "fc", ("fc",), "net.fc", 5)
        >>> unnamed_in_hint("define Net: one layer self.fc", [need]), unnamed_in_hint("define Net: fc", [need])
        ([], [ObjectNeed(of='Net', kind='attribute', name='fc', path=('fc',), read='net.fc', cell=5)])
    """
    missing = []
    seen: set[tuple[str, str]] = set()
    for need in needs:
        key = (need.kind, need.name)
        if key in seen:
            continue
        seen.add(key)
        pattern = rf"\bself\.{re.escape(need.name)}\b" if need.kind == "attribute" else rf"\b{re.escape(need.name)}\b"
        if not re.search(pattern, hint):
            missing.append(need)
    return missing
