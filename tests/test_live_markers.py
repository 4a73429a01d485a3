"""Tests for the live tool's markers, hints and syntax checks (course_tools/live/markers.py, syntax.py),
and for how the tool and the students' runtime of the live twins (course_utils/live) are put together."""
from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_raw_cell

import course_utils.live
from course_tools import live
from live_helpers import REPO, code, lecture, md, notebook


TOOL_MODULES = ["markers", "syntax", "settings", "colab", "blanks", "twin", "scopes", "dependencies", "files",
                "course", "recording", "cli"]
STUDENT_MODULES = ["placeholders", "selfcheck", "describe", "compare", "catchup", "packagedata"]


# ----------------------------------------------------------------------------- the docstrings and imports


@pytest.mark.parametrize("module", ["course_tools.live", *(f"course_tools.live.{name}" for name in TOOL_MODULES),
                                    "course_utils.live", *(f"course_utils.live.{name}" for name in STUDENT_MODULES)])
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failures == 0
    assert tried >= 1 or module.endswith(".cli"), f"{module} has no example in its docstrings"


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in nodes
              if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    return names


@pytest.mark.parametrize("name", TOOL_MODULES)
def test_tool_modules_import_only_nbformat_nbclient_the_runtime_and_the_standard_library(name):
    imported = _imports(Path(live.__file__).parent / f"{name}.py", top_level_only=False)
    assert imported - {"__future__", "tomli", "nbformat", "nbclient", "course_utils"} <= set(sys.stdlib_module_names)


@pytest.mark.parametrize("name", STUDENT_MODULES)
def test_student_modules_import_only_the_standard_library_and_the_argument_checks(name):
    imported = _imports(Path(course_utils.live.__file__).parent / f"{name}.py", top_level_only=True)
    assert imported - {"__future__", "course_utils"} <= set(sys.stdlib_module_names)
    everywhere = _imports(Path(course_utils.live.__file__).parent / f"{name}.py", top_level_only=False)
    assert not everywhere & {"nbformat", "nbclient", "torch", "numpy", "pandas"}, everywhere


def test_every_module_reads_in_one_sitting():
    for folder in (Path(live.__file__).parent, Path(course_utils.live.__file__).parent):
        for path in sorted(folder.glob("*.py")):
            assert len(path.read_text().splitlines()) <= 500, f"{path.name} is too long to read in one sitting"


def test_importing_course_utils_imports_neither_the_tool_nor_nbformat():
    """Students' notebooks import course_utils (installed without nbformat): the live lines must not need it."""
    command = [sys.executable, "-c", "import sys, course_utils as cu; cu.check, cu.blank, cu.catch_up, cu.live.BlankNotFilled;"
               " print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbformat', 'nbclient', 'course_tools')))"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"


def test_the_tool_and_the_runtime_are_separate_packages():
    assert live.make_live_notebook.__module__ == "course_tools.live.twin"
    assert live.main.__module__ == "course_tools.live.cli"
    assert course_utils.live.blank.__module__ == "course_utils.live.placeholders"
    assert not hasattr(course_utils.live, "make_live_notebook")


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



# ----------------------------------------------------------------------------- the hint's list


@pytest.mark.parametrize(
    ("hint", "items"),
    [
        ("# write the training steps — later cells use: loss, scores", ("loss", "scores")),
        ("# write the steps -- later lines use: window_loss", ("window_loss",)),
        ("# Later Cells Use: model.fc, Config.lr", ("model.fc", "Config.lr")),
        ("# probe — later cells use: cross_correlate(X,K), Y", ("cross_correlate(X, K)", "Y")),
        ("# define the model here", ()),
        ("# make it — later cells use: history.", ("history",)),
    ],
)
def test_parse_uses_reads_the_list_to_the_end_of_the_line(hint, items):
    uses = live.parse_uses([hint])
    assert uses.problem is None and uses.items == items


def test_parse_uses_names_and_probes():
    uses = live.parse_uses(["# x — later cells use: f(X, 2), model.fc, y"])
    assert uses.names == ("f", "model.fc", "y")
    from course_tools.live.markers import is_probe
    assert [is_probe(item) for item in uses.items] == [True, False, False]


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        (["# later cells use: the model"], "should be names separated by commas"),
        (["# later cells use:"], "should be names separated by commas"),
        (["# later cells use: 3, x"], "should be names separated by commas"),
        (["# later cells use: x[0]"], "should be names separated by commas"),
        (["# later cells use: x, x"], "names something twice"),
        (["# a — later cells use: x", "# b — later lines use: y"], "more than one"),
    ],
)
def test_parse_uses_explains_a_list_it_cannot_read(hints, message):
    uses = live.parse_uses(hints)
    assert uses.items == () and message in uses.problem
