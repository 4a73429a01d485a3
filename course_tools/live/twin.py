"""Build a lecture's live twin: a chain of small, pure notebook transformations.

Each function takes a notebook and returns a new one (the argument is not changed), in
the spirit of nbgrader's preprocessors::

    lecture --strip_stamped_cells--> drop_cells --> blank_cells --> clear_outputs
            --> strip_nbval_comments --> stamp_colab (live URL) --> add_live_note  ==  live twin

A *checked* lecture (``[tool.course_utils.live] checked`` in pyproject.toml) gets
:func:`blank_cells_checked` instead of :func:`blank_cells`: blanks become ``cu.blank(...)``
lines that raise a clear error, followed by ``cu.check(...)`` lines (see
:mod:`course_tools.live.blanks`). Every twin carries the kernelspec JupyterLab writes
(``Python 3 (ipykernel)``), so that opening it in JupyterLab changes nothing.

Example:
    >>> import nbformat
    >>> from course_tools.live.settings import ColabConfig
    >>> lecture = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("# Logistic regression"),
    ...     nbformat.v4.new_code_cell("# define the model here\\nmodel = Net()",
    ...                               metadata={"tags": ["live-blank"]})])
    >>> live = make_live_notebook(lecture, "03-logistic.ipynb", ColabConfig("me/course"))
    >>> [cell.metadata["tags"][0] if "tags" in cell.metadata else cell.source for cell in live.cells]
    ['live-note', '# Logistic regression', 'colab-badge', 'colab-install', '# define the model here\\n...']
"""
from __future__ import annotations

import copy
import re

import nbformat
from nbformat import NotebookNode

from .blanks import blank_call, check_call, checked_blank_cell_source, checked_cell_source, find_blanks
from .colab import stamp_colab, strip_stamped_cells
from .markers import (
    BLANK_TAG,
    CHECK_TAG,
    DROP_TAG,
    LIVE_TAGS,
    NOTE_TAG,
    MarkerError,
    blank_cell,
    blank_regions,
    cell_tags,
    first_line,
    has_tag,
    is_nbval_comment,
    lint_notebook,
    set_tags,
)
from .settings import ColabConfig

LECTURE_NAME = re.compile(r"^(?P<stem>\d\d-.+)\.ipynb$")
"""Lecture notebooks are named ``NN-topic.ipynb`` (two digits, a dash, a topic)."""

LIVE_SUFFIX = "-live"
LIVE_DIR = "live"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
"""The kernelspec of every live twin: what JupyterLab 4 writes when it opens a notebook."""


def lecture_stem(lecture_name: str) -> str:
    """``03-logistic-regression.ipynb`` -> ``03-logistic-regression`` (the name used in ``cu.check``)."""
    match = LECTURE_NAME.match(lecture_name)
    if not match:
        raise ValueError(f"Expected a lecture notebook name like '03-topic.ipynb', got {lecture_name!r}.")
    return match.group("stem")


def live_name(lecture_name: str) -> str:
    """``03-logistic-regression.ipynb`` -> ``03-logistic-regression-live.ipynb``."""
    return f"{lecture_stem(lecture_name)}{LIVE_SUFFIX}.ipynb"


def drop_cells(nb: NotebookNode) -> NotebookNode:
    """Leave out every cell tagged ``live-drop`` (code, markdown or raw)."""
    new = copy.deepcopy(nb)
    new.cells = [cell for cell in new.cells if not has_tag(cell, DROP_TAG)]
    return new


def blank_cells(nb: NotebookNode) -> NotebookNode:
    """Blank every ``live-blank`` code cell and every marked region with ``...`` (unchecked lectures).

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


def check_cell(stem: str, number: int, after: NotebookNode) -> NotebookNode:
    """The cell ``cu.check(stem, number)`` (tag ``live-check``) that follows a ``live-blank`` cell."""
    cell = nbformat.v4.new_code_cell(check_call(stem, number), metadata={"tags": [CHECK_TAG]})
    cell.id = f"{after.get('id', 'cell')[:57]}-check"
    return cell


def blank_cells_checked(nb: NotebookNode, stem: str) -> NotebookNode:
    """Blank every blank of a checked lecture with a ``cu.blank(...)`` line, and add the check lines.

    Run it on the whole lecture (before cells are dropped), since blanks are numbered there.

    Example:
        >>> lecture = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        ...     "# make x — later cells use: x\\nx = 1", metadata={"tags": ["live-blank"]})])
        >>> [cell.source for cell in blank_cells_checked(lecture, "01-demo").cells]
        ['# make x — later cells use: x\\ncu.blank("01-demo", 1)', 'cu.check("01-demo", 1)']
    """
    new = copy.deepcopy(nb)
    by_cell: dict[int, list] = {}
    call_sites: dict[int, list] = {}
    for blank in find_blanks(new):
        by_cell.setdefault(blank.cell, []).append(blank)
        if blank.call_site is not None:
            call_sites.setdefault(blank.call_site.cell, []).append(blank)
    cells = []
    for index, cell in enumerate(new.cells):
        blanks = by_cell.get(index)
        if not blanks:
            if index in call_sites:
                cell.source = checked_cell_source(cell.source, [], stem, call_sites[index])
            cells.append(cell)
        elif blanks[0].region is None:
            cell.source = checked_blank_cell_source(blanks[0], stem)
            cells.append(cell)
            if blanks[0].needs_check:
                cells.append(check_cell(stem, blanks[0].number, cell))
        else:
            cell.source = checked_cell_source(cell.source, blanks, stem, call_sites.get(index))
            cells.append(cell)
    new.cells = cells
    return new


NBVAL_TAGS = {"NBVAL_RAISES_EXCEPTION": "raises-exception", "NBVAL_SKIP": "nbval-skip"}
"""``# NBVAL_...`` comments that change how a cell runs, and the cell tag that says the same without a comment."""


