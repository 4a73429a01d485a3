"""Generate the instructor's *live* notebooks from the lecture notebooks, and check them.

A lecture notebook ``notebooks/NN-topic.ipynb`` is the only source. Its live twin
``notebooks/live/NN-topic-live.ipynb`` is the same lecture with the code the instructor
writes in front of the class left blank. This module writes the twins and checks that
they are up to date; it never needs to be edited by hand.

How a lecture marks what the live twin leaves out (see also the README):

* cell tag ``live-blank`` -- the whole code cell becomes its leading comment lines
  (the hint; ``# your code here`` when there are none) followed by ``...``;
* ``# live-start: hint`` ... ``# live-end`` inside a code cell -- those lines (markers
  included) become ``# hint`` and ``...`` at the indentation of the start marker;
* cell tag ``live-drop`` -- the cell (code, markdown or raw) is left out.

``...`` (the Ellipsis) is a complete Python statement, so a blanked loop body or function
body still parses, and a student can run the live notebook before filling it in.

The tool also *stamps* every lecture and live notebook with an "Open in Colab" badge and
a first code cell that installs ``course_utils`` when (and only when) it runs in Colab.
The repository URL and branch for both come from one place: the table
``[tool.course_utils.colab]`` in ``pyproject.toml``.

The code is a chain of small, pure functions -- one notebook transformation each, in the
spirit of nbgrader's preprocessors -- and a thin command line on top::

    lecture --stamp_colab--> stamped lecture  (written back only if it changed)
    lecture --strip_stamped_cells--> drop_cells --> blank_cells --> clear_outputs
            --> stamp_colab (live URL) --> add_live_note  ==  live twin

Example:
    From the repository root::

        python -m course_utils.live            # stamp lectures, (re)write notebooks/live/
        python -m course_utils.live --check    # change nothing; exit 1 and list problems

This module imports only ``nbformat`` and the standard library.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import nbformat
from nbformat import NotebookNode

# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

BLANK_TAG = "live-blank"
"""Cell tag: replace the whole code cell by its hint and ``...``."""

DROP_TAG = "live-drop"
"""Cell tag: leave the cell out of the live twin."""

LIVE_TAGS = (BLANK_TAG, DROP_TAG)
"""The tags a lecture may use; any other tag starting with ``live-`` is an error."""

NOTE_TAG = "live-note"
"""Tag of the "generated, do not edit" note that opens every live twin."""

BADGE_TAG = "colab-badge"
"""Tag of the stamped "Open in Colab" badge (a markdown cell)."""

INSTALL_TAG = "colab-install"
"""Tag of the stamped Colab install cell (a code cell)."""

NBVAL_IGNORE_OUTPUT_TAG = "nbval-ignore-output"
"""nbval's tag for "run this cell but do not compare its output"."""

STAMPED_TAGS = (BADGE_TAG, INSTALL_TAG)

DEFAULT_HINT = "# your code here"
"""The hint a blanked cell or region gets when the lecture gives none."""

PACKAGE_DISTRIBUTION = "course-utils"
"""The name pip knows the course package by (``[project] name`` in pyproject.toml)."""

LECTURE_NAME = re.compile(r"^(?P<stem>\d\d-.+)\.ipynb$")
"""Lecture notebooks are named ``NN-topic.ipynb`` (two digits, a dash, a topic)."""

LIVE_SUFFIX = "-live"
LIVE_DIR = "live"

# A full-line comment that starts with "live-" (any case) claims to be a marker.
_MARKER_LIKE = re.compile(r"^[ \t]*#[ \t]*live-", re.IGNORECASE)
_START = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*live-start[ \t]*(?::[ \t]*(?P<hint>.*?))?[ \t]*$")
_END = re.compile(r"^[ \t]*#[ \t]*live-end[ \t]*$")
_NBVAL_COMMENT = re.compile(r"^[ \t]*#[ \t]*NBVAL_")

