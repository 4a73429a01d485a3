"""The marks a lecture notebook uses to say what its live twin leaves out.

* cell tag ``live-blank`` -- the whole code cell is blanked; its leading comment lines
  are the hint (``# your code here`` when there are none);
* ``# live-start: hint`` ... ``# live-end`` inside a code cell -- those lines (markers
  included) are blanked; the hint is what follows ``live-start:``;
* cell tag ``live-drop`` -- the cell (code, markdown or raw) is left out.

A hint may end with the list of names the code after the blank needs from it::

    # live-start: the training steps — later cells use: loss, scores
    # define the model here — later lines use: hidden

``later cells use:`` (or ``later lines use:``, which reads better for a blank inside a
function) is followed by names separated by commas, to the end of the line. An item
may also be a dotted name (``model.fc``, ``Config.lr``). See
:mod:`course_tools.live.dependencies` for which names must be listed.

What the self-check should also compute -- a call on fixed inputs whose result is
compared closely with the lecture's (``output_side(32, 3, 1, 2)``) -- is not for
students to read: it goes on a line of its own, which the live twin leaves out::

    # live-start: the output side of a convolution — later lines use: output_side
    # live-check: output_side(32, 3, 1, 2), output_side(28, 5, 0, 1)

inside the region (usually right after ``# live-start``), or, in a ``live-blank`` cell,
among its leading comment lines.

Example:
    >>> find_regions("for x in data:\\n    # live-start: the body\\n    y = x\\n    # live-end")
    [Region(start=1, end=3, indent='    ', hint='# the body')]
    >>> parse_uses(["# write the steps — later cells use: loss, scores"]).items
    ('loss', 'scores')
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from typing import Sequence

import nbformat  # noqa: F401  (the examples use it)
from nbformat import NotebookNode

BLANK_TAG = "live-blank"
"""Cell tag: blank the whole code cell (its leading comments stay as the hint)."""

DROP_TAG = "live-drop"
"""Cell tag: leave the cell out of the live twin."""

LIVE_TAGS = (BLANK_TAG, DROP_TAG)
"""The tags a lecture may use; any other tag starting with ``live-`` is an error."""

NOTE_TAG = "live-note"
"""Tag of the "generated, do not edit" note that opens every live twin."""

CHECK_TAG = "live-check"
"""Tag of a generated self-check cell (only in live twins of checked lectures)."""

DEFAULT_HINT = "# your code here"
"""The hint a blanked cell or region gets when the lecture gives none."""

# A full-line comment that starts with "live-" (any case) claims to be a marker.
_MARKER_LIKE = re.compile(r"^[ \t]*#[ \t]*live-", re.IGNORECASE)
_START = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*live-start[ \t]*(?::[ \t]*(?P<hint>.*?))?[ \t]*$")
_END = re.compile(r"^[ \t]*#[ \t]*live-end[ \t]*$")
_NBVAL_COMMENT = re.compile(r"^[ \t]*#[ \t]*NBVAL_")
_CHECK = re.compile(r"^[ \t]*#[ \t]*live-check[ \t]*:(?P<items>.*)$")
_USES = re.compile(r"later (?:cells|lines) use:(?P<items>.*)$", re.IGNORECASE)


class MarkerError(ValueError):
    """A live marker or tag in a lecture notebook is wrong (unbalanced, nested, unknown...)."""


# --------------------------------------------------------------------------------------
# Small helpers on cells
# --------------------------------------------------------------------------------------


def cell_tags(cell: NotebookNode | dict) -> list[str]:
    """The cell's tags (``metadata.tags``), or an empty list."""
    return list(cell.get("metadata", {}).get("tags", []))


def has_tag(cell: NotebookNode | dict, tag: str) -> bool:
    """True when the cell carries ``tag``."""
    return tag in cell_tags(cell)


def set_tags(cell: NotebookNode, tags: Sequence[str]) -> None:
    """Set the cell's tags; an empty list removes the ``tags`` key altogether."""
    if tags:
        cell.metadata["tags"] = list(tags)
    else:
        cell.metadata.pop("tags", None)


def first_line(cell: NotebookNode | dict, width: int = 40) -> str:
    """The cell's first non-blank line, shortened, to help a person find the cell."""
    for line in cell.get("source", "").splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return "(empty cell)"


