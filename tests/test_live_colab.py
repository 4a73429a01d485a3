"""Tests for the live tool's settings and Colab stamping (course_tools/live/settings.py, colab.py)."""
from __future__ import annotations

import sys

import nbformat
import pytest

from course_tools import live
from course_tools.live.settings import _toml_loads
from live_helpers import CONFIG, PYPROJECT, REPO, code, lecture, make_repo, md, notebook


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
        _toml_loads("a = 1")


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




# ----------------------------------------------------------------------------- [tool.course_utils.live]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("", ()),
        ('[tool.course_utils.live]\nchecked = []\n', ()),
        ('[tool.course_utils.live]\nchecked = ["03-logistic-regression", "05-x"]\n', ("03-logistic-regression", "05-x")),
        ('[tool.course_utils.live]\nchecked = "all"\n', "all"),
    ],
)
def test_read_live_settings(tmp_path, table, expected):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(repository="me/c", branch="main") + table)
    settings = live.read_live_settings(tmp_path / "pyproject.toml")
    assert settings.checked == expected
    assert settings.is_checked("05-x") == (expected == "all" or "05-x" in expected)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.course_utils.live]\nchecked = "some"\n', "should be \"all\" or a list of lecture names"),
        ('[tool.course_utils.live]\nchecked = ["03-x.ipynb/"]\n', "without .ipynb"),
        ('[tool.course_utils.live]\nchecked = ["intro"]\n', "without .ipynb"),
        ('[tool.course_utils.live]\nchecked = []\nstrict = true\n', "unknown setting"),
    ],
)
def test_read_live_settings_errors_say_what_to_write(tmp_path, table, message):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(repository="me/c", branch="main") + table)
    with pytest.raises(ValueError, match=message):
        live.read_live_settings(tmp_path / "pyproject.toml")


def test_the_repository_says_which_lectures_are_checked():
    settings = live.read_live_settings(REPO / "pyproject.toml")
    assert settings.checked == "all" or isinstance(settings.checked, tuple)