# Lines IPython rewrites before Python sees them: %magic, %%cell magic, !shell, x = !cmd,
# x = %magic, and help requests such as ``obj?`` / ``?obj``.
# A continuation line that starts with the operators "% x" or "!= y" is Python, not a magic.
_MAGIC_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:[\w.]+[ \t]*=[ \t]*)?(?:%%?[A-Za-z_]|!(?!=))")
_HELP_LINE = re.compile(r"^(?P<indent>[ \t]*)\?*[\w.]+\?{1,2}[ \t]*$|^(?P<indent2>[ \t]*)\?{1,2}[\w.]+[ \t]*$")
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
"""Cell magics whose body is Python; the body of any other (``%%bash`` ...) is not checked."""

_RAISES_TAG = "raises-exception"
_RAISES_COMMENT = re.compile(r"^[ \t]*#[ \t]*NBVAL_RAISES_EXCEPTION", re.MULTILINE)


class MarkerError(ValueError):
    """A live marker or tag in a lecture notebook is wrong (unbalanced, nested, unknown...)."""


# --------------------------------------------------------------------------------------
# Configuration: where the course lives on GitHub
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColabConfig:
    """The public GitHub repository and branch the Colab badges and install cells point to.

    Example:
        >>> config = ColabConfig("owner/course", "main")
        >>> colab_url(config, "notebooks/03-logistic-regression.ipynb")
        'https://colab.research.google.com/github/owner/course/blob/main/notebooks/03-logistic-regression.ipynb'
    """

    repository: str
    branch: str = "main"


_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^[A-Za-z0-9_./-]+$")


def _toml_loads(text: str) -> dict:
    """Parse TOML with ``tomllib`` (Python 3.11+) or, on Python 3.10, the ``tomli`` package."""
    try:
        import tomllib  # noqa: PLC0415 - optional on 3.10
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]  # noqa: PLC0415
        except ImportError:
            raise RuntimeError(
                "Reading pyproject.toml needs Python 3.11+ (which has tomllib), or on Python 3.10 "
                "the 'tomli' package: pip install tomli"
            ) from None
    return tomllib.loads(text)


