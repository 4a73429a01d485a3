"""What a piece of Python binds and reads, scope by scope: the vocabulary of the dependency check.

These helpers read syntax trees (``ast``) and never run code. "Same scope" means: not
inside a nested function, lambda or class body, which have their own names.

Example:
    >>> import ast
    >>> block_bindings(ast.parse("a, *b = f()\\nimport torch.nn as nn\\nfor i in x: pass\\n[j for j in y]").body)
    (['a', 'b', 'nn', 'i'], [])
    >>> sorted(function_reads(ast.parse("def f(a):\\n    return a + c").body[0]))
    ['c']
"""
from __future__ import annotations

import ast

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


# --------------------------------------------------------------------------------------
# What a piece of code binds
# --------------------------------------------------------------------------------------


def target_names(target: ast.expr) -> list[str]:
    """The names an assignment target binds: ``a``, ``(a, b)``, ``[a, *rest]`` (not ``x.y``, ``x[i]``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in target_names(element)]
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    return []


def _attribute_targets(target: ast.expr) -> list[str]:
    """``obj.attr`` targets (on a plain name) as dotted strings."""
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        return [f"{target.value.id}.{target.attr}"]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _attribute_targets(element)]
    if isinstance(target, ast.Starred):
        return _attribute_targets(target.value)
    return []


def same_scope(node: ast.AST):
    """Every node under ``node`` that runs in its scope (not inside nested functions, classes, lambdas)."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(child, SCOPES):
            yield from same_scope(child)