def is_nbval_comment(line: str) -> bool:
    """True for a ``# NBVAL_...`` comment line (nbval's per-cell instructions)."""
    return bool(_NBVAL_COMMENT.match(line))


def is_check_line(line: str) -> bool:
    """True for a ``# live-check: f(X, K), ...`` line: what the self-check computes, never shown to students."""
    return bool(_CHECK.match(line))


# --------------------------------------------------------------------------------------
# Markers inside a code cell
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """One ``# live-start`` ... ``# live-end`` region: line numbers are 0-based, inclusive."""

    start: int
    end: int
    indent: str
    hint: str


def find_regions(source: str) -> list[Region]:
    """Find the ``# live-start: hint`` ... ``# live-end`` regions of a code cell's source.

    Raises ``MarkerError`` (naming the line, counted from 1) for a nested start, an end
    without a start, a start that is never closed, or any other ``# live-...`` comment.
    """
    regions: list[Region] = []
    open_start: re.Match[str] | None = None
    open_line = -1
    for number, line in enumerate(source.split("\n")):
        if not _MARKER_LIKE.match(line) or _CHECK.match(line):     # where a live-check line may stand: lint_cell
            continue
        start = _START.match(line)
        if start:
            if open_start is not None:
                raise MarkerError(
                    f"line {number + 1}: '# live-start' inside the region opened at line {open_line + 1}; "
                    "regions cannot be nested - close the first one with '# live-end' before starting another"
                )
            open_start, open_line = start, number
        elif _END.match(line):
            if open_start is None:
                raise MarkerError(f"line {number + 1}: '# live-end' without a '# live-start' before it")
            hint = (open_start.group("hint") or "").strip()
            regions.append(
                Region(
                    start=open_line,
                    end=number,
                    indent=open_start.group("indent"),
                    hint=f"# {hint}" if hint else DEFAULT_HINT,
                )
            )
            open_start = None
        else:
            raise MarkerError(
                f"line {number + 1}: unknown marker {line.strip()!r}; inside a cell the markers are "
                "'# live-start: hint', '# live-check: ...' and '# live-end' (whole cells use the tags live-blank "
                "and live-drop)"
            )
    if open_start is not None:
        raise MarkerError(f"line {open_line + 1}: '# live-start' is never closed; add '# live-end' after the region")
    return regions


def replace_regions(source: str, replacement) -> str:
    """Replace every region by the lines ``replacement(number, region)`` returns (number from 0).

    Example:
        >>> print(replace_regions("a = 1\\n# live-start: b\\nb = 2\\n# live-end",
        ...                       lambda number, region: [region.hint, "pass"]))
        a = 1
        # b
        pass
    """
    regions = find_regions(source)
    if not regions:
        return source
    lines = source.split("\n")
    out: list[str] = []
    position = 0
    for number, region in enumerate(regions):
        out.extend(lines[position : region.start])
        out.extend(replacement(number, region))
        position = region.end + 1
    out.extend(lines[position:])
    return "\n".join(out)


def blank_regions(source: str) -> str:
    """Replace every ``# live-start: hint`` ... ``# live-end`` region by ``# hint`` and ``...``.

    This is how the live twin of a lecture that does not use checked blanks looks. Both
    lines keep the indentation of the start marker, so a blanked loop or function body
    stays inside its loop or function. Source without markers comes back unchanged.

    Example:
        >>> print(blank_regions(
        ...     "for epoch in range(3):\\n"
        ...     "    # live-start: training steps in here\\n"
        ...     "    loss = step(model)\\n"
        ...     "    # live-end\\n"
        ...     "    print(epoch)"))
        for epoch in range(3):
            # training steps in here
            ...
            print(epoch)
    """
    return replace_regions(source, lambda number, region: [region.indent + region.hint, region.indent + "..."])


def region_code(source: str, region: Region) -> str:
    """The lines strictly between a region's markers: the code the blank hides (``# live-check`` lines left out)."""
    return "\n".join(line for line in source.split("\n")[region.start + 1 : region.end] if not is_check_line(line))


def region_check_lines(source: str, region: Region) -> list[str]:
    """The ``# live-check:`` lines of a region."""
    return [line for line in source.split("\n")[region.start + 1 : region.end] if is_check_line(line)]