def read_colab_config(pyproject: str | Path) -> ColabConfig:
    """Read ``[tool.course_utils.colab]`` (``repository = "owner/name"``, ``branch``) from pyproject.toml.

    Example:
        >>> read_colab_config("pyproject.toml")            # doctest: +SKIP
        ColabConfig(repository='deep-image-course/course-kit', branch='main')
    """
    path = Path(pyproject)
    if not path.is_file():
        raise FileNotFoundError(
            f"Expected the course configuration at {path}, but there is no such file. "
            "Run from the repository root or pass --config path/to/pyproject.toml."
        )
    data = _toml_loads(path.read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("course_utils", {}).get("colab")
    if not isinstance(table, dict):
        raise ValueError(
            f"{path} has no [tool.course_utils.colab] table. Add:\n"
            '[tool.course_utils.colab]\nrepository = "owner/name"\nbranch = "main"'
        )
    repository = table.get("repository")
    branch = table.get("branch", "main")
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise ValueError(
            f"[tool.course_utils.colab] repository in {path} should look like \"owner/name\" "
            f"(the GitHub repository, without https://github.com/), got {repository!r}."
        )
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise ValueError(
            f"[tool.course_utils.colab] branch in {path} should be a branch name such as \"main\", got {branch!r}."
        )
    return ColabConfig(repository=repository, branch=branch)


def colab_url(config: ColabConfig, repo_path: str) -> str:
    """The Colab address that opens ``repo_path`` (a path inside the repository) from GitHub.

    Example:
        >>> colab_url(ColabConfig("me/course", "dev"), "notebooks/live/01-ethics-live.ipynb")
        'https://colab.research.google.com/github/me/course/blob/dev/notebooks/live/01-ethics-live.ipynb'
    """
    return f"https://colab.research.google.com/github/{config.repository}/blob/{config.branch}/{repo_path}"


def badge_source(url: str) -> str:
    """Markdown for the "Open in Colab" badge that links to ``url``."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def install_source(config: ColabConfig) -> str:
    """Source of the Colab install cell: installs course_utils in Colab, does nothing elsewhere.

    Example:
        >>> print(install_source(ColabConfig("me/course", "main")))
        # In Google Colab, install the course's helper package course_utils first.
        # Anywhere else it is already installed, and this cell does nothing.
        import sys
        <BLANKLINE>
        if "google.colab" in sys.modules:
            %pip install -q "course-utils @ git+https://github.com/me/course@main"
    """
    requirement = f"{PACKAGE_DISTRIBUTION} @ git+https://github.com/{config.repository}@{config.branch}"
    return (
        "# In Google Colab, install the course's helper package course_utils first.\n"
        "# Anywhere else it is already installed, and this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "{requirement}"'
    )


# --------------------------------------------------------------------------------------
# Small helpers on cells
# --------------------------------------------------------------------------------------


def cell_tags(cell: NotebookNode | dict) -> list[str]:
    """The cell's tags (``metadata.tags``), or an empty list."""
    return list(cell.get("metadata", {}).get("tags", []))


def has_tag(cell: NotebookNode | dict, tag: str) -> bool:
    """True when the cell carries ``tag``."""
    return tag in cell_tags(cell)


def _set_tags(cell: NotebookNode, tags: Sequence[str]) -> None:
    """Set the cell's tags; an empty list removes the ``tags`` key altogether."""
    if tags:
        cell.metadata["tags"] = list(tags)
    else:
        cell.metadata.pop("tags", None)


def _first_line(cell: NotebookNode | dict, width: int = 40) -> str:
    """The cell's first non-blank line, shortened, to help a person find the cell."""
    for line in cell.get("source", "").splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return "(empty cell)"


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

    Example:
        >>> find_regions("for x in data:\\n    # live-start: the body\\n    y = x\\n    # live-end")
        [Region(start=1, end=3, indent='    ', hint='# the body')]
    """
    regions: list[Region] = []
    open_start: re.Match[str] | None = None
    open_line = -1
    for number, line in enumerate(source.split("\n")):
        if not _MARKER_LIKE.match(line):
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
                "'# live-start: hint' and '# live-end' (whole cells use the tags live-blank and live-drop)"
            )
    if open_start is not None:
        raise MarkerError(f"line {open_line + 1}: '# live-start' is never closed; add '# live-end' after the region")
    return regions


def blank_regions(source: str) -> str:
    """Replace every ``# live-start: hint`` ... ``# live-end`` region by ``# hint`` and ``...``.

    Both lines keep the indentation of the start marker, so a blanked loop or function
    body stays inside its loop or function. Source without markers comes back unchanged.

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
    regions = find_regions(source)
    if not regions:
        return source
    lines = source.split("\n")
    out: list[str] = []
    position = 0
    for region in regions:
        out.extend(lines[position : region.start])
        out.append(region.indent + region.hint)
        out.append(region.indent + "...")
        position = region.end + 1
    out.extend(lines[position:])
    return "\n".join(out)


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
        if not stripped.startswith("#") or _MARKER_LIKE.match(stripped):
            break
        if not _NBVAL_COMMENT.match(stripped):
            hint.append(stripped)
    return hint


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
    new.source = "\n".join((leading_hint(cell.source) or [DEFAULT_HINT]) + ["..."])
    return new


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
    return problems


def lint_notebook(nb: NotebookNode) -> list[tuple[int, str]]:
    """All marker and tag problems of a lecture notebook as ``(cell index from 0, message)`` pairs."""
    return [(index, message) for index, cell in enumerate(nb.cells) for message in lint_cell(cell)]


# --------------------------------------------------------------------------------------
# Does it parse?
# --------------------------------------------------------------------------------------


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


def parse_problem(source: str) -> str | None:
    """``None`` when a code cell's source parses as Python (magics aside), else a short reason.

    Example:
        >>> parse_problem("for x in range(3):\\n    # nothing here")
        "line 2: expected an indented block after 'for' statement on line 1"
    """
    code = python_source(source)
    if code is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for "\d" in a string
            ast.parse(code)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    return None


def _may_not_parse(cell: NotebookNode) -> bool:
    """Cells that are meant to fail (nbval's ``raises-exception``) are not parse-checked."""
    return has_tag(cell, _RAISES_TAG) or bool(_RAISES_COMMENT.search(cell.get("source", "")))


# --------------------------------------------------------------------------------------
# Notebook transformations (each returns a new notebook; the argument is not changed)
# --------------------------------------------------------------------------------------


def strip_stamped_cells(nb: NotebookNode) -> NotebookNode:
    """Remove the stamped Colab badge and install cells (tags ``colab-badge``/``colab-install``)."""
    new = copy.deepcopy(nb)
    new.cells = [cell for cell in new.cells if not any(has_tag(cell, tag) for tag in STAMPED_TAGS)]
    return new


def drop_cells(nb: NotebookNode) -> NotebookNode:
    """Leave out every cell tagged ``live-drop`` (code, markdown or raw)."""
    new = copy.deepcopy(nb)
    new.cells = [cell for cell in new.cells if not has_tag(cell, DROP_TAG)]
    return new


def blank_cells(nb: NotebookNode) -> NotebookNode:
    """Blank every ``live-blank`` code cell and every marked region in the other code cells.

    Raises ``MarkerError`` for wrong markers; check with :func:`lint_notebook` first to
    get every problem at once.
    """
    new = copy.deepcopy(nb)
    for index, cell in enumerate(new.cells):
        if cell.cell_type != "code":
            continue
        if has_tag(cell, BLANK_TAG):
            new.cells[index] = blank_cell(cell)
        else:
            cell.source = blank_regions(cell.source)
    return new


def clear_outputs(nb: NotebookNode) -> NotebookNode:
    """Clear outputs, execution counts, run timings and widget state; remove the live tags.

    Other tags (``nbval-ignore-output``, ``hide-input`` ...) and metadata stay.
    """
    new = copy.deepcopy(nb)
    new.metadata.pop("widgets", None)
    for cell in new.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)  # JupyterLab's "record timing"
        _set_tags(cell, [tag for tag in cell_tags(cell) if tag not in LIVE_TAGS])
    return new


