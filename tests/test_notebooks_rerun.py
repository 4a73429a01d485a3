"""Every lecture notebook runs top to bottom twice in ONE kernel, in fast mode.

nbval (run by `make test` on notebooks/NN-*.ipynb) executes each notebook once in
a fresh kernel. Students and instructors also re-run cells and whole notebooks
without restarting: a second "run all" in the same kernel must not fail, and
must not stack forward hooks or leak other state. This test does exactly that.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")
pytestmark = pytest.mark.slow   # runs every lecture twice

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def run_all_cells(client, notebook) -> None:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            client.execute_cell(cell, index)   # raises CellExecutionError on an error


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_notebook_runs_twice_in_one_kernel(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The kernel inherits this process's environment: fast mode, the repository's
    # data folder, and the labelled synthetic stand-in where real data is absent;
    # checkpoints of this run only (the second run finds the first run's finished ones).
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    monkeypatch.setenv("COURSE_DATA_DIR", str(REPO / "data"))

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    with client.setup_kernel():
        run_all_cells(client, notebook)     # an error in a cell raises CellExecutionError: the test fails
        first = [cell.execution_count for cell in code_cells]
        run_all_cells(client, notebook)
    second = [cell.execution_count for cell in code_cells]

    # Both runs went through every cell, in order, in the same kernel: the kernel numbered each
    # cell of the second run exactly one run after its first.
    assert first == list(range(first[0], first[0] + len(code_cells)))
    assert second == [count + len(code_cells) for count in first]