def remove_markers(source: str) -> str:
    """The source without its ``# live-start`` / ``# live-end`` lines (the lecture's code as it runs).

    Example:
        >>> remove_markers("x = 1\\n    # live-start: y\\ny = 2\\n# live-end")
        'x = 1\\ny = 2'
    """
    regions = find_regions(source)
    drop = {line for region in regions for line in (region.start, region.end)}
    return "\n".join(line for number, line in enumerate(source.split("\n"))
                     if number not in drop and not is_check_line(line))


def leading_hint(source: str) -> list[str]:
    """The comment lines a cell starts with (blank lines skipped), minus ``# NBVAL_...`` markers.

    Example:
        >>> leading_hint("# NBVAL_CHECK_OUTPUT\\n# define the model here\\nmodel = Net()")
        ['# define the model here']
    """
    hint: list[str] = []
    for line in source.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if _CHECK.match(stripped):
            continue
        if not stripped.startswith("#") or _MARKER_LIKE.match(stripped):
            break
        if not _NBVAL_COMMENT.match(stripped):
            hint.append(stripped)
    return hint


def leading_check_lines(source: str) -> list[str]:
    """The ``# live-check:`` lines among the comment lines a cell starts with."""
    found = []
    for line in source.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if _CHECK.match(stripped):
            found.append(stripped)
    return found


def cell_hint(cell: NotebookNode | dict) -> list[str]:
    """The hint of a ``live-blank`` cell: its leading comments, or the default hint."""
    return leading_hint(cell.get("source", "")) or [DEFAULT_HINT]


def blank_cell(cell: NotebookNode) -> NotebookNode:
    """Return a copy of a code cell whose source is its leading comments (the hint) and ``...``.

    Example:
        >>> cell = nbformat.v4.new_code_cell("# define the model here\\nmodel = Net()")
        >>> print(blank_cell(cell).source)
        # define the model here
        ...
    """
    if cell.get("cell_type") != "code":
        raise MarkerError(
            f"the tag {BLANK_TAG} only applies to code cells, this is a {cell.get('cell_type')} cell; "
            f"use {DROP_TAG} to leave it out of the live notebook"
        )
    new = copy.deepcopy(cell)
    new.source = "\n".join(cell_hint(cell) + ["..."])
    return new


# --------------------------------------------------------------------------------------
# The "later cells use:" list of a hint
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsesList:
    """The items of a hint's ``later cells use:`` list, as written, or why it cannot be read."""

    items: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The name each item stands for (a call ``f(x)`` stands for ``f``)."""
        return tuple(item_name(item) for item in self.items)


def dotted_name(node: ast.expr) -> str | None:
    """``a`` or ``a.b.c`` as a string, or None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def item_name(item: str) -> str:
    """The name a ``later cells use:`` item stands for: ``f(X, K)`` -> ``f``, ``model.fc`` -> ``model.fc``.

    Example:
        >>> item_name("cross_correlate(X, K)"), item_name("model.fc")
        ('cross_correlate', 'model.fc')
    """
    node = ast.parse(item.strip(), mode="eval").body
    if isinstance(node, ast.Call):
        node = node.func
    return dotted_name(node) or item.strip()


def is_probe(item: str) -> bool:
    """True for a call item (``f(X, K)``): its result is compared with the lecture's."""
    return isinstance(ast.parse(item.strip(), mode="eval").body, ast.Call)


def parse_uses(hint_lines: Sequence[str]) -> UsesList:
    """Read the ``later cells use: a, b`` (or ``later lines use:``) list of a hint.

    The list runs to the end of its line; each item is a name, a dotted name or a call.
    A hint without such a list gives an empty list.

    Example:
        >>> parse_uses(["# live demo — later lines use: x, net.fc, f(X, 2)"]).items
        ('x', 'net.fc', 'f(X, 2)')
        >>> parse_uses(["# later cells use: the model"]).problem
        "the list after 'later cells use:' should be names separated by commas (a name may be dotted, as model.fc, or a call on fixed inputs, as f(X, K)); got 'the model'"
    """
    found = [(line, match) for line in hint_lines if (match := _USES.search(line))]
    if not found:
        return UsesList()
    if len(found) > 1:
        return UsesList(problem="the hint has more than one 'later cells use:' list; keep one")
    return _parse_items(found[0][1].group("items").strip().rstrip("."), "later cells use:")