def _uses_cell_ids(nb: NotebookNode) -> bool:
    """Cell ids exist from nbformat 4.5 on; older notebooks must not get any."""
    return (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)


def _stamped_cell(nb: NotebookNode, tag: str, cell: NotebookNode) -> NotebookNode:
    """The notebook's existing ``tag`` cell when it already says the same thing, else ``cell``.

    Keeping the existing cell keeps its outputs and any metadata a person added, so that
    stamping an up-to-date notebook changes nothing at all.
    """
    for existing in nb.cells:
        if (
            has_tag(existing, tag)
            and existing.cell_type == cell.cell_type
            and existing.source == cell.source
            and all(has_tag(existing, wanted) for wanted in cell_tags(cell))
        ):
            return existing
    if _uses_cell_ids(nb):
        cell.id = tag
    else:
        cell.pop("id", None)
    return cell


def stamp_badge(nb: NotebookNode, url: str) -> NotebookNode:
    """Put the "Open in Colab" badge (tag ``colab-badge``) after the title cell.

    The title is the first cell when it is markdown; otherwise the badge comes first.
    An old badge is replaced, so running this again (or with a new URL) leaves one badge.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
        >>> [cell.metadata.get("tags") for cell in stamp_badge(nb, "https://x").cells]
        [None, ['colab-badge']]
    """
    new = copy.deepcopy(nb)
    cell = nbformat.v4.new_markdown_cell(badge_source(url), metadata={"tags": [BADGE_TAG]})
    cell = _stamped_cell(new, BADGE_TAG, cell)
    new.cells = [c for c in new.cells if not has_tag(c, BADGE_TAG)]
    position = 1 if new.cells and new.cells[0].cell_type == "markdown" else 0
    new.cells.insert(position, cell)
    return new


