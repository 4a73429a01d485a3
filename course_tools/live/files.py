"""Notebook files: where they live, writing them safely, and telling real drift from editor noise.

A live twin is *stale* when what it teaches differs from what the tool would generate
now. Opening and saving a notebook in JupyterLab (or Colab) changes things that mean
nothing for that: the kernelspec's display name ("Python 3" -> "Python 3 (ipykernel)"),
``metadata.language_info``, widget state, cell ids, and cell metadata such as execution
timings, ``collapsed``, ``scrolled`` or ``trusted``. :func:`meaningful` keeps only what
matters -- the cells' order, types, sources, tags, attachments and, for code cells,
outputs and execution counts (a twin is committed without them), plus the kernel's name
-- and the comparison uses that.

Example:
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    >>> saved = nbformat.from_dict(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))
    >>> saved.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    >>> saved.cells[0].metadata["execution"] = {"iopub.status.idle": "2025-01-01T00:00:00Z"}
    >>> same_notebook(nb, saved)
    True
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_utils.live.packagedata import write_text_atomic

from .markers import cell_tags, has_tag, NOTE_TAG
from .twin import LECTURE_NAME, LIVE_DIR, live_name


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
    write_text_atomic(path, notebook_text(nb))


def lecture_notebooks(notebooks_dir: Path) -> list[Path]:
    """The lecture notebooks: ``NN-*.ipynb`` directly in ``notebooks_dir``, sorted."""
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if LECTURE_NAME.match(p.name))


def live_path_for(lecture: Path) -> Path:
    """Where the live twin of a lecture notebook lives."""
    return lecture.parent / LIVE_DIR / live_name(lecture.name)


def repo_relative(notebooks_dir: Path, repo_root: Path) -> str:
    """The notebooks folder as a path inside the repository (``notebooks``) for the Colab URLs."""
    try:
        return notebooks_dir.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return notebooks_dir.name


def display(path: Path) -> str:
    """A path as short as possible for messages (relative to the working directory if inside it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def is_generated(path: Path) -> bool:
    """True when ``path`` is a notebook this tool wrote (its first cell is the live note)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable: certainly not ours
        return False
    return bool(nb.cells) and has_tag(nb.cells[0], NOTE_TAG)


# --------------------------------------------------------------------------------------
# Staleness that survives JupyterLab
# --------------------------------------------------------------------------------------


def meaningful(nb: NotebookNode | dict) -> dict:
    """What a live twin means, without what an editor changes on its own (see the module docstring).

    Example:
        >>> cell = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["hide-input"], "scrolled": True})
        >>> meaningful(nbformat.v4.new_notebook(cells=[cell]))["cells"]
        [{'cell_type': 'code', 'source': 'x = 1', 'tags': ['hide-input'], 'outputs': [], 'execution_count': None}]
    """
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        entry = {
            "cell_type": cell.get("cell_type"),
            "source": "".join(source) if isinstance(source, list) else source,
            "tags": cell_tags(cell),
        }
        if cell.get("attachments"):
            entry["attachments"] = cell["attachments"]
        if cell.get("cell_type") == "code":
            entry["outputs"] = cell.get("outputs", [])
            entry["execution_count"] = cell.get("execution_count")
        cells.append(entry)
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    return {"kernel": kernel, "cells": cells}


def same_notebook(a: NotebookNode | dict, b: NotebookNode | dict) -> bool:
    """True when two notebooks mean the same (:func:`meaningful`)."""
    return meaningful(a) == meaningful(b)


def first_difference(on_disk: NotebookNode | dict, expected: NotebookNode | dict) -> str:
    """Say where two notebooks first differ in meaning, for a "stale" message.

    Example:
        >>> one = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        >>> two = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])
        >>> first_difference(one, two)
        'first difference at cell 1: its source'
    """
    have, want = meaningful(on_disk), meaningful(expected)
    for index, (a, b) in enumerate(zip(have["cells"], want["cells"])):
        if a != b:
            what = next(key for key in ("cell_type", "source", "tags", "attachments", "outputs", "execution_count")
                        if a.get(key) != b.get(key))
            label = {"cell_type": "its type", "source": "its source", "tags": "its tags",
                     "attachments": "its attachments", "outputs": "it has outputs",
                     "execution_count": "it has an execution count"}[what]
            return f"first difference at cell {index + 1}: {label}"
    if len(have["cells"]) != len(want["cells"]):
        return f"it has {len(have['cells'])} cells, the lecture gives {len(want['cells'])}"
    return f"its kernel is {have['kernel']!r}, expected {want['kernel']!r}"


# --------------------------------------------------------------------------------------
# Work done in a twin: never overwritten without being told to
# --------------------------------------------------------------------------------------

STAMP_KEY = "course_live"
"""Notebook metadata key of the stamp a generated twin carries: ``{"generated": "<digest>"}``."""

WORK_DIR = "class-work"
"""Folder (beside ``notebooks/``) where a twin that held work is copied before it is replaced."""


def digest(nb: NotebookNode | dict) -> str:
    """A short hash of what a notebook means (:func:`meaningful`): the same after JupyterLab opens and saves it."""
    text = json.dumps(meaningful(nb), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def stamp_generated(nb: NotebookNode) -> NotebookNode:
    """Stamp a generated twin with the digest of what it means, so that later edits can be told apart.

    Example:
        >>> nb = stamp_generated(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))
        >>> holds_work(nb) is None
        True
        >>> nb.cells[0].execution_count = 1
        >>> holds_work(nb)
        '1 cell was run'
    """
    nb.metadata[STAMP_KEY] = {"generated": digest(nb)}
    return nb


def is_stamped_as(on_disk: NotebookNode | dict, generated: NotebookNode | dict) -> bool:
    """True when ``on_disk`` carries the same generation stamp as ``generated``."""
    return on_disk.get("metadata", {}).get(STAMP_KEY) == generated.get("metadata", {}).get(STAMP_KEY)


def holds_work(nb: NotebookNode | dict) -> str | None:
    """What someone did in a live twin since it was generated (``"12 cells were run, 2 edited"``), or None.

    A twin carries the digest of what it meant when the tool wrote it (:func:`stamp_generated`);
    any change of meaning since -- cells run (outputs, execution counts), code typed into
    the blanks, cells added or removed -- is someone's work. A twin without the stamp (written
    by an older version of the tool) counts as holding work when it has outputs or execution counts.
    """
    cells = [cell for cell in nb.get("cells", []) if cell.get("cell_type") == "code"]
    ran = sum(bool(cell.get("outputs")) or cell.get("execution_count") is not None for cell in cells)
    ran_words = f"{ran} cell{'s were' if ran != 1 else ' was'} run" if ran else ""
    stamp = nb.get("metadata", {}).get(STAMP_KEY, {}).get("generated")
    if stamp is None:
        return ran_words or None
    if stamp == digest(nb):
        return None
    return ran_words or "it was edited since the tool wrote it"


def keep_a_copy(path: Path, work_dir: Path) -> Path:
    """Copy a twin that holds work to ``work_dir/<name>-<date-time>.ipynb`` before it is replaced; the copy's path."""
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
    number = 1
    while target.exists():
        number += 1
        target = work_dir / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{number}.ipynb"
    shutil.copy2(path, target)
    return target