def _parse_items(text: str, label: str) -> UsesList:
    expected = (
        f"the list after '{label}' should be names separated by commas (a name may be dotted, "
        f"as model.fc, or a call on fixed inputs, as f(X, K)); got {text!r}"
    )
    if not text:
        return UsesList(problem=expected)
    try:
        tree = ast.parse(f"({text},)", mode="eval").body
    except SyntaxError:
        return UsesList(problem=expected)
    items = []
    for element in tree.elts:  # type: ignore[attr-defined]
        target = element.func if isinstance(element, ast.Call) else element
        if dotted_name(target) is None:
            return UsesList(problem=expected)
        items.append(ast.unparse(element))
    if len(set(items)) < len(items):
        return UsesList(problem=f"the list after '{label}' names something twice: {text!r}")
    return UsesList(items=tuple(items))


def parse_check_items(lines: Sequence[str]) -> UsesList:
    """Read the items of ``# live-check:`` lines: names, dotted names or calls on fixed inputs.

    Example:
        >>> parse_check_items(["# live-check: output_side(32, 3, 1, 2), f(X)"]).items
        ('output_side(32, 3, 1, 2)', 'f(X)')
    """
    texts = [match.group("items") for line in lines if (match := _CHECK.match(line))]
    if not texts:
        return UsesList()
    return _parse_items(", ".join(text.strip().rstrip(".") for text in texts), "live-check:")


# --------------------------------------------------------------------------------------
# Checking a lecture's markers
# --------------------------------------------------------------------------------------


def lint_cell(cell: NotebookNode) -> list[str]:
    """Problems with the live tags and markers of one cell (empty list when all is well).

    Example:
        >>> lint_cell(nbformat.v4.new_code_cell("# live-start: oops"))
        ["line 1: '# live-start' is never closed; add '# live-end' after the region"]
    """
    problems: list[str] = []
    tags = cell_tags(cell)
    for tag in tags:
        if tag.lower().startswith("live-") and tag not in LIVE_TAGS:
            problems.append(f"unknown tag {tag!r}; the live tags are {', '.join(LIVE_TAGS)}")
    if BLANK_TAG in tags and DROP_TAG in tags:
        problems.append(f"tagged both {BLANK_TAG} and {DROP_TAG}; keep one")
    if BLANK_TAG in tags and cell.get("cell_type") != "code":
        problems.append(f"the tag {BLANK_TAG} only applies to code cells; use {DROP_TAG} to leave this cell out")
    if cell.get("cell_type") == "code":
        try:
            regions = find_regions(cell.source)
        except MarkerError as error:
            problems.append(str(error))
        else:
            if regions and BLANK_TAG in tags:
                problems.append(
                    f"tagged {BLANK_TAG} and also has '# live-start' markers; "
                    "blank the whole cell (tag) or a region (markers), not both"
                )
            problems += _check_line_problems(cell.source, regions, BLANK_TAG in tags)
    return problems


def _check_line_problems(source: str, regions: list[Region], blank_cell: bool) -> list[str]:
    """A ``# live-check:`` line belongs inside a region, or among a live-blank cell's leading comments."""
    lines = source.split("\n")
    leading = set()
    if blank_cell:
        for number, line in enumerate(lines):
            if line.strip() and not line.strip().startswith("#"):
                break
            leading.add(number)
    problems = []
    for number, line in enumerate(lines):
        if not _CHECK.match(line):
            continue
        if number in leading or any(region.start < number < region.end for region in regions):
            items = parse_check_items([line])
            if items.problem:
                problems.append(f"line {number + 1}: {items.problem}")
            continue
        problems.append(f"line {number + 1}: a '# live-check:' line belongs inside a region (after its "
                        f"'# live-start' line) or among the leading comment lines of a {BLANK_TAG} cell")
    return problems


def lint_notebook(nb: NotebookNode) -> list[tuple[int, str]]:
    """All marker and tag problems of a lecture notebook as ``(cell index from 0, message)`` pairs."""
    return [(index, message) for index, cell in enumerate(nb.cells) for message in lint_cell(cell)]