def stamp_install_cell(nb: NotebookNode, config: ColabConfig) -> NotebookNode:
    """Put the Colab install cell (tags ``colab-install``, ``nbval-ignore-output``) before the first code cell.

    In a notebook without other code cells it goes right after the badge (or first).
    An old install cell is replaced, so running this again leaves exactly one.
    """
    new = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(
        install_source(config), metadata={"tags": [INSTALL_TAG, NBVAL_IGNORE_OUTPUT_TAG]}
    )
    cell = _stamped_cell(new, INSTALL_TAG, cell)
    new.cells = [c for c in new.cells if not has_tag(c, INSTALL_TAG)]
    code = [index for index, c in enumerate(new.cells) if c.cell_type == "code"]
    if code:
        position = code[0]
    else:
        badges = [index for index, c in enumerate(new.cells) if has_tag(c, BADGE_TAG)]
        position = badges[0] + 1 if badges else 0
    new.cells.insert(position, cell)
    return new


def stamp_colab(nb: NotebookNode, config: ColabConfig, repo_path: str) -> NotebookNode:
    """Stamp both the badge (opening ``repo_path`` in Colab) and the install cell."""
    return stamp_install_cell(stamp_badge(nb, colab_url(config, repo_path)), config)


def live_note_source(lecture_name: str) -> str:
    """Markdown of the note that opens every live notebook."""
    return (
        f"> **Live notebook, generated from [`{lecture_name}`](../{lecture_name}) - do not edit it by hand.** "
        "The code written in class is left blank (`...`). To change this notebook, edit the lecture "
        "notebook and run `python -m course_utils.live`."
    )


def add_live_note(nb: NotebookNode, lecture_name: str) -> NotebookNode:
    """Put the "generated, do not edit" note (tag ``live-note``) first."""
    new = copy.deepcopy(nb)
    new.cells = [c for c in new.cells if not has_tag(c, NOTE_TAG)]
    note = nbformat.v4.new_markdown_cell(live_note_source(lecture_name), metadata={"tags": [NOTE_TAG]})
    note.id = NOTE_TAG
    new.cells.insert(0, note)
    return new


def live_cell_id(cell: NotebookNode, index: int) -> str:
    """The id a lecture cell's counterpart gets in the live twin: the same id, or ``cell-N``.

    Deterministic ids keep the generated file byte-for-byte the same from run to run.
    """
    return cell.get("id") or f"cell-{index + 1}"


def _unique_ids(nb: NotebookNode) -> None:
    """Make cell ids unique in place by adding ``-2``, ``-3`` ... to repeats."""
    seen: set[str] = set()
    for cell in nb.cells:
        base = cell.id
        candidate, number = base, 1
        while candidate in seen:
            number += 1
            candidate = f"{base[:60]}-{number}"
        cell.id = candidate
        seen.add(candidate)


def live_name(lecture_name: str) -> str:
    """``03-logistic-regression.ipynb`` -> ``03-logistic-regression-live.ipynb``."""
    match = LECTURE_NAME.match(lecture_name)
    if not match:
        raise ValueError(f"Expected a lecture notebook name like '03-topic.ipynb', got {lecture_name!r}.")
    return f"{match.group('stem')}{LIVE_SUFFIX}.ipynb"