def _pattern_names(pattern: ast.pattern) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.append(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.append(node.rest)
    return names


def statement_bindings(stmt: ast.stmt) -> tuple[list[str], list[str]]:
    """Names and ``obj.attr`` paths one statement binds in its own scope (nested blocks included)."""
    names: list[str] = []
    attributes: list[str] = []
    nodes = [stmt] if isinstance(stmt, SCOPES) else [stmt, *same_scope(stmt)]
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                names += target_names(target)
                attributes += _attribute_targets(target)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            if isinstance(node, ast.AugAssign) or node.value is not None:
                names += target_names(node.target)
                attributes += _attribute_targets(node.target)
        elif isinstance(node, ast.For | ast.AsyncFor):
            names += target_names(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            names += target_names(node.optional_vars)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    names.append(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.NamedExpr):
            names += target_names(node.target)
        elif isinstance(node, ast.match_case):
            names += _pattern_names(node.pattern)
        elif type(node).__name__ == "TypeAlias":          # Python 3.12: type X = ...
            names += target_names(node.name)              # type: ignore[attr-defined]
    return list(dict.fromkeys(names)), list(dict.fromkeys(attributes))


def block_bindings(stmts: list[ast.stmt]) -> tuple[list[str], list[str]]:
    """Names and ``obj.attr`` paths a list of statements binds, in order of first appearance."""
    names: list[str] = []
    attributes: list[str] = []
    for stmt in stmts:
        more_names, more_attributes = statement_bindings(stmt)
        names += more_names
        attributes += more_attributes
    return list(dict.fromkeys(names)), list(dict.fromkeys(attributes))


# --------------------------------------------------------------------------------------
# What a piece of code reads
# --------------------------------------------------------------------------------------


def _arguments(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {arg.arg for arg in every if arg is not None}


def expression_reads(node: ast.AST, local: frozenset[str] = frozenset()) -> list[tuple[str, str | None]]:
    """``(name, attribute)`` pairs an expression reads now; ``attribute`` is set for ``name.attribute``.

    Comprehension variables and lambda arguments are not reads. A lambda's body counts
    as read at once (on the safe side).

    Example:
        >>> expression_reads(ast.parse("[f(x) + model.fc for x in data]", mode="eval").body)
        [('data', None), ('f', None), ('model', 'fc'), ('model', None)]
    """
    reads: list[tuple[str, str | None]] = []

    def visit(node: ast.AST, local: frozenset[str]) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load | ast.Del) and node.id not in local:
                reads.append((node.id, None))
            return
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.value.id not in local:
                reads.append((node.value.id, node.attr))
        if isinstance(node, COMPREHENSIONS):
            generators = node.generators
            visit(generators[0].iter, local)
            inner = local | {name for gen in generators for name in target_names(gen.target)}
            for position, gen in enumerate(generators):
                if position:
                    visit(gen.iter, inner)
                for condition in gen.ifs:
                    visit(condition, inner)
            for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
                visit(part, inner)
            return
        if isinstance(node, ast.Lambda):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    visit(default, local)
            visit(node.body, local | _arguments(node.args))
            return
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    visit(node, local)
    return reads


def all_reads(stmts: list[ast.stmt]) -> set[str]:
    """Every name a list of statements reads, in any order, with nested functions' free names."""
    names: set[str] = set()
    for stmt in stmts:
        if not isinstance(stmt, SCOPES):
            for expr in statement_expressions(stmt, deep=True):
                names |= {name for name, _ in expression_reads(expr)}
        for node in [stmt, *same_scope(stmt)]:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names |= function_reads(node)
                for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
                    if expr is not None:
                        names |= {name for name, _ in expression_reads(expr)}
            elif isinstance(node, ast.ClassDef):
                names |= class_reads(node) | all_reads([s for s in node.body if not isinstance(s, SCOPES)])
                for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
                    names |= {name for name, _ in expression_reads(expr)}
    return names


def statement_expressions(stmt: ast.AST, deep: bool = False) -> list[ast.expr]:
    """The expressions directly held by a statement (and, with ``deep``, by its nested statements)."""
    found: list[ast.expr] = []
    for child in ast.iter_child_nodes(stmt):
        if isinstance(child, ast.expr):
            found.append(child)
        elif isinstance(child, SCOPES):
            continue
        elif deep or not isinstance(child, ast.stmt):
            found += statement_expressions(child, deep=deep)
    return found


def function_reads(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The global names a function's body reads when it is called (its free names).

    Example:
        >>> sorted(function_reads(ast.parse("def f(a):\\n    b = a + c\\n    return [b * d for d in e]").body[0]))
        ['c', 'e']
    """
    local = _arguments(node.args) | set(block_bindings(node.body)[0])
    declared_global = {name for sub in same_scope(node) if isinstance(sub, ast.Global) for name in sub.names}
    return {name for name in all_reads(node.body) if name not in local or name in declared_global}


def class_reads(node: ast.ClassDef) -> set[str]:
    """The global names a class's methods read (they run when the class is used)."""
    names: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            names |= function_reads(stmt)
        elif isinstance(stmt, ast.ClassDef):
            names |= class_reads(stmt)
    return names


def region_statements(tree: ast.Module, first: int, last: int) -> tuple[list[ast.stmt], list[ast.stmt] | None]:
    """The statements on (1-based) lines ``first``..``last`` and the statement list that holds them."""
    blocks: list[list[ast.stmt]] = [tree.body]
    while blocks:
        stmts = blocks.pop()
        inside = [stmt for stmt in stmts if first <= stmt.lineno <= last]
        if inside:
            return inside, stmts
        for stmt in stmts:
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(stmt, field, None), list):
                    blocks.append(getattr(stmt, field))
            for handler in getattr(stmt, "handlers", []):
                blocks.append(handler.body)
            for case in getattr(stmt, "cases", []):
                blocks.append(case.body)
    return [], None


def subscript_targets(stmts: list[ast.stmt]) -> list[str]:
    """Names whose items a block assigns, in its own scope: ``always[name] = ...`` gives ``always``.

    Example:
        >>> subscript_targets(ast.parse("for c in range(3):\\n    always[c] = c\\nx[0] += 1").body)
        ['always', 'x']
    """
    names: list[str] = []
    for stmt in stmts:
        for node in [stmt, *same_scope(stmt)]:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    names.append(target.value.id)
    return list(dict.fromkeys(names))
