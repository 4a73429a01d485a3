"""Tests for the live-notebook tool (course_utils/live.py).

Every test builds its own tiny notebooks with nbformat in a temporary folder; the
repository's lecture notebooks are only read (by the last tests), never written.
"""
from __future__ import annotations

import ast
import doctest
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

REPO = Path(__file__).resolve().parents[1]
CONFIG = live.ColabConfig("owner/course", "main")
PYPROJECT = """\
[project]
name = "course-utils"

[tool.course_utils.colab]
repository = "{repository}"
branch = "{branch}"
"""


# ----------------------------------------------------------------------------- helpers


def code(source: str, *tags: str, **fields) -> nbformat.NotebookNode:
    """A code cell with the given tags."""
    cell = new_code_cell(source, metadata={"tags": list(tags)} if tags else {}, **fields)
    return cell


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
              branch: str = "main") -> Path:
    """A repository folder: pyproject.toml with the Colab table, and notebooks/ with the lectures."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(repository=repository, branch=branch))
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name, nb in lectures:
        nbformat.write(nb, notebooks / name)
    return tmp_path


def cli(repo: Path, *args: str) -> int:
    """Run the command line on a temporary repository."""
    return live.main([*args, "--notebooks", str(repo / "notebooks"), "--config", str(repo / "pyproject.toml")])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# ----------------------------------------------------------------------------- the docstrings


def test_docstring_examples_run():
    failures, tried = doctest.testmod(live, optionflags=doctest.ELLIPSIS)
    assert tried > 10 and failures == 0


def test_live_py_imports_only_nbformat_and_the_standard_library():
    tree = ast.parse(Path(live.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"__future__", "tomli", "nbformat"} <= set(sys.stdlib_module_names)


# ----------------------------------------------------------------------------- live-blank


def test_blank_cell_keeps_the_leading_comments_as_hint():
    cell = code("# define the model here\n# (two layers)\nmodel = Net()\nmodel.train()", "live-blank")
    assert live.blank_cell(cell).source == "# define the model here\n# (two layers)\n..."
    assert cell.source.startswith("# define")  # the argument is not changed


def test_blank_cell_without_comments_gets_the_default_hint():
    assert live.blank_cell(code("model = Net()", "live-blank")).source == "# your code here\n..."


def test_blank_cell_does_not_keep_nbval_markers_as_hint():
    cell = code("# NBVAL_CHECK_OUTPUT\n# count the parameters\nn = 3", "live-blank")
    assert live.blank_cell(cell).source == "# count the parameters\n..."
    only_marker = code("# NBVAL_IGNORE_OUTPUT\nn = 3", "live-blank")
    assert live.blank_cell(only_marker).source == "# your code here\n..."


def test_blank_cell_refuses_markdown():
    with pytest.raises(live.MarkerError, match="only applies to code cells"):
        live.blank_cell(md("# Title", "live-blank"))


# ----------------------------------------------------------------------------- regions


def test_blank_regions_keeps_indentation_inside_functions_and_loops():
    source = lecture().cells[4].source
    assert live.blank_regions(source) == (
        "def train(model, epochs):\n"
        "    for epoch in range(epochs):\n"
        "        # training steps in here\n"
        "        ...\n"
        "        print(epoch)\n"
        "    return model"
    )


def test_region_that_is_a_whole_loop_body_still_parses():
    source = "for x in range(3):\n    # live-start: the body\n    y = x * 2\n    # live-end"
    blanked = live.blank_regions(source)
    assert blanked == "for x in range(3):\n    # the body\n    ..."
    ast.parse(blanked)


def test_several_regions_default_hint_and_tabs():
    source = "# live-start\na = 1\n# live-end\nb = 2\nif b:\n\t# live-start:  fill in  \n\tc = 3\n\t# live-end"
    assert live.blank_regions(source) == "# your code here\n...\nb = 2\nif b:\n\t# fill in\n\t..."


def test_source_without_markers_is_unchanged():
    source = "x = 1  # a live demo\n# not a marker: live-start\n"
    assert live.blank_regions(source) == source


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# live-start: a\nx = 1\n# live-start: b\ny = 2\n# live-end\n# live-end", "line 3: .*cannot be nested"),
        ("# live-start: a\nx = 1", "line 1: '# live-start' is never closed"),
        ("x = 1\n# live-end", "line 2: '# live-end' without a '# live-start'"),
        ("# live-begin\nx = 1\n# live-end", "line 1: unknown marker '# live-begin'"),
        ("# live-start a hint without colon\nx = 1\n# live-end", "line 1: unknown marker"),
        ("# LIVE-END", "line 1: unknown marker"),
        ("    # live-blank", "unknown marker"),
    ],
)
def test_wrong_region_markers_are_errors(source, message):
    with pytest.raises(live.MarkerError, match=message):
        live.blank_regions(source)


# ----------------------------------------------------------------------------- tags


def test_drop_cells_leaves_out_code_markdown_and_raw_cells():
    nb = notebook(md("keep"), code("x = 1", "live-drop"), md("note", "live-drop"), new_raw_cell("raw"), code("y"))
    nb.cells[3].metadata["tags"] = ["live-drop"]
    assert [cell.source for cell in live.drop_cells(nb).cells] == ["keep", "y"]
    assert len(nb.cells) == 5


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (code("x = 1", "live-blnk"), "unknown tag 'live-blnk'"),
        (code("x = 1", "live-note"), "unknown tag 'live-note'"),
        (code("x = 1", "live-blank", "live-drop"), "both live-blank and live-drop"),
        (md("# Title", "live-blank"), "only applies to code cells"),
        (code("# live-start\nx = 1\n# live-end", "live-blank"), "not both"),
        (code("x = 1\n# live-ending"), "unknown marker"),
    ],
)
def test_lint_cell_reports_wrong_tags_and_markers(cell, message):
    problems = live.lint_cell(cell)
    assert len(problems) == 1 and message in problems[0]


def test_lint_ignores_tags_that_are_not_ours_and_markers_in_markdown():
    assert live.lint_cell(code("x = 1", "nbval-ignore-output", "hide-input", "alive-and-well")) == []
    assert live.lint_cell(md("# live-start: this is markdown")) == []


def test_lint_notebook_gives_every_problem_with_its_cell():
    nb = notebook(code("x"), code("# live-end"), code("y", "live-x"))
    assert [index for index, _ in live.lint_notebook(nb)] == [1, 2]


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


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nx = 1",
        "if True:\n    %pip install -q thing\n    !ls -l",
        "files = !ls\nx = %env HOME",
        "%%time\nfor i in range(3):\n    pass",
        "%%bash\nfor f in *; do echo $f; done",
        "model?\n??model",
        "",
        'message = (\n    "accuracy %.2f"\n    % 0.5\n)',  # an operator, not a magic
        "ok = (\n    1\n    != 2\n)",
    ],
)
def test_magics_and_shell_lines_are_not_parse_errors(source):
    assert live.parse_problem(source) is None


def test_parse_problem_names_the_line():
    assert live.parse_problem("x = 1\nfor x in y:\n    # body was only a comment").startswith("line 3:")
    assert live.parse_problem("%%time\nx = (") is not None


# ----------------------------------------------------------------------------- Colab stamping


def test_read_colab_config(tmp_path):
    repo = make_repo(tmp_path, repository="me/my-course", branch="spring-2025")
    assert live.read_colab_config(repo / "pyproject.toml") == live.ColabConfig("me/my-course", "spring-2025")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project]\nname = 'x'\n", r"no \[tool.course_utils.colab\]"),
        ('[tool.course_utils.colab]\nrepository = "https://github.com/me/c"\n', "owner/name"),
        ('[tool.course_utils.colab]\nrepository = "me/c"\nbranch = "a b"\n', "branch"),
    ],
)
def test_read_colab_config_errors_say_what_to_write(tmp_path, text, message):
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match=message):
        live.read_colab_config(tmp_path / "pyproject.toml")


def test_without_tomllib_or_tomli_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(RuntimeError, match="pip install tomli"):
        live._toml_loads("a = 1")


def test_stamp_badge_goes_after_the_title_or_first():
    url = live.colab_url(CONFIG, "notebooks/03-x.ipynb")
    assert url == "https://colab.research.google.com/github/owner/course/blob/main/notebooks/03-x.ipynb"
    stamped = live.stamp_badge(notebook(md("# Title"), code("x = 1")), url)
    assert [c.cell_type for c in stamped.cells] == ["markdown", "markdown", "code"]
    badge = stamped.cells[1]
    assert badge.metadata["tags"] == ["colab-badge"] and badge.id == "colab-badge"
    assert badge.source == f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"
    assert live.stamp_badge(notebook(code("x = 1")), url).cells[0].metadata["tags"] == ["colab-badge"]


def test_stamp_install_cell_goes_before_the_first_code_cell():
    nb = notebook(md("# Title"), md("Goals"), code("import torch"))
    stamped = live.stamp_install_cell(nb, CONFIG)
    install = stamped.cells[2]
    assert install.metadata["tags"] == ["colab-install", "nbval-ignore-output"]
    assert '"google.colab" in sys.modules' in install.source
    assert '    %pip install -q "course-utils @ git+https://github.com/owner/course@main"' in install.source
    assert install.source.startswith("# ") and live.parse_problem(install.source) is None
    assert stamped.cells[3].source == "import torch"


def test_stamp_install_cell_without_other_code_goes_after_the_badge():
    nb = live.stamp_badge(notebook(md("# Ethics"), md("text")), "https://x")
    stamped = live.stamp_install_cell(nb, CONFIG)
    assert [live.cell_tags(c) for c in stamped.cells] == [[], ["colab-badge"], ["colab-install", "nbval-ignore-output"], []]


def test_stamping_twice_changes_nothing_and_a_new_url_replaces_the_old():
    once = live.stamp_colab(lecture(), CONFIG, "notebooks/03-x.ipynb")
    assert live.stamp_colab(once, CONFIG, "notebooks/03-x.ipynb") == once
    moved = live.stamp_colab(once, live.ColabConfig("new/place", "dev"), "notebooks/03-x.ipynb")
    assert len(moved.cells) == len(once.cells)
    assert sum("new/place/blob/dev" in c.source for c in moved.cells) == 1
    assert sum("github.com/new/place@dev" in c.source for c in moved.cells) == 1
    assert not any("owner/course" in c.source for c in moved.cells)


def test_stamping_keeps_outputs_of_an_up_to_date_install_cell_and_of_other_cells():
    once = live.stamp_colab(lecture(), CONFIG, "notebooks/03-x.ipynb")
    install = next(c for c in once.cells if live.has_tag(c, "colab-install"))
    install.execution_count = 1
    again = live.stamp_colab(once, CONFIG, "notebooks/03-x.ipynb")
    assert again == once
    assert again.cells[-1].outputs[0].text == "0\n1\n"


def test_stamping_an_old_notebook_without_cell_ids_adds_no_ids():
    nb = notebook(md("# T"), code("x"))
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    stamped = live.stamp_colab(nb, CONFIG, "notebooks/01-t.ipynb")
    assert not any("id" in cell for cell in stamped.cells)
    nbformat.validate(stamped)


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


# ----------------------------------------------------------------------------- the command line


def test_cli_writes_twins_stamps_lectures_and_is_idempotent(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()), ("01-t.ipynb", notebook(md("# T"))))
    (repo / "notebooks" / "scratch.ipynb").write_text(json.dumps(notebook(code("not a lecture"))))
    assert cli(repo) == 0
    twin = repo / "notebooks" / "live" / "03-x-live.ipynb"
    assert twin.is_file() and (repo / "notebooks" / "live" / "01-t-live.ipynb").is_file()
    assert not (repo / "notebooks" / "live" / "scratch-live.ipynb").exists()
    stamped = read(repo / "notebooks" / "03-x.ipynb")
    assert live.cell_tags(stamped.cells[1]) == ["colab-badge"]
    assert stamped.cells[-1].outputs[0].text == "0\n1\n"  # lecture outputs stay
    assert twin.read_bytes().endswith(b"}\n")

    first = snapshot(repo)
    assert cli(repo) == 0
    assert snapshot(repo) == first  # running twice changes nothing, byte for byte
    assert cli(repo, "--check") == 0
    assert "OK: 2 lecture notebook(s)" in capsys.readouterr().out


def test_check_writes_nothing_and_reports_missing_twins_and_stamps(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    before = snapshot(repo)
    assert cli(repo, "--check") == 1
    assert snapshot(repo) == before
    err = capsys.readouterr().err
    assert "03-x.ipynb: its Colab badge or install cell is missing or out of date" in err
    assert "03-x-live.ipynb: is missing; run python -m course_utils.live" in err


def edit_lecture(repo: Path, change) -> None:
    """Read notebooks/03-x.ipynb, let ``change`` edit it, write it back."""
    path = repo / "notebooks" / "03-x.ipynb"
    nb = read(path)
    change(nb)
    nbformat.write(nb, path)


def cell_with(nb: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    return next(cell for cell in nb.cells if text in cell.source)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # the lecture changed after its twin was generated
        (lambda nb: setattr(cell_with(nb, "import math"), "source", "import math\nx = 4"),
         r"03-x-live.ipynb: is stale \(first difference at cell 6\)"),
        (lambda nb: nb.cells.append(new_code_cell("y = 1")), r"03-x-live.ipynb: is stale \(it has 9 cells"),
        # unbalanced, nested and unknown markers; unknown tags
        (lambda nb: setattr(cell_with(nb, "def train"), "source", "def train():\n    # live-start: x\n    pass"),
         r'03-x.ipynb, cell 7 \(starts "def train\(\):"\): line 2: \'# live-start\' is never closed'),
        (lambda nb: setattr(cell_with(nb, "def train"), "source",
                            "# live-start: a\n# live-start: b\nx = 1\n# live-end\n# live-end"),
         r"03-x.ipynb, cell 7 .*line 2: .*cannot be nested"),
        (lambda nb: setattr(cell_with(nb, "import math"), "source", "import math\n# live-stop"),
         r"03-x.ipynb, cell 5 .*unknown marker '# live-stop'"),
        (lambda nb: cell_with(nb, "import math").metadata.__setitem__("tags", ["live-blanks"]),
         r"03-x.ipynb, cell 5 .*unknown tag 'live-blanks'"),
        # a live cell that does not parse: a loop whose body is only the blanked region... at the wrong indent
        (lambda nb: setattr(cell_with(nb, "import math"), "source",
                            "for x in range(3):\n# live-start: body\n    y = x\n# live-end"),
         r"03-x.ipynb, cell 5 .*its live version \(live cell 6\) does not parse: line 3: expected an indented block"),
        # a lecture cell that does not parse
        (lambda nb: setattr(cell_with(nb, "import math"), "source", "for x in range(3):\n    # only a comment"),
         r"03-x.ipynb, cell 5 .*does not parse: line 2: expected an indented block"),
        # the stamped cells were edited by hand
        (lambda nb: setattr(cell_with(nb, "colab-badge.svg"), "source", "[badge](https://elsewhere)"),
         r"03-x.ipynb: its Colab badge or install cell is missing or out of date"),
    ],
    ids=["edited", "added-cell", "unbalanced", "nested", "unknown-marker", "unknown-tag", "live-cell-syntax",
         "lecture-cell-syntax", "stamp-edited"],
)
def test_check_fails_on_each_kind_of_defect(tmp_path, capsys, change, expected):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    edit_lecture(repo, change)
    before = snapshot(repo)
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert snapshot(repo) == before


def test_a_hand_edited_twin_is_stale(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    twin = repo / "notebooks" / "live" / "03-x-live.ipynb"
    nb = read(twin)
    cell_with(nb, "define the model").source = "model = [1, 2, 3]"
    nbformat.write(nb, twin)
    assert cli(repo, "--check") == 1
    assert "03-x-live.ipynb: is stale (first difference at cell 7)" in capsys.readouterr().err
    assert cli(repo) == 0 and cli(repo, "--check") == 0


def test_cells_meant_to_raise_are_not_parse_checked(tmp_path):
    repo = make_repo(tmp_path, ("01-t.ipynb", notebook(md("# T"), code("def f(:", "raises-exception"))))
    assert cli(repo) == 0 and cli(repo, "--check") == 0


def test_marker_errors_stop_only_that_twin(tmp_path, capsys):
    broken = notebook(md("# Broken"), code("# live-end"))
    repo = make_repo(tmp_path, ("02-broken.ipynb", broken), ("03-x.ipynb", lecture()))
    assert cli(repo) == 1
    assert "02-broken.ipynb, cell 2" in capsys.readouterr().err
    assert not (repo / "notebooks" / "live" / "02-broken-live.ipynb").exists()
    assert (repo / "notebooks" / "live" / "03-x-live.ipynb").exists()


def test_orphan_twins(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()), ("04-gone.ipynb", notebook(md("# Gone"))))
    assert cli(repo) == 0
    (repo / "notebooks" / "04-gone.ipynb").unlink()
    nbformat.write(notebook(code("by hand")), repo / "notebooks" / "live" / "05-hand-live.ipynb")
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert "04-gone-live.ipynb: has no lecture notebook" in err and "05-hand-live.ipynb: has no lecture" in err
    assert cli(repo) == 1  # removes the generated orphan, keeps (and reports) the hand-made one
    assert not (repo / "notebooks" / "live" / "04-gone-live.ipynb").exists()
    assert (repo / "notebooks" / "live" / "05-hand-live.ipynb").exists()


def test_changing_the_repository_url_restamps_everything(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()), ("01-t.ipynb", notebook(md("# T"))))
    assert cli(repo) == 0
    (repo / "pyproject.toml").write_text(PYPROJECT.format(repository="new-owner/new-name", branch="v2"))
    assert cli(repo, "--check") == 1
    assert cli(repo) == 0 and cli(repo, "--check") == 0
    for path in sorted((repo / "notebooks").rglob("*.ipynb")):
        text = path.read_text()
        assert "owner/course" not in text.replace("new-owner/new-name", "")
        assert "colab.research.google.com/github/new-owner/new-name/blob/v2/notebooks/" in text
        assert "git+https://github.com/new-owner/new-name@v2" in text


def test_cli_configuration_errors_exit_2(tmp_path, capsys):
    repo = make_repo(tmp_path)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert cli(repo, "--check") == 2
    assert "[tool.course_utils.colab]" in capsys.readouterr().err
    assert live.main(["--notebooks", str(tmp_path / "nowhere"), "--config", str(repo / "pyproject.toml")]) == 2


def test_python_dash_m_runs_from_the_repository_root(tmp_path):
    repo = make_repo(tmp_path, ("01-t.ipynb", notebook(md("# T"), code("x = 1"))))
    assert cli(repo) == 0
    # one subprocess only: `python -m` imports the whole package (torch included), which takes seconds
    command = [sys.executable, "-m", "course_utils.live", "--check"]
    checked = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "RuntimeWarning" not in checked.stderr  # course_utils/__init__ must not import live itself
    assert checked.stdout.startswith("OK: 1 lecture notebook(s) in notebooks")


# ----------------------------------------------------------------------------- the repository itself


def test_repository_live_notebooks_are_up_to_date(capsys):
    """`python -m course_utils.live --check` on the course itself (run `python -m course_utils.live` to fix)."""
    status = live.main(["--check", "--notebooks", str(REPO / "notebooks"), "--config", str(REPO / "pyproject.toml")])
    assert status == 0, capsys.readouterr().err


def test_every_code_cell_of_every_repository_live_notebook_parses():
    for path in sorted((REPO / "notebooks" / "live").glob("*.ipynb")):
        for index, cell in enumerate(read(path).cells):
            if cell.cell_type == "code":
                source = live.python_source(cell.source)
                if source is not None:
                    try:
                        ast.parse(source)
                    except SyntaxError as error:
                        pytest.fail(f"{path.name}, cell {index + 1}: {error}")