def make_live_notebook(
    lecture: NotebookNode, lecture_name: str, config: ColabConfig, notebooks_path: str = "notebooks"
) -> NotebookNode:
    """Build the live twin of a lecture notebook (the lecture itself is not changed).

    ``lecture_name`` is the lecture's file name (``03-topic.ipynb``) and ``notebooks_path``
    the notebooks folder inside the repository; both go into the Colab badge's URL.

    Example:
        >>> lecture = nbformat.v4.new_notebook(cells=[
        ...     nbformat.v4.new_markdown_cell("# Logistic regression"),
        ...     nbformat.v4.new_code_cell("# define the model here\\nmodel = Net()",
        ...                               metadata={"tags": ["live-blank"]})])
        >>> live = make_live_notebook(lecture, "03-logistic.ipynb", ColabConfig("me/course"))
        >>> [cell.metadata["tags"][0] if "tags" in cell.metadata else cell.source for cell in live.cells]
        ['live-note', '# Logistic regression', 'colab-badge', 'colab-install', '# define the model here\\n...']
    """
    problems = lint_notebook(lecture)
    if problems:
        raise MarkerError(
            "; ".join(f"cell {index + 1} ({_first_line(lecture.cells[index])}): {message}" for index, message in problems)
        )
    new = copy.deepcopy(lecture)
    for index, cell in enumerate(new.cells):
        cell.id = live_cell_id(cell, index)
    new.nbformat = 4
    new.nbformat_minor = max(5, lecture.get("nbformat_minor", 0))
    new = strip_stamped_cells(new)
    new = drop_cells(new)
    new = blank_cells(new)
    new = clear_outputs(new)
    new = stamp_colab(new, config, f"{notebooks_path}/{LIVE_DIR}/{live_name(lecture_name)}")
    new = add_live_note(new, lecture_name)
    _unique_ids(new)
    return new


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def notebook_text(nb: NotebookNode) -> str:
    """The notebook as nbformat writes it: sorted keys, one-space indent, final newline."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` to ``path`` exactly as :func:`notebook_text` formats it.

    The write is atomic: the text goes to a temporary file in the same folder, which
    then replaces ``path`` in one step (``os.replace``). An interruption (Ctrl-C, a
    full disk) leaves the old notebook or the new one, never half of one -- this
    matters, since a lecture notebook is the only source. The temporary file is
    removed if anything fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        temp.write_bytes(notebook_text(nb).encode("utf-8"))
        if path.exists():
            shutil.copymode(path, temp)   # keep the notebook's file permissions
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)      # nothing left behind (after os.replace it is gone already)


def lecture_notebooks(notebooks_dir: Path) -> list[Path]:
    """The lecture notebooks: ``NN-*.ipynb`` directly in ``notebooks_dir``, sorted."""
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if LECTURE_NAME.match(p.name))


def live_path_for(lecture: Path) -> Path:
    """Where the live twin of a lecture notebook lives."""
    return lecture.parent / LIVE_DIR / live_name(lecture.name)


def _repo_relative(notebooks_dir: Path, repo_root: Path) -> str:
    """The notebooks folder as a path inside the repository (``notebooks``) for the Colab URLs."""
    try:
        return notebooks_dir.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return notebooks_dir.name


def _display(path: Path) -> str:
    """A path as short as possible for messages (relative to the working directory if inside it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _is_generated(path: Path) -> bool:
    """True when ``path`` is a notebook this tool wrote (its first cell is the live note)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable: certainly not ours
        return False
    return bool(nb.cells) and has_tag(nb.cells[0], NOTE_TAG)


# --------------------------------------------------------------------------------------
# Checking one lecture and its twin
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something ``--check`` reports: which notebook, which cell (from 1; None = whole notebook), why.

    ``snippet`` is the cell's first line, so that a person finds the cell quickly.

    Example:
        >>> print(Problem("notebooks/03-x.ipynb", 7, "line 2: '# live-end' without a '# live-start' before it",
        ...               "for epoch in range(3):"))
        notebooks/03-x.ipynb, cell 7 (starts "for epoch in range(3):"): line 2: '# live-end' without a '# live-start' before it
    """

    notebook: str
    cell: int | None
    message: str
    snippet: str = ""

    def __str__(self) -> str:
        where = self.notebook
        if self.cell is not None:
            where += f", cell {self.cell}"
            if self.snippet:
                where += f' (starts "{self.snippet}")'
        return f"{where}: {self.message}"


def _first_difference(on_disk: dict, expected: dict) -> str:
    """Say where two notebooks (as JSON data) first differ, for a "stale" message."""
    disk_cells, want_cells = on_disk.get("cells", []), expected.get("cells", [])
    for index, (have, want) in enumerate(zip(disk_cells, want_cells)):
        if have != want:
            return f"first difference at cell {index + 1}"
    if len(disk_cells) != len(want_cells):
        return f"it has {len(disk_cells)} cells, the lecture gives {len(want_cells)}"
    return "its notebook metadata differs"


@dataclass
class LectureResult:
    """What processing one lecture gave: the stamped lecture, its live twin (if markers allow), problems."""

    lecture: Path
    stamped: NotebookNode | None
    stamp_changed: bool
    live: NotebookNode | None
    problems: list[Problem]


def process_lecture(path: Path, config: ColabConfig, notebooks_path: str = "notebooks") -> LectureResult:
    """Read one lecture, stamp it, build its twin, and collect every problem (writes nothing).

    Problems found here: unreadable notebook, marker/tag errors, lecture cells or live
    cells that do not parse. (Whether files on disk are stale is decided by the caller.)
    """
    shown = _display(path)
    try:
        lecture = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - any reading error is reported, not raised
        return LectureResult(path, None, False, None, [Problem(shown, None, f"cannot read the notebook: {error}")])

    stamped = stamp_colab(lecture, config, f"{notebooks_path}/{path.name}")

    def problem(index: int, message: str) -> Problem:
        return Problem(shown, index + 1, message, _first_line(lecture.cells[index]))

    marker_problems = [problem(index, message) for index, message in lint_notebook(lecture)]
    parse_problems = []
    for index, cell in enumerate(lecture.cells):
        if cell.cell_type == "code" and not _may_not_parse(cell) and not any(has_tag(cell, t) for t in STAMPED_TAGS):
            reason = parse_problem(cell.source)
            if reason:
                parse_problems.append(problem(index, f"does not parse: {reason}"))
    problems = marker_problems + parse_problems

    live = None
    if not marker_problems:  # markers decide what the twin looks like: no twin while they are wrong
        live = make_live_notebook(lecture, path.name, config, notebooks_path)
        origin = {live_cell_id(cell, index): index for index, cell in enumerate(lecture.cells)}
        broken_in_lecture = {p.cell - 1 for p in parse_problems if p.cell is not None}
        for live_index, cell in enumerate(live.cells):
            if cell.cell_type != "code" or _may_not_parse(cell):
                continue
            reason = parse_problem(cell.source)
            index = origin.get(cell.id)
            if reason and index not in broken_in_lecture:
                message = f"its live version (live cell {live_index + 1}) does not parse: {reason}"
                problems.append(problem(index, message) if index is not None else Problem(shown, None, message))
    return LectureResult(path, stamped, stamped != lecture, live, problems)


# --------------------------------------------------------------------------------------
# The whole course
# --------------------------------------------------------------------------------------


@dataclass
class RunReport:
    """What a run did (``written``) and found (``problems``) over all lecture notebooks."""

    lectures: int
    written: list[str]
    problems: list[Problem]
    code_cells: int


def run(notebooks_dir: Path, config: ColabConfig, *, check: bool, repo_root: Path | None = None) -> RunReport:
    """Stamp the lectures and write their live twins -- or, with ``check=True``, only look.

    In check mode nothing is written; stale files become problems instead. In write mode
    a lecture with marker errors gets no new twin (its old twin is left alone), and a
    generated twin whose lecture is gone is removed.
    """
    notebooks_dir = Path(notebooks_dir)
    notebooks_path = _repo_relative(notebooks_dir, repo_root) if repo_root else notebooks_dir.name
    lectures = lecture_notebooks(notebooks_dir)
    written: list[str] = []
    problems: list[Problem] = []
    code_cells = 0
    for path in lectures:
        result = process_lecture(path, config, notebooks_path)
        problems.extend(result.problems)
        if result.stamped is not None:
            if result.stamp_changed:
                if check:
                    problems.append(
                        Problem(
                            _display(path),
                            None,
                            "its Colab badge or install cell is missing or out of date "
                            f"(repository {config.repository}, branch {config.branch}); run python -m course_utils.live",
                        )
                    )
                else:
                    write_notebook(result.stamped, path)
                    written.append(_display(path))
        if result.live is None:
            continue
        code_cells += sum(cell.cell_type == "code" for cell in result.live.cells)
        twin = live_path_for(path)
        expected = json.loads(notebook_text(result.live))
        try:
            on_disk = json.loads(twin.read_text(encoding="utf-8")) if twin.exists() else None
        except (OSError, ValueError):
            on_disk = {}
        if on_disk == expected:
            continue
        if check:
            reason = "is missing" if on_disk is None else f"is stale ({_first_difference(on_disk, expected)})"
            problems.append(Problem(_display(twin), None, f"{reason}; run python -m course_utils.live"))
        else:
            write_notebook(result.live, twin)
            written.append(_display(twin))

    wanted = {live_path_for(path).name for path in lectures}
    live_dir = notebooks_dir / LIVE_DIR
    for twin in sorted(live_dir.glob("*.ipynb")) if live_dir.is_dir() else []:
        if twin.name in wanted:
            continue
        if not check and _is_generated(twin):
            twin.unlink()
            written.append(f"removed {_display(twin)}")
        else:
            problems.append(
                Problem(
                    _display(twin),
                    None,
                    "has no lecture notebook (expected "
                    f"{_display(notebooks_dir / (twin.stem.removesuffix(LIVE_SUFFIX) + '.ipynb'))}); "
                    + ("run python -m course_utils.live to remove it" if _is_generated(twin) else
                       "live notebooks are generated - move hand-written notebooks out of notebooks/live/"),
                )
            )
    return RunReport(len(lectures), written, problems, code_cells)


def find_repo_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder up from ``start`` (default: the working
    directory) that holds ``pyproject.toml`` and ``notebooks/``; otherwise the checkout
    this package was imported from."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parents[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m course_utils.live [--check] [--notebooks DIR] [--config PYPROJECT]``.

    Returns the exit status: 0 when all is well, 1 when there are problems (each printed
    on its own line: notebook, cell, reason), 2 for a wrong configuration.
    """
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.live",
        description="Generate notebooks/live/NN-topic-live.ipynb from every lecture notebook "
        "notebooks/NN-topic.ipynb and stamp the Colab badge and install cell into both.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale or wrong")
    parser.add_argument("--notebooks", type=Path, help="the lecture notebooks folder (default: notebooks/)")
    parser.add_argument("--config", type=Path, help="pyproject.toml with [tool.course_utils.colab]")
    args = parser.parse_args(argv)

    root = find_repo_root()
    notebooks_dir = args.notebooks or root / "notebooks"
    config_path = args.config
    if config_path is None:
        beside = notebooks_dir.parent / "pyproject.toml"
        config_path = beside if args.notebooks and beside.is_file() else root / "pyproject.toml"
    if not notebooks_dir.is_dir():
        print(f"error: no notebooks folder at {notebooks_dir}; pass --notebooks DIR", file=sys.stderr)
        return 2
    try:
        config = read_colab_config(config_path)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    report = run(notebooks_dir, config, check=args.check, repo_root=config_path.parent)
    for line in report.written:
        print(line if line.startswith("removed") else f"wrote {line}")
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.problems:
        print(
            f"{len(report.problems)} problem(s) in {_display(notebooks_dir)}; "
            "see 'Writing a lecture so its live twin comes out right' in the README.",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(
            f"OK: {report.lectures} lecture notebook(s) in {_display(notebooks_dir)}: live twins and Colab "
            f"cells up to date, all {report.code_cells} live code cells parse."
        )
    else:
        print(
            f"OK: {report.lectures} lecture notebook(s), {len(report.written)} file(s) written "
            f"(Colab: {config.repository}@{config.branch})."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
