"""Tests for building live twins and for notebook files (course_utils/live/twin.py, blanks.py, files.py)."""
from __future__ import annotations

import ast
import doctest
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from course_utils import live
from test_live_helpers import CONFIG, PYPROJECT, REPO, cell_with, cli, code, lecture, make_repo, md, notebook, read, snapshot


# ----------------------------------------------------------------------------- clearing


def test_clear_outputs_clears_outputs_counts_widgets_and_our_tags_only():
    nb = lecture()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[7].metadata["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00"}
    cleared = live.clear_outputs(nb)
    assert "widgets" not in cleared.metadata and "kernelspec" in cleared.metadata
    assert all(c.outputs == [] and c.execution_count is None for c in cleared.cells if c.cell_type == "code")
    assert "execution" not in cleared.cells[7].metadata
    assert cleared.cells[2].metadata["tags"] == ["hide-input"]
    assert "tags" not in cleared.cells[3].metadata  # live-blank was its only tag
    assert nb.cells[7].outputs  # the argument is not changed



# ----------------------------------------------------------------------------- the live notebook


def test_make_live_notebook():
    nb = lecture()
    result = live.make_live_notebook(nb, "03-x.ipynb", CONFIG)
    nbformat.validate(result)
    sources = [c.source for c in result.cells]
    assert live.cell_tags(result.cells[0]) == ["live-note"] and "03-x.ipynb" in sources[0]
    assert "do not edit" in sources[0]
    assert sources[1].startswith("# Logistic regression")
    assert "notebooks/live/03-x-live.ipynb" in sources[2]
    assert live.cell_tags(result.cells[4]) == ["colab-install", "nbval-ignore-output"]
    assert sources[5] == "import math\nx = 3" and result.cells[5].metadata["tags"] == ["hide-input"]
    assert sources[6] == "# define the model here\n..."
    assert "        # training steps in here\n        ...\n        print(epoch)" in sources[7]
    assert not any("instructor" in s.lower() for s in sources)
    assert all(c.outputs == [] and c.execution_count is None for c in result.cells if c.cell_type == "code")
    assert [c.id for c in result.cells] == [
        "live-note", "c0", "colab-badge", "c1", "colab-install", "c2", "c3", "c4", "c7"
    ]
    for cell in result.cells:
        if cell.cell_type == "code":
            assert live.parse_problem(cell.source) is None
    assert nb == lecture()  # the lecture is not changed


def test_make_live_notebook_is_byte_stable_and_ignores_the_lectures_stamps():
    plain = live.make_live_notebook(lecture(), "03-x.ipynb", CONFIG)
    stamped_lecture = live.stamp_colab(lecture(), CONFIG, "notebooks/03-x.ipynb")
    from_stamped = live.make_live_notebook(stamped_lecture, "03-x.ipynb", CONFIG)
    assert live.notebook_text(plain) == live.notebook_text(from_stamped)
    assert live.notebook_text(plain).endswith("}\n")


def test_make_live_notebook_refuses_wrong_markers_naming_the_cell():
    nb = notebook(md("# T"), code("for x in y:\n    # live-start: body\n    pass"))
    with pytest.raises(live.MarkerError, match=r"cell 2 .*never closed"):
        live.make_live_notebook(nb, "01-t.ipynb", CONFIG)


def test_live_notebook_of_an_old_lecture_without_ids_gets_deterministic_ids():
    nb = notebook(md("# T"), code("x"))
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    result = live.make_live_notebook(nb, "01-t.ipynb", CONFIG)
    assert result.nbformat_minor == 5
    assert [c.id for c in result.cells] == ["live-note", "cell-1", "colab-badge", "colab-install", "cell-2"]
    nbformat.validate(result)


def test_live_name():
    assert live.live_name("03-logistic-regression.ipynb") == "03-logistic-regression-live.ipynb"
    with pytest.raises(ValueError, match="03-topic.ipynb"):
        live.live_name("intro.ipynb")


def test_write_notebook_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    path = folder / "03-x.ipynb"
    live.write_notebook(lecture(), path)
    before = path.read_bytes()
    assert before == live.notebook_text(lecture()).encode("utf-8")
    assert [p.name for p in folder.iterdir()] == ["03-x.ipynb"]

    replaced = []

    def failing_replace(source, target):   # the disk fills up at the last moment
        replaced.append((Path(source), Path(target)))
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    error = None
    try:
        live.write_notebook(notebook(md("# Something else")), path)
    except OSError as raised:
        error = raised
    assert path.read_bytes() == before                                  # the old notebook is intact
    assert [p.name for p in folder.iterdir()] == ["03-x.ipynb"]         # and no temporary file is left
    assert "No space left" in str(error)                                # the failure is not hidden
    assert replaced[0][0].parent == folder and replaced[0][1] == path   # the temporary file was beside it

