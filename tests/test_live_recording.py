"""Recording self-checks from an executed lecture, and running its live twin as a class would (real kernels).

The lecture is small and built here: plain torch values, no data downloads. The
``recorded`` fixture runs ``python -m course_tools.live --record`` on it once; the tests
then run its live twin -- filled with the lecture's code, with wrong fills, unfilled,
and with catch-up -- in fresh ``python3`` kernels through nbclient.
"""
from __future__ import annotations

import json

import nbformat
import pytest

from course_tools import live
from course_tools.live.recording import check_lines, first_error, run_filled_twin, run_notebook
from live_helpers import CONFIG, cli, code, make_repo, md, notebook, read

pytest.importorskip("nbclient")
pytestmark = pytest.mark.slow   # every test runs a notebook in a kernel

STEM = "01-demo"


def demo_lecture() -> nbformat.NotebookNode:
    """Six blanks: a tensor, a model, a loss/accuracy region, a function (with a probe), a loop in a function, a table."""
    return notebook(
        md("# A small lecture\n\nTensors, a model, a loss."),
        code("import pandas as pd\nimport torch\nfrom torch import nn\n\nimport course_utils as cu\n\n"
             "torch.manual_seed(0)\n"
             "train = torch.utils.data.TensorDataset(torch.rand(40, 1, 4, 4), torch.randint(0, 3, (40,)))\n"
             "labels = train.tensors[1]"),
        code("# stack the images of train into one tensor x — later cells use: x\n"
             "x = torch.stack([image for image, _ in train])", "live-blank"),
        code("print(tuple(x.shape))"),
        code("# define the model: flatten, then one linear layer 16 -> 3 — later cells use: model\n"
             "model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))", "live-blank"),
        code("scores = model(x)\n"
             "# live-start: the mean cross-entropy loss and the accuracy — later cells use: loss, accuracy\n"
             "loss = nn.functional.cross_entropy(scores, labels)\n"
             "accuracy = (scores.argmax(dim=1) == labels).float().mean().item()\n"
             "# live-end\n"
             "print(f\"loss {loss.item():.3f}, accuracy {accuracy:.2f}\")"),
        code("# write double(v) — later cells use: double, double(torch.arange(3))\n"
             "def double(v):\n    return 2 * v", "live-blank"),
        code("print(double(x).shape)"),
        code("def total(values):\n    result = 0\n    for v in values:\n"
             "        # live-start: add v to the running result — later lines use: result\n"
             "        result = result + v\n        # live-end\n    return result\n\n\nprint(total([1, 2, 3]))"),
        code("# keep a history table — later cells use: history\n"
             "history = pd.DataFrame({\"epoch\": [1], \"loss\": [loss.item()], \"accuracy\": [accuracy]})",
             "live-blank"),
        code("print(history.columns.tolist())"),
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The demo lecture in a repository of its own, with its twin, solutions and recorded checks."""
    repo = make_repo(tmp_path_factory.mktemp("recorded"), (f"{STEM}.ipynb", demo_lecture()), checked=[STEM])
    assert cli(repo) == 1                                 # twin and solutions written; checks not yet recorded
    assert cli(repo, "--record") == 0                     # runs the lecture (fast mode) and ends with --check
    return repo


def data_folder(repo):
    return repo / "course_utils" / "live" / "data"


def twin_run(repo, replacements=None, strict=False):
    return run_filled_twin(repo / "notebooks" / f"{STEM}.ipynb", CONFIG, "notebooks", replacements=replacements,
                           data=data_folder(repo), strict=strict, timeout=300)


# ----------------------------------------------------------------------------- recording


def test_record_writes_one_check_per_blank_that_makes_names(recorded, capsys):
    data = json.loads((data_folder(recorded) / "checks" / f"{STEM}.json").read_text())
    assert data["lecture"] == STEM and data["recorded_with"]["fast_mode"] is True
    assert sorted(data["blanks"], key=int) == ["1", "2", "3", "4", "5", "6"]   # 5, inside a function: where its result appears
    x = data["blanks"]["1"]["values"]["x"]
    assert x["shape"] == [40, 1, 4, 4] and x["dims"][0] == {"size": 40, "length_of": ["len(train)"]}
    model = data["blanks"]["2"]["values"]["model"]
    assert model["output"] == [2, 3] and model["parameters"] == 51 and model["layers"] == ["Linear(16 → 3)"]
    assert data["blanks"]["3"]["items"] == ["loss", "accuracy"]
    assert data["blanks"]["4"]["values"]["double(torch.arange(3))"]["values"] == [0.0, 2.0, 4.0]
    assert data["blanks"]["6"]["values"]["history"]["columns"] == ["epoch", "loss", "accuracy"]
    capsys.readouterr()
    assert cli(recorded, "--check") == 0
    assert "OK: 1 lecture notebook(s)" in capsys.readouterr().out


def test_records_go_stale_when_the_lecture_code_changes(recorded, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(recorded, copy)
    path = copy / "notebooks" / f"{STEM}.ipynb"
    nb = read(path)
    cell = next(cell for cell in nb.cells if "nn.Linear(16, 3)" in cell.source)
    cell.source = cell.source.replace("nn.Linear(16, 3)", "nn.Linear(16, 4)")
    nbformat.write(nb, path)
    assert cli(copy) == 1
    err = capsys.readouterr().err
    assert ("the recorded self-check of blank 2 is stale (the lecture's code up to cell 7 or to its check, or what the "
            "check compares, changed since it was recorded); run python -m course_tools.live --record 01-demo") in err
    assert "self-check of blank 1 is stale" not in err                # blank 1 comes before the change


# ----------------------------------------------------------------------------- the filled twin


def test_the_twin_filled_with_the_lectures_code_passes_every_check(recorded):
    executed, lines = twin_run(recorded, strict=True)
    assert lines == [
        "✓ blank 1 of 01-demo: `x` looks like the lecture's.",
        "✓ blank 2 of 01-demo: `model` looks like the lecture's.",
        "✓ blank 3 of 01-demo: `loss`, `accuracy` look like the lecture's.",
        "✓ blank 4 of 01-demo: `double`, `double(torch.arange(3))` look like the lecture's.",
        "✓ blank 5 of 01-demo: `total([1, 2, 3])` looks like the lecture's.",
        "✓ blank 6 of 01-demo: `history` looks like the lecture's.",
    ]
    assert first_error(executed) is None


def check_output_of(executed, number):
    """The index of the cell that printed blank ``number``'s check line, and the line."""
    for index, cell in enumerate(executed.cells):
        for line in check_lines(nbformat.from_dict({"cells": [cell]})):
            if line.split(" of ")[0].endswith(f"blank {number}"):
                return index, line
    raise AssertionError(f"no check line for blank {number}")


@pytest.mark.parametrize(
    ("number", "fill", "hint"),
    [
        (1, "y = torch.stack([image for image, _ in train])",
         "✗ blank 1 of 01-demo: `x` is missing: the blank above should keep what `torch.stack(...)` returns as `x`."),
        (1, "x = torch.stack([image for image, _ in train]).flatten(1)",
         "✗ blank 1 of 01-demo: `x` has shape (40, 16); the lecture's has shape (len(train) = 40, 1, 4, 4)."),
        (2, "model = nn.Sequential(nn.Flatten(), nn.Linear(16, 25))",
         "✗ blank 2 of 01-demo: `model` has 25 outputs; the lecture's has 3."),
        (3, "loss = nn.functional.cross_entropy(scores, labels, reduction=\"sum\")\n"
            "accuracy = (scores.argmax(dim=1) == labels).float().mean().item()",
         "✗ blank 3 of 01-demo: `loss` is "),
        (4, "def double(v):\n    return v + v + 1",
         "✗ blank 4 of 01-demo: `double(torch.arange(3))` gives [1., 3., 5.]; the lecture's gives [0., 2., 4.]."),
    ],
    ids=["missing-name", "wrong-shape", "wrong-outputs", "summed-loss", "wrong-function"],
)
def test_a_wrong_fill_gets_its_hint_right_after_the_blank(recorded, number, fill, hint):
    executed, lines = twin_run(recorded, replacements={number: fill})
    index, line = check_output_of(executed, number)
    assert line.startswith(hint), line
    error = first_error(executed)
    assert error is None or error[0] > index, f"something went wrong before the check: {error}"


# ----------------------------------------------------------------------------- unfilled, and catching up


def twin_with(repo, edit) -> nbformat.NotebookNode:
    nb = read(repo / "notebooks" / "live" / f"{STEM}-live.ipynb")
    edit(nb)
    return nb


def run_in_kernel(repo, nb, monkeypatch):
    monkeypatch.setenv("COURSE_LIVE_DATA", str(data_folder(repo)))
    monkeypatch.setenv("COURSE_FAST", "1")
    return run_notebook(nb, repo / "notebooks", timeout=300, allow_errors=True)


def test_an_unfilled_twin_stops_at_its_first_blank_and_never_prints_ellipsis(recorded, monkeypatch):
    executed = run_in_kernel(recorded, twin_with(recorded, lambda nb: None), monkeypatch)
    index, ename, evalue = first_error(executed)
    assert executed.cells[index].source.endswith('cu.blank("01-demo", 1)')
    assert ename == "BlankNotFilled"
    assert evalue.startswith("blank 1 of 01-demo is not filled in: stack the images of train into one tensor x")
    assert 'Behind? Run cu.catch_up("01-demo", 1) in a new cell.' in evalue
    # run on regardless (as a student clicking on would): every error names a blank, none is a consequence
    errors = [(output["ename"], output["evalue"]) for cell in executed.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert errors and all(name == "BlankNotFilled" and "blank" in text and "01-demo" in text for name, text in errors)
    assert any(text.startswith("`x` is not made yet: blank 1 of 01-demo") for _, text in errors)
    outputs = json.dumps([cell.get("outputs", []) for cell in executed.cells])
    assert "Ellipsis" not in outputs


def test_catch_up_runs_the_lectures_code_and_the_class_goes_on(recorded, monkeypatch):
    def catch_up_on_the_first_two_blanks(nb):
        for number in (1, 2):
            position = next(i for i, cell in enumerate(nb.cells) if f'cu.blank("01-demo", {number})' in cell.source)
            nb.cells[position].source = f'cu.catch_up("01-demo", {number})'

    executed = run_in_kernel(recorded, twin_with(recorded, catch_up_on_the_first_two_blanks), monkeypatch)
    lines = check_lines(executed)
    assert lines[:2] == ["✓ blank 1 of 01-demo: `x` looks like the lecture's.",
                         "✓ blank 2 of 01-demo: `model` looks like the lecture's."]
    index, ename, evalue = first_error(executed)
    assert ename == "BlankNotFilled" and evalue.startswith("blank 3 of 01-demo")      # the next blank, as it should
    shown = "".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", []))
    assert "Catching up on blank 1 of 01-demo: running the lecture's code, which now replaces the code of this cell." \
        in shown


def test_catch_up_sends_jupyterlab_the_code_for_the_cell(recorded, monkeypatch):
    """What JupyterLab receives: the execute reply's set_next_input payload, replacing the cell (as %load does)."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("COURSE_LIVE_DATA", str(data_folder(recorded)))
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(recorded / "notebooks"))
    try:
        client.execute_interactive("import torch\nfrom torch import nn\nimport course_utils as cu", timeout=120)
        reply = client.execute_interactive('cu.catch_up("01-demo", 2)', timeout=120, output_hook=lambda msg: None)
        [payload] = reply["content"]["payload"]
        assert payload["source"] == "set_next_input" and payload["replace"] is True
        assert payload["text"] == ("# blank 2 of 01-demo, as the lecture writes it (cu.catch_up ran it)\n"
                                   "# define the model: flatten, then one linear layer 16 -> 3 — later cells use: model\n"
                                   "model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))")
        reply = client.execute_interactive("print(type(model).__name__)", timeout=60)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_fill_twin_refuses_a_blank_the_lecture_does_not_have(recorded):
    with pytest.raises(ValueError, match=r"replacements names blank\(s\) \[9\], which 01-demo does not have"):
        twin_run(recorded, replacements={9: "x = 1"})


def test_fill_writes_filled_twins_for_nbval(recorded, tmp_path, capsys):
    assert cli(recorded, "--fill", str(tmp_path / "filled")) == 0
    filled = read(tmp_path / "filled" / f"{STEM}-filled.ipynb")
    sources = "\n".join(cell.source for cell in filled.cells if cell.cell_type == "code")
    assert "cu.blank(" not in sources and "x = torch.stack" in sources and 'cu.check("01-demo", 1)' in sources
    assert live.live_name(f"{STEM}.ipynb") == f"{STEM}-live.ipynb"
