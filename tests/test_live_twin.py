"""Tests for building live twins and for notebook files (course_tools/live/twin.py, blanks.py, files.py)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from course_tools import live
from course_utils.live import BlankNotFilled
from live_helpers import CONFIG, code, lecture, md, notebook


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



# ----------------------------------------------------------------------------- checked twins


def checked_lecture() -> nbformat.NotebookNode:
    """A lecture whose blanks list what they make: a cell, a top-level region, regions in a loop and a function."""
    return notebook(
        md("# Demo"),
        code("import course_utils as cu\nimport math"),
        code("# make x — later cells use: x\nx = 3", "live-blank"),
        code("y = 1\n# live-start: double x — later cells use: doubled\ndoubled = 2 * x\n# live-end\nprint(doubled)"),
        code("for k in range(3):\n    # live-start: square k — later cells use: square\n    square = k * k\n"
             "    # live-end\n    print(square)\nprint('done')"),
        code("def f(v):\n    # live-start: add one — later lines use: w\n    w = v + 1\n    # live-end\n    return w"),
        code("# a blank that makes nothing later cells need\nprint(x)", "live-blank"),
        code("print(doubled, square, f(1))"),
    )


def test_checked_blanks_are_blank_lines_followed_by_check_lines():
    live_nb = live.make_live_notebook(checked_lecture(), "01-demo.ipynb", CONFIG, checked=True)
    sources = [cell.source for cell in live_nb.cells if cell.cell_type == "code"][1:]
    assert sources[0] == "import course_utils as cu\nimport math"
    assert sources[1] == '# make x — later cells use: x\ncu.blank("01-demo", 1)'
    assert sources[2] == 'cu.check("01-demo", 1)'
    assert sources[3] == ('y = 1\n# double x — later cells use: doubled\ncu.blank("01-demo", 2)\n'
                          'cu.check("01-demo", 2)\nprint(doubled)')
    # in a loop: the check comes after the whole loop, at the top level
    assert sources[4] == ('for k in range(3):\n    # square k — later cells use: square\n    cu.blank("01-demo", 3)\n'
                          '    print(square)\ncu.check("01-demo", 3)\nprint(\'done\')')
    # in a function: no check line, and the function can still be defined
    assert sources[5] == 'def f(v):\n    # add one — later lines use: w\n    cu.blank("01-demo", 4)\n    return w'
    assert sources[6] == '# a blank that makes nothing later cells need\ncu.blank("01-demo", 5)'
    assert not any("..." in source for source in sources)          # nothing prints "Ellipsis"
    check_cell = next(cell for cell in live_nb.cells if cell.source == 'cu.check("01-demo", 1)')
    assert check_cell.id == "c2-check" and check_cell.metadata["tags"] == ["live-check"]
    assert "cu.blank" in live_nb.cells[0].source and "cu.catch_up" in live_nb.cells[0].source
    for source in sources:
        assert live.parse_problem(source) is None
    nbformat.validate(live_nb)


def test_a_checked_twin_runs_until_its_first_blank_and_its_functions_can_be_defined(tmp_path, monkeypatch):
    from course_utils.live.packagedata import json_text, solutions_path

    monkeypatch.setenv("COURSE_LIVE_DATA", str(tmp_path))
    solutions_path("01-demo", tmp_path).parent.mkdir(parents=True)
    solutions_path("01-demo", tmp_path).write_text(json_text(live.solutions_data(checked_lecture(), "01-demo")))
    live_nb = live.make_live_notebook(checked_lecture(), "01-demo.ipynb", CONFIG, checked=True)
    namespace: dict = {}
    code_cells = [cell.source for cell in live_nb.cells if cell.cell_type == "code" and "google.colab" not in cell.source]
    exec(code_cells[0], namespace)                                                    # the imports
    with pytest.raises(BlankNotFilled, match="blank 1 of 01-demo is not filled in"):
        exec(code_cells[1], namespace)
    exec(code_cells[5], namespace)                                                    # def f(...) with a blank
    with pytest.raises(BlankNotFilled, match="blank 4 of 01-demo"):
        namespace["f"](1)


def test_blank_numbers_count_cells_and_regions_in_order_and_skip_dropped_cells():
    nb = notebook(code("# live-start: a\na = 1\n# live-end\n# live-start: b\nb = 2\n# live-end"),
                  code("c = 3", "live-drop"), code("d = 4", "live-blank"))
    assert [(b.number, b.cell, b.kind) for b in live.find_blanks(nb)] == [(1, 0, "region"), (2, 0, "region"),
                                                                          (3, 2, "cell")]


def test_solutions_hold_the_lectures_code_and_how_each_name_is_made():
    data = live.solutions_data(checked_lecture(), "01-demo")
    first, second, third, fourth = data["blanks"][:4]
    assert first["code"] == "# make x — later cells use: x\nx = 3" and first["placeholders"] == ["x"]
    assert second["code"] == "doubled = 2 * x" and second["cell_code"].startswith("y = 1\ndoubled = 2 * x\nprint")
    assert "live-start" not in second["cell_code"]
    assert third["scope"] == "module" and third["check"] is True
    assert fourth["scope"] == "function" and fourth["owner"] == "f" and fourth["placeholders"] == []
    # its check goes where f's result first appears: f(1), in the last cell (a call on fixed inputs)
    assert fourth["check"] is True and fourth["check_items"] == ["f(1)"]
    assert fourth["check_at"] == {"cell": 8, "after": "print(doubled, square, f(1))"}
    assert first["made_by"] == {"x": "set `x`"}
    assert data["blanks"][4]["check"] is False                       # its hint lists nothing


def test_made_by_says_how_the_lecture_makes_a_name():
    from course_tools.live.blanks import made_by
    assert made_by("history = cu.train(model, loader)", "history") == "keep what `cu.train(...)` returns as `history`"
    assert made_by("def f():\n    pass", "f") == "define the function `f`"
    assert made_by("import numpy as np", "np") == "import `np`"
    assert made_by("for i in range(3):\n    pass", "i") == "make `i`"


def test_fingerprints_change_with_the_code_up_to_the_blank_only():
    before = live.solutions_data(checked_lecture(), "01-demo")["blanks"]
    later_edit = checked_lecture()
    later_edit.cells.append(code("print('a cell after every blank and every check')"))
    assert [b["fingerprint"] for b in live.solutions_data(later_edit, "01-demo")["blanks"]] == \
        [b["fingerprint"] for b in before]
    call_site_edit = checked_lecture()                      # the cell where blank 4's check goes (f's result)
    call_site_edit.cells[-1].source = "print(doubled, square, f(2))"
    changed = [a["fingerprint"] != b["fingerprint"]
               for a, b in zip(live.solutions_data(call_site_edit, "01-demo")["blanks"], before)]
    assert changed == [False, False, False, True, False]
    early_edit = checked_lecture()
    early_edit.cells[2].source = "# make x — later cells use: x\nx = 4"
    after = live.solutions_data(early_edit, "01-demo")["blanks"]
    assert all(a["fingerprint"] != b["fingerprint"] for a, b in zip(after, before))
    markdown_edit = checked_lecture()
    markdown_edit.cells[0].source = "# A new title"
    assert [b["fingerprint"] for b in live.solutions_data(markdown_edit, "01-demo")["blanks"]] == \
        [b["fingerprint"] for b in before]


def test_every_twin_carries_the_kernelspec_jupyterlab_writes():
    for checked in (False, True):
        twin_nb = live.make_live_notebook(lecture(), "03-x.ipynb", CONFIG, checked=checked)
        assert twin_nb.metadata["kernelspec"] == {"display_name": "Python 3 (ipykernel)", "language": "python",
                                                 "name": "python3"}


# ----------------------------------------------------------------------------- staleness that survives JupyterLab


def saved_by_jupyterlab(nb: nbformat.NotebookNode) -> dict:
    """What JupyterLab 4 writes when it opens and saves a notebook without changing anything a person sees."""
    data = json.loads(live.notebook_text(nb))
    data["metadata"]["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    data["metadata"]["language_info"] = {"codemirror_mode": {"name": "ipython", "version": 3}, "name": "python",
                                         "version": "3.11.7"}
    data["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    for index, cell in enumerate(data["cells"]):
        cell["metadata"].update({"collapsed": False, "scrolled": True, "trusted": True,
                                 "jupyter": {"source_hidden": False},
                                 "execution": {"iopub.status.idle": "2026-01-01T00:00:00.000000Z"}})
        cell["id"] = f"lab-{index}"
        if isinstance(cell["source"], str):
            cell["source"] = cell["source"].splitlines(True)
    return data


def test_what_jupyterlab_changes_on_save_is_not_drift():
    nb = live.make_live_notebook(lecture(), "03-x.ipynb", CONFIG)
    saved = saved_by_jupyterlab(nb)
    assert live.same_notebook(nb, saved)
    assert live.same_notebook(nb, nbformat.from_dict(saved))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda data: data["cells"][5].__setitem__("source", "import math\nx = 4"), "cell 6: its source"),
        (lambda data: data["cells"][5]["metadata"].__setitem__("tags", []), "cell 6: its tags"),
        (lambda data: data["cells"].__setitem__(slice(5, 7), data["cells"][6:4:-1]), "cell 6: its source"),
        (lambda data: data["cells"][1].__setitem__("cell_type", "raw"), "cell 2: its type"),
        (lambda data: data["cells"][5].__setitem__("outputs", [{"output_type": "stream", "name": "stdout",
                                                                "text": "3\n"}]), "cell 6: it has outputs"),
        (lambda data: data["cells"][5].__setitem__("execution_count", 4), "cell 6: it has an execution count"),
        (lambda data: data["cells"].pop(), "it has 8 cells, the lecture gives 9"),
        (lambda data: data["metadata"]["kernelspec"].__setitem__("name", "julia-1.9"), "its kernel is 'julia-1.9'"),
    ],
    ids=["source", "tags", "order", "type", "outputs", "execution-count", "cell-removed", "kernel"],
)
def test_real_drift_is_still_caught(change, where):
    nb = live.make_live_notebook(lecture(), "03-x.ipynb", CONFIG)
    saved = saved_by_jupyterlab(nb)
    change(saved)
    assert not live.same_notebook(nb, saved)
    from course_tools.live.files import first_difference
    assert first_difference(saved, nb).endswith(where) or where in first_difference(saved, nb)


def test_check_lines_are_only_the_lines_cu_check_prints():
    from course_tools.live.recording import check_lines

    cell = nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
        "stream", text="\n✓ blank 1 of 01-x: `x` looks like the lecture's.\nother\n\n✗ blank 2 of 01-x: no\n")])
    assert check_lines(notebook(cell)) == ["✓ blank 1 of 01-x: `x` looks like the lecture's.", "✗ blank 2 of 01-x: no"]
