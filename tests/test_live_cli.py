"""Tests for the command line on temporary repositories, and --check on the course itself."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from course_tools import live
from live_helpers import PYPROJECT, REPO, cell_with, cli, code, lecture, make_repo, md, notebook, read, file_bytes


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

    first = file_bytes(repo)
    assert cli(repo) == 0
    assert file_bytes(repo) == first  # running twice changes nothing, byte for byte
    assert cli(repo, "--check") == 0
    assert "OK: 2 lecture notebook(s)" in capsys.readouterr().out


def test_check_writes_nothing_and_reports_missing_twins_and_stamps(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    before = file_bytes(repo)
    assert cli(repo, "--check") == 1
    assert file_bytes(repo) == before
    err = capsys.readouterr().err
    assert "03-x.ipynb: its Colab badge or install cell is missing or out of date" in err
    assert "03-x-live.ipynb: is missing; run python -m course_tools.live" in err


def edit_lecture(repo: Path, change) -> None:
    """Read notebooks/03-x.ipynb, let ``change`` edit it, write it back."""
    path = repo / "notebooks" / "03-x.ipynb"
    nb = read(path)
    change(nb)
    nbformat.write(nb, path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # the lecture changed after its twin was generated
        (lambda nb: setattr(cell_with(nb, "import math"), "source", "import math\nx = 4"),
         r"03-x-live.ipynb: is stale \(first difference at cell 6: its source\)"),
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
    before = file_bytes(repo)
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert file_bytes(repo) == before


def test_a_hand_edited_twin_holds_work_and_is_never_replaced_without_being_told(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    twin = repo / "notebooks" / "live" / "03-x-live.ipynb"
    nb = read(twin)
    cell_with(nb, "define the model").source = "model = [1, 2, 3]"          # typed into the blank in class
    nbformat.write(nb, twin)
    edited = twin.read_bytes()
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert ("03-x-live.ipynb: holds work done in it (it was edited since the tool wrote it): it is not stale, "
            "and the tool does not replace it. To keep it, move it out of") in err
    assert "python -m course_tools.live --replace-work (it copies the file to class-work/ first)" in err
    assert cli(repo) == 1 and twin.read_bytes() == edited                   # the class's work is still there
    assert not (repo / "class-work").exists()
    assert cli(repo, "--replace-work") == 0                                 # told to: replaced, a copy kept
    [copy] = (repo / "class-work").iterdir()
    assert copy.name.startswith("03-x-live-") and copy.read_bytes() == edited
    assert "the work in it was kept as" in capsys.readouterr().out
    assert cli(repo, "--check") == 0


def test_a_twin_nobody_touched_is_rewritten_when_its_lecture_changes(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    edit_lecture(repo, lambda nb: nb.cells.append(md("A new paragraph.")))
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    assert "03-x-live.ipynb: is stale (it has 9 cells, the lecture gives 10); run python -m course_tools.live" \
        in capsys.readouterr().err
    assert cli(repo) == 0 and cli(repo, "--check") == 0
    assert not (repo / "class-work").exists()


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
    command = [sys.executable, "-m", "course_tools.live", "--check"]
    checked = subprocess.run(command, cwd=repo, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})   # course_tools runs from a checkout
    assert checked.returncode == 0, checked.stderr
    assert "RuntimeWarning" not in checked.stderr  # course_tools/live/__init__ must not import __main__ itself
    assert checked.stdout.startswith("OK: 1 lecture notebook(s) in notebooks")


# ----------------------------------------------------------------------------- the repository itself


def test_repository_live_notebooks_are_up_to_date(capsys):
    """`python -m course_tools.live --check` on the course itself (run `python -m course_tools.live` to fix)."""
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

# ----------------------------------------------------------------------------- JupyterLab and staleness


def test_a_twin_jupyterlab_saved_is_not_stale_and_is_not_rewritten(tmp_path, capsys):
    from test_live_twin import saved_by_jupyterlab

    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    twin = repo / "notebooks" / "live" / "03-x-live.ipynb"
    twin.write_text(json.dumps(saved_by_jupyterlab(read(twin)), indent=2))
    saved = twin.read_bytes()
    assert cli(repo, "--check") == 0
    assert cli(repo) == 0 and twin.read_bytes() == saved          # nothing meaningful changed: left alone
    # a real change is still caught
    nb = read(twin)
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", text="3\n")]
    nbformat.write(nb, twin)
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    assert "03-x-live.ipynb: holds work done in it (1 cell was run): it is not stale" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the dependency check on the command line


def leaky_lecture() -> nbformat.NotebookNode:
    """A lecture whose blank makes `scores`, which a later cell needs, but whose hint lists only `model`."""
    return notebook(
        md("# Leaky"),
        code("import course_utils as cu"),
        code("# define the model — later cells use: model\nmodel = [1, 2]\nscores = [0.5]", "live-blank"),
        code("print(model, scores)"),
    )


def test_the_dependency_check_warns_for_a_lecture_that_is_not_checked(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-leaky.ipynb", leaky_lecture()), checked=[])
    assert cli(repo) == 0
    capsys.readouterr()
    assert cli(repo, "--check") == 0
    captured = capsys.readouterr()
    # (cells are counted in the lecture as stamped: the badge and the install cell come first)
    assert ('warning: notebooks/03-leaky.ipynb, cell 5 (starts "# define the model — later cells use: m…"): '
            "blank 1 makes names that later code reads, but its hint does not list them: scores (cell 6)") \
        in captured.err.replace(str(repo) + "/", "")
    assert "1 warning(s) from the dependency check" in captured.out
    # the twin of an unchecked lecture is the classic one
    twin = read(repo / "notebooks" / "live" / "03-leaky-live.ipynb")
    assert cell_with(twin, "define the model").source == "# define the model — later cells use: model\n..."
    assert not any("cu.blank" in cell.source for cell in twin.cells)


def test_the_dependency_check_fails_a_checked_lecture_naming_the_missing_name(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-leaky.ipynb", leaky_lecture()), checked=["03-leaky"])
    assert cli(repo) == 1
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert re.search(r'03-leaky.ipynb, cell 5 \(starts "# define the model — later cells use: m…"\): blank 1 makes '
                     r"names that later code reads, but its hint does not list them: scores \(cell 6\)\. "
                     r'End the hint with "— later cells use: model, scores"', err), err


def test_a_checked_lecture_gets_solutions_and_needs_recorded_checks(tmp_path, capsys):
    nb = leaky_lecture()
    nb.cells[2].source = "# define the model — later cells use: model, scores\nmodel = [1, 2]\nscores = [0.5]"
    repo = make_repo(tmp_path, ("03-leaky.ipynb", nb), checked="all")
    assert cli(repo) == 1                                             # written, but nothing recorded yet
    solutions = repo / "course_utils" / "live" / "data" / "solutions" / "03-leaky.json"
    data = json.loads(solutions.read_text())
    assert data["lecture"] == "03-leaky" and data["blanks"][0]["uses"] == ["model", "scores"]
    twin = (repo / "notebooks" / "live" / "03-leaky-live.ipynb").read_text()
    assert 'cu.blank(\\"03-leaky\\", 1)' in twin and 'cu.check(\\"03-leaky\\", 1)' in twin
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert "03-leaky.ipynb: blank 1 (cell 5) has no recorded self-check; run python -m course_tools.live --record 03-leaky" in err
    # a hand-edited solutions file is stale
    solutions.write_text(solutions.read_text().replace("model = [1, 2]", "model = [9]"))
    assert cli(repo, "--check") == 1
    assert "03-leaky.json: is stale (the solutions catch-up uses); run python -m course_tools.live" in capsys.readouterr().err
    # un-checking the lecture removes its solutions again, and the twin is the classic one
    (repo / "pyproject.toml").write_text(PYPROJECT.format(repository="owner/course", branch="main"))
    assert cli(repo) == 0 and not solutions.exists()


def test_checked_names_a_lecture_that_does_not_exist(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()), checked=["04-gone"])
    assert cli(repo) == 1
    assert "[tool.course_utils.live] checked names '04-gone', but there is no lecture 04-gone.ipynb" in capsys.readouterr().err


def test_a_checked_lecture_must_import_cu_before_its_first_blank(tmp_path, capsys):
    nb = notebook(md("# T"), code("# make x — later cells use: x\nx = 1", "live-blank"), code("print(x)"))
    repo = make_repo(tmp_path, ("01-t.ipynb", nb), checked="all")
    assert cli(repo, "--check") == 1
    assert "does not import course_utils as cu in a cell before its first blank" in capsys.readouterr().err


def test_check_on_a_copy_of_a_real_lecture_whose_hint_leaves_out_a_needed_name(tmp_path, capsys):
    """The issue's "red on the broken copy": take a real lecture's blank whose hint lists what later cells
    need, drop one name from the list, and make the lecture checked: --check names the dropped name."""
    from course_tools.live.dependencies import blank_needs

    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        nb = read(path)
        found = next((needs for needs in blank_needs(nb) if needs.blank.uses.items and needs.needed
                      and needs.blank.scope == "module" and not needs.missing), None)
        if found:
            break
    else:
        pytest.skip("no real lecture has a blank whose hint lists what later cells need yet")
    dropped = found.needed[0].name
    cell = nb.cells[found.blank.cell]
    kept = [item for item in found.blank.uses.items if item != dropped]
    old_list = ", ".join(found.blank.uses.items)
    assert f"use: {old_list}" in cell.source, "the hint's list is written as the tool normalises it"
    cell.source = cell.source.replace(f"use: {old_list}", f"use: {', '.join(kept) if kept else 'nothing_at_all'}", 1)
    repo = make_repo(tmp_path, (path.name, nb), checked=[path.stem])
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert f"{path.name}, cell {found.blank.cell + 1}" in err
    assert re.search(rf"blank {found.blank.number} makes names that later code reads, but its hint does not list "
                     rf"them: {re.escape(dropped)} \(cell \d+\)", err), err
    print(f"broken copy of {path.name}: {err.splitlines()[0]}")


# ----------------------------------------------------------------------------- package data


def test_a_wheel_built_from_the_repository_ships_the_solutions_and_checks_and_not_the_tools(tmp_path):
    """What `pip install git+...` (the Colab install cell) gets: the students' package with the JSON files,
    no build error when no lecture is checked yet (the data folders must exist in git), and none of
    the instructors' tools (course_tools stays in the checkout)."""
    import shutil
    import zipfile

    source = tmp_path / "source"
    source.mkdir()
    tracked = subprocess.run(["git", "ls-files", "course_utils", "course_tools", "pyproject.toml", "README.md"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    for kind in ("solutions", "checks"):
        (source / "course_utils" / "live" / "data" / kind / "09-demo.json").write_text("{}\n")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist")], cwd=source, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "course_utils/live/data/solutions/09-demo.json" in names
    assert "course_utils/live/data/checks/09-demo.json" in names
    assert "course_utils/live/selfcheck.py" in names and "course_utils/training.py" in names
    assert not [name for name in names if name.startswith("course_tools")]
    metadata = zipfile.ZipFile(wheel).read(next(name for name in names if name.endswith("METADATA"))).decode()
    required = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert any("torch>=" in line for line in required)
    assert not [line for line in required if "nbformat" in line or "torchvision" in line], required