def strip_nbval_comments(nb: NotebookNode) -> NotebookNode:
    """Remove the ``# NBVAL_...`` comment lines students need not read; keep their meaning as cell tags.

    A twin has no outputs, so ``# NBVAL_CHECK_OUTPUT`` and ``# NBVAL_IGNORE_OUTPUT`` mean
    nothing there; ``# NBVAL_RAISES_EXCEPTION`` and ``# NBVAL_SKIP`` become the tags
    ``raises-exception`` and ``nbval-skip``, which nbval (and nbclient, for the first) read
    the same way.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\\nx = 1"),
        ...                                      nbformat.v4.new_code_cell("# NBVAL_RAISES_EXCEPTION\\n1 / 0")])
        >>> [(cell.source, cell_tags(cell)) for cell in strip_nbval_comments(nb).cells]
        [('x = 1', []), ('1 / 0', ['raises-exception'])]
    """
    new = copy.deepcopy(nb)
    for cell in new.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        kept = [line for line in lines if not is_nbval_comment(line)]
        if len(kept) == len(lines):
            continue
        tags = cell_tags(cell)
        for line in lines:
            word = line.strip().lstrip("#").strip().split()[0] if is_nbval_comment(line) else ""
            if word in NBVAL_TAGS and NBVAL_TAGS[word] not in tags:
                tags.append(NBVAL_TAGS[word])
        set_tags(cell, tags)
        cell.source = "\n".join(kept)
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
        set_tags(cell, [tag for tag in cell_tags(cell) if tag not in LIVE_TAGS])
    return new


def live_note_source(lecture_name: str, checked: bool = False) -> str:
    """Markdown of the note that opens every live notebook."""
    generated = f"> **Live notebook, generated from [`{lecture_name}`](../{lecture_name}) - do not edit it by hand.** "
    change = "To change this notebook, edit the lecture notebook and run `python -m course_tools.live`."
    if not checked:
        return generated + "The code written in class is left blank (`...`). " + change
    stem = lecture_stem(lecture_name)
    return (
        generated
        + f"Each blank is a line `{blank_call(stem, 1).replace(', 1)', ', N)')}`: replace it by your code. "
        f"The `{check_call(stem, 1).replace(', 1)', ', N)')}` line after a blank then says whether your code made "
        "what the lecture's does. Behind? "
        f"`cu.catch_up(\"{stem}\", N)` runs the lecture's code for blank N. " + change
    )


def add_live_note(nb: NotebookNode, lecture_name: str, checked: bool = False) -> NotebookNode:
    """Put the "generated, do not edit" note (tag ``live-note``) first."""
    new = copy.deepcopy(nb)
    new.cells = [c for c in new.cells if not has_tag(c, NOTE_TAG)]
    note = nbformat.v4.new_markdown_cell(live_note_source(lecture_name, checked), metadata={"tags": [NOTE_TAG]})
    note.id = NOTE_TAG
    new.cells.insert(0, note)
    return new


def live_cell_id(cell: NotebookNode, index: int) -> str:
    """The id a lecture cell's counterpart gets in the live twin: the same id, or ``cell-N``.

    Deterministic ids keep the generated file byte-for-byte the same from run to run.
    """
    return cell.get("id") or f"cell-{index + 1}"


def unique_ids(nb: NotebookNode) -> None:
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


def make_live_notebook(
    lecture: NotebookNode,
    lecture_name: str,
    config: ColabConfig,
    notebooks_path: str = "notebooks",
    *,
    checked: bool = False,
) -> NotebookNode:
    """Build the live twin of a lecture notebook (the lecture itself is not changed).

    ``lecture_name`` is the lecture's file name (``03-topic.ipynb``) and ``notebooks_path``
    the notebooks folder inside the repository; both go into the Colab badge's URL.
    ``checked=True`` gives the checked blanks (``cu.blank``/``cu.check`` lines).
    """
    problems = lint_notebook(lecture)
    if problems:
        raise MarkerError(
            "; ".join(f"cell {index + 1} ({first_line(lecture.cells[index])}): {message}" for index, message in problems)
        )
    new = copy.deepcopy(lecture)
    for index, cell in enumerate(new.cells):
        cell.id = live_cell_id(cell, index)
    new.nbformat = 4
    new.nbformat_minor = max(5, lecture.get("nbformat_minor", 0))
    if checked:
        new = blank_cells_checked(new, lecture_stem(lecture_name))
    new = strip_stamped_cells(new)
    new = drop_cells(new)
    if not checked:
        new = blank_cells(new)
    new = strip_nbval_comments(clear_outputs(new))
    new.metadata["kernelspec"] = dict(KERNELSPEC)
    new = stamp_colab(new, config, f"{notebooks_path}/{LIVE_DIR}/{live_name(lecture_name)}")
    new = add_live_note(new, lecture_name, checked)
    unique_ids(new)
    return new
