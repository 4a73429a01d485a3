"""Every committed lecture notebook is either clean (no outputs) or fully run, top to bottom.

An autosave during a run once committed a half-run notebook: some cells had
outputs, later ones had none. nbval then failed with the obscure "Unrun reference
cell has outputs". This test says what is wrong, and how to fix it, in the
instructor's words.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
FIX = "Restart kernel and run all, then save (Kernel → Restart Kernel and Run All Cells…, then File → Save)."


def may_fail(cell) -> bool:
    """A cell that is meant to raise (nbval's tag or comment): its error output is expected."""
    return "raises-exception" in cell.metadata.get("tags", []) or "NBVAL_RAISES_EXCEPTION" in cell.source


def problems(notebook) -> list[str]:
    """What makes the notebook neither clean nor fully run (an empty list when it is fine)."""
    code = [(number, cell) for number, cell in enumerate(notebook.cells, start=1) if cell.cell_type == "code"]
    ran = [(number, cell) for number, cell in code if cell.execution_count is not None or cell.outputs]
    if not ran:
        return []   # clean: no outputs, no execution counts
    found = []
    previous = 0   # the execution count of the last cell that ran
    for number, cell in code:
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else "(empty cell)"
        where = f"cell {number} ({first_line[:60]!r})"
        if cell.execution_count is None:
            found.append(f"{where} was not run" + (" but has outputs" if cell.outputs else ""))
            continue
        if cell.execution_count != previous + 1:
            found.append(f"{where} has execution count {cell.execution_count}, expected {previous + 1} "
                         "(cells were run out of order, twice, or the kernel was not restarted first)")
        previous = cell.execution_count
        for output in cell.outputs:
            if output.output_type == "error" and not may_fail(cell):
                found.append(f"{where} has an error output: {output.get('ename')}: {output.get('evalue', '')[:80]}")
        for output in cell.outputs:
            if output.get("execution_count") not in (None, cell.execution_count):
                found.append(f"{where} holds a result numbered {output['execution_count']} but is numbered "
                             f"{cell.execution_count} (saved while it was running?)")
    return found


def test_the_lectures_are_numbered_without_gaps_and_the_readme_lists_each() -> None:
    numbers = [path.name[:2] for path in LECTURES]
    assert numbers == [f"{n:02d}" for n in range(1, len(LECTURES) + 1)], numbers
    readme = (REPO / "README.md").read_text()
    assert [path.name for path in LECTURES if f"`{path.name}`" not in readme] == []


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_is_clean_or_fully_run(path: Path) -> None:
    found = problems(nbformat.read(path, as_version=4))
    assert not found, (f"{path.relative_to(REPO)} is half-run: it is neither without outputs nor run top to bottom "
                       "in one go.\n  " + "\n  ".join(found[:10])
                       + (f"\n  ... and {len(found) - 10} more" if len(found) > 10 else "")
                       + f"\nFix: open it in JupyterLab, {FIX}")


# --- the check itself, on tiny notebooks built here -------------------------


def notebook_with(*cells) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# title"), *cells]
    return notebook


def ran(source: str, count: int | None, *outputs) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=count)
    cell.outputs = list(outputs)
    return cell


def text(value: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=value)


def test_clean_and_fully_run_notebooks_pass() -> None:
    assert problems(notebook_with(ran("a = 1", None), ran("print(a)", None))) == []
    assert problems(notebook_with(ran("a = 1", 1), ran("print(a)", 2, text("1\n")), ran("", 3))) == []


def test_a_half_run_notebook_is_named_cell_by_cell() -> None:
    found = problems(notebook_with(ran("a = 1", 1), ran("print(a)", 2, text("1\n")), ran("b = a + 1", None)))
    assert found == ["cell 4 ('b = a + 1') was not run"]


def test_out_of_order_and_rerun_cells_are_caught() -> None:
    found = problems(notebook_with(ran("a = 1", 1), ran("a += 1", 3)))
    assert len(found) == 1 and "execution count 3, expected 2" in found[0]


def test_error_outputs_are_caught_unless_the_cell_is_meant_to_fail() -> None:
    error = nbformat.v4.new_output("error", ename="NameError", evalue="name 'x' is not defined", traceback=[])
    assert "has an error output: NameError" in problems(notebook_with(ran("x", 1, error)))[0]
    meant = ran("x", 1, error)
    meant.metadata["tags"] = ["raises-exception"]
    assert problems(notebook_with(meant)) == []


def test_outputs_without_an_execution_count_are_caught() -> None:
    found = problems(notebook_with(ran("a = 1", 1), ran("print(a)", None, text("1\n"))))
    assert found == ["cell 3 ('print(a)') was not run but has outputs"]


def test_the_failure_message_tells_the_instructor_what_to_do(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "99-half.ipynb"
    nbformat.write(notebook_with(ran("a = 1", 1), ran("a", None)), path)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    with pytest.raises(AssertionError, match="Restart kernel and run all, then save"):
        test_lecture_is_clean_or_fully_run(path)
