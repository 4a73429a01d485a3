"""Helpers shared by the live-tool tests (tests/test_live_*.py): tiny notebooks and repositories to run the tool on.

Every test builds its own tiny notebooks with nbformat in a temporary folder; the
repository's lecture notebooks are only read, never written.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_tools import live

REPO = Path(__file__).resolve().parents[1]
CONFIG = live.ColabConfig("owner/course", "main")
PYPROJECT = """\
[project]
name = "course-utils"

[tool.course_utils.colab]
repository = "{repository}"
branch = "{branch}"
"""


def code(source: str, *tags: str, **fields) -> nbformat.NotebookNode:
    """A code cell with the given tags."""
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {}, **fields)


def md(source: str, *tags: str) -> nbformat.NotebookNode:
    """A markdown cell with the given tags."""
    return new_markdown_cell(source, metadata={"tags": list(tags)} if tags else {})


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook with fixed cell ids (so that files are comparable between runs)."""
    nb = new_notebook(cells=list(cells), metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index}"
    return nb


def lecture() -> nbformat.NotebookNode:
    """A small lecture with every kind of marker."""
    return notebook(
        md("# Logistic regression\n\nSoftmax and cross-entropy."),
        md("## Learning goals\n- write a training loop"),
        code("import math\nx = 3", "hide-input"),
        code("# define the model here\nmodel = [1, 2, 3]", "live-blank"),
        code(
            "def train(model, epochs):\n"
            "    for epoch in range(epochs):\n"
            "        # live-start: training steps in here\n"
            "        loss = sum(model)\n"
            "        model = [m - 0.1 for m in model]\n"
            "        # live-end\n"
            "        print(epoch)\n"
            "    return model"
        ),
        code("print('instructor only')", "live-drop"),
        md("Instructor's note: say something about Bishop (2006).", "live-drop"),
        code("train(model, 2)", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="0\n1\n")]),
    )


def make_repo(tmp_path: Path, *lectures: tuple[str, nbformat.NotebookNode], repository: str = "owner/course",
              branch: str = "main", checked: list[str] | str | None = None) -> Path:
    """A repository folder: pyproject.toml with the Colab (and live) tables, and notebooks/ with the lectures."""
    text = PYPROJECT.format(repository=repository, branch=branch)
    if checked is not None:
        value = '"all"' if checked == "all" else "[" + ", ".join(f'"{stem}"' for stem in checked) + "]"
        text += f"\n[tool.course_utils.live]\nchecked = {value}\n"
    (tmp_path / "pyproject.toml").write_text(text)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name, nb in lectures:
        nbformat.write(nb, notebooks / name)
    return tmp_path


def cli(repo: Path, *args: str) -> int:
    """Run the command line on a temporary repository."""
    return live.main([*args, "--notebooks", str(repo / "notebooks"), "--config", str(repo / "pyproject.toml")])


def file_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def cell_with(nb: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    """The first cell whose source contains ``text``."""
    return next(cell for cell in nb.cells if text in cell.source)
