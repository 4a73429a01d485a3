"""Fault suite, part 4: the live notebooks (``cu.blank``, ``cu.check``, ``cu.catch_up``) and their tool
(``python -m course_tools.live``), misused as a class and a careless instructor would.

Every case ends in one clear message -- naming the argument or file as it was written, what it got, what
it expects and the likely fix -- checked before anything runs or changes, and leaves what the student or the
instructor made exactly as it was: the notebook's variables, the model (training modes, gradients, random
state, devices), the files (``faultkit.snapshot``). Each test is one row of tests/FAULTS.md.

The runtime cases use the course's own installed solutions (lectures 03 and 05); the tool's cases build tiny
repositories (tests/live_helpers.py).
"""
from __future__ import annotations

import copy
import io
import json
import math
import pickle
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils import shape_errors
from course_utils.live.packagedata import checks_path, json_text, solutions_path
from course_utils.live.placeholders import BlankNotFilled, Unfilled, students_line
from course_utils.live.describe import describe
from faultkit import drop_write_capabilities_prefix, snapshot
from live_helpers import REPO, cell_with, cli, code, lecture, make_repo, md, notebook, read

LECTURE = "03-logistic-regression"


def folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def unfilled(name: str = "p", lecture_name: str = LECTURE, number: int = 2) -> dict:
    """A notebook namespace after running blank ``number`` unfilled: the names it should make are placeholders."""
    namespace: dict = {"cu": cu}
    with pytest.raises(BlankNotFilled):
        exec(f'cu.blank("{lecture_name}", {number})', namespace)
    assert isinstance(namespace[name], Unfilled)
    return namespace


# ----------------------------------------------------------------------------- lecture names and blank numbers


def test_a_misspelt_lecture_name_gets_did_you_mean():
    namespace = {"model": "the student's"}
    for helper in (cu.check, cu.catch_up):
        with pytest.raises(ValueError) as raised:
            helper("03-logistic-regresion", 2, namespace=namespace)
        name = helper.__name__
        assert str(raised.value) == (
            f"cu.{name}: lecture must be the name of one of the course's lectures, got '03-logistic-regresion': "
            f"no lecture named 03-logistic-regresion. Did you mean 03-logistic-regression? "
            f'Write cu.{name}("03-logistic-regression", 2).')
    assert namespace == {"model": "the student's"}


def test_an_unknown_lecture_lists_the_lectures_there_are():
    with pytest.raises(ValueError, match=r"no lecture named 12-gans\. The course's lectures are 01-ethics, .*"
                                         r"In Colab, if the lecture is new, run the install cell"):
        cu.blank("12-gans", 1)


def test_a_blank_number_that_does_not_exist_names_the_blanks_and_advises_no_catch_up():
    namespace: dict = {"cu": cu, "p": "the student's p"}
    with pytest.raises(ValueError) as raised:
        exec(f'cu.blank("{LECTURE}", 99)', namespace)
    message = str(raised.value)
    assert message == ('cu.blank: blank must be one of the blanks of 03-logistic-regression (1 to 5), got 99. '
                       'Copy the number from the line in the live notebook, e.g. cu.blank("03-logistic-regression", 1).')
    assert "catch_up" not in message and namespace["p"] == "the student's p"       # no placeholder bound
    with pytest.raises(ValueError, match=r"cu\.catch_up: blank must be one of the blanks of .* got 99"):
        cu.catch_up(LECTURE, 99, namespace=namespace)
    with pytest.raises(ValueError, match=r"cu\.check: blank must be one of the blanks of .* got 99"):
        cu.check(LECTURE, 99, namespace=namespace)


# ----------------------------------------------------------------------------- the placeholders of an unfilled blank

NOT_MADE = r"^`p` is not made yet: blank 2 of 03-logistic-regression is not filled in"


@pytest.mark.parametrize("use", ["p == 0.5", "p != 0.5", "0.5 == p", "p in [0.5, 1.0]", "p < 1", "sorted([p, 1])"])
def test_comparing_a_placeholder_is_not_quietly_false(use):
    namespace = unfilled()
    with pytest.raises(BlankNotFilled, match=NOT_MADE):
        eval(use, namespace)


@pytest.mark.parametrize("use", ["round(p)", "round(p, 2)", "math.floor(p)", "math.trunc(p)", "divmod(p, 2)",
                                 "int(p)", "-p", "p ** 2", "2 ** p", "abs(p)", "next(p)", "reversed(p)"])
def test_rounding_and_arithmetic_on_a_placeholder_name_the_blank(use):
    namespace = {**unfilled(), "math": math}
    with pytest.raises(BlankNotFilled, match=NOT_MADE):
        eval(use, namespace)


@pytest.mark.parametrize("use", ["copy.copy(model)", "copy.deepcopy(model)", "pickle.dumps(model)",
                                 "copy.deepcopy({'model': model})", "torch.save(model, io.BytesIO())"])
def test_copying_or_saving_a_placeholder_names_the_blank(use):
    namespace = {**unfilled("model", "05-convolution", 4), "copy": copy, "pickle": pickle, "torch": torch, "io": io}
    with pytest.raises(BlankNotFilled, match="^`model` is not made yet: blank 4 of 05-convolution"):
        eval(use, namespace)


@pytest.mark.parametrize("use", ["torch.cat([t, p])", "torch.stack((t, p))", "torch.relu(p)", "t + p",
                                 "torch.nn.functional.linear(p, t)", "np.concatenate([a, p])", "np.mean(p)",
                                 "torch.tensor(p)"])
def test_torch_and_numpy_functions_given_a_placeholder_name_the_blank(use):
    namespace = {**unfilled(), "torch": torch, "np": np, "t": torch.zeros(2), "a": np.zeros(2)}
    with pytest.raises(BlankNotFilled, match=NOT_MADE):
        eval(use, namespace)


@pytest.mark.parametrize("helper", ["cu.train(model, [(X, y)], epochs=1)", "cu.evaluate(model, [(X, y)])",
                                    "cu.count_parameters(model)", "cu.summary(model, (3, 32, 32))"])
def test_a_course_helper_given_a_placeholder_model_names_the_blank(helper):
    namespace = {**unfilled("model", "05-convolution", 4), "X": torch.zeros(2, 3, 32, 32),
                 "y": torch.zeros(2, dtype=torch.long)}
    with pytest.raises(NotImplementedError) as raised:
        eval(helper, namespace)
    message = str(raised.value)
    assert "got an Unfilled" not in message
    assert message.endswith('`model` is not made yet: blank 4 of 05-convolution is not filled in: define ConvNet: '
                            '3 blocks conv -> ReLU -> 2×2 max pool (convolutions self.conv1, self.conv2, self.conv3, '
                            'one pool self.pool), then linear 80 -> 80 -> 40 -> 10; create model — later cells use: '
                            'ConvNet, model. Replace the line cu.blank("05-convolution", 4) by your code. Behind? Run '
                            'cu.catch_up("05-convolution", 4) in a new cell.')


def test_placeholders_are_bound_in_colabs_ipython_too():
    """IPython 7.34 (Colab's) names a cell's code ``<cell line: 0>``, not ``<module>``: the top level is still found."""
    cell = compile('cu.blank("03-logistic-regression", 2)', "<ipython-input-1-abc>", "exec")
    cell = cell.replace(co_name="<cell line: 0>")
    namespace: dict = {"cu": cu}
    with pytest.raises(BlankNotFilled):
        exec(cell, namespace)
    assert isinstance(namespace["p"], Unfilled)


# ----------------------------------------------------------------------------- how the error shows in a notebook


def test_blank_not_filled_shows_its_sentence_not_a_traceback_through_course_utils():
    """IPython (7.34 in Colab, 8/9 under ipykernel 6/7) shows what ``_render_traceback_`` returns."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("import course_utils as cu")
    shown = {}
    for name, cell in [("blank", f'cu.blank("{LECTURE}", 2)'), ("use", "loss = p.sum() * 2")]:
        out = io.StringIO()
        with redirect_stdout(out):
            shell.run_cell(cell)
        shown[name] = out.getvalue()
    for text in shown.values():
        assert "placeholders.py" not in text and "Traceback" not in text and "------" not in text
        assert "BlankNotFilled" in text and 'Behind? Run cu.catch_up("03-logistic-regression", 2) in a new cell.' in text
    assert "(It happened in your code, at: loss = p.sum() * 2)" in shown["use"]
    InteractiveShell.clear_instance()


def test_blank_not_filled_in_a_real_kernel_sends_the_sentence(kernel):
    """The traceback a Jupyter kernel sends to JupyterLab is the sentence (ipykernel's error message)."""
    msg_id = kernel.client.execute(f'cu.blank("{LECTURE}", 3)')
    messages = kernel._collect(msg_id)
    [error] = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert error["ename"] == "BlankNotFilled"
    text = "\n".join(error["traceback"])
    assert "blank 3 of 03-logistic-regression is not filled in" in text and "placeholders.py" not in text
    assert len(error["traceback"]) == 1


def test_the_students_line_is_found_in_the_traceback():
    namespace = unfilled()
    try:
        exec(compile("x = 1\ny = p.sum()\n", "<ipython-input-7-cell>", "exec"), namespace)
    except BlankNotFilled as error:
        import linecache
        linecache.cache["<ipython-input-7-cell>"] = (20, None, ["x = 1\n", "y = p.sum()\n"], "<ipython-input-7-cell>")
        assert students_line(error.__traceback__) == "y = p.sum()"


# ----------------------------------------------------------------------------- catching up


def test_catch_up_for_a_function_blank_called_in_its_own_cell_then_the_next_cell_works():
    """05's max_pool: the cell defines it and calls it. Following the advice must not raise the same error again."""
    from course_tools import live

    config = live.read_colab_config(REPO / "pyproject.toml")
    twin = live.make_live_notebook(nbformat.read(REPO / "notebooks" / "05-convolution.ipynb", as_version=4),
                                   "05-convolution.ipynb", config, checked=True)
    cell = next(c.source for c in twin.cells if 'cu.blank("05-convolution", 3)' in c.source)
    namespace = {"cu": cu, "np": np, "torch": torch, "F": torch.nn.functional}
    with pytest.raises(BlankNotFilled) as raised:
        exec(compile(cell, "<cell-with-max_pool>", "exec"), namespace)
    assert str(raised.value).endswith('Behind? Run cu.catch_up("05-convolution", 3) in a new cell: it runs the '
                                      "lecture's code for this whole cell (max_pool included), and you go on with "
                                      "the next cell.")
    out = io.StringIO()
    with redirect_stdout(out):
        cu.catch_up("05-convolution", 3, namespace=namespace)
    assert "go on with the next cell" in out.getvalue() and "run the cell that stopped" not in out.getvalue()
    assert namespace["max_pool"](namespace["A"]).tolist() == [[6, 4], [7, 9]]      # the next cells can use it


def test_a_function_blank_called_from_a_later_cell_says_to_run_that_cell_again():
    namespace: dict = {"cu": cu}
    exec(compile('def train_model(model, loader, epochs):\n    cu.blank("03-logistic-regression", 4)\n',
                 "<cell-defining>", "exec"), namespace)
    with pytest.raises(BlankNotFilled, match=r"it defines train_model as the lecture does; then run this cell again\.$"):
        exec(compile("history = train_model(1, 2, 3)", "<cell-calling>", "exec"), namespace)


def test_catch_up_of_a_class_blank_names_the_objects_made_from_the_old_class():
    class LogisticRegression(nn.Module):          # the student's own version, with another layer name
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3072, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    model = LogisticRegression()
    namespace = {"nn": nn, "LogisticRegression": LogisticRegression, "model": model,
                 "optimizer": torch.optim.Adam(model.parameters()), "other": torch.zeros(2)}
    out = io.StringIO()
    with redirect_stdout(out):
        cu.catch_up(LECTURE, 1, namespace=namespace)
    assert namespace["LogisticRegression"] is not LogisticRegression and namespace["model"] is model
    assert ("Made from your earlier LogisticRegression, so still the old kind: model, optimizer. Run the cells "
            "that make them again (e.g. model = LogisticRegression(...)), so that they use the lecture's class.") \
        in out.getvalue()


def test_catch_up_run_must_be_true_or_false():
    namespace: dict = {}
    with pytest.raises(TypeError, match=r"^cu\.catch_up: run must be True or False, got 'no'\. run=False only"):
        cu.catch_up(LECTURE, 2, namespace=namespace, run="no")
    assert namespace == {}


# ----------------------------------------------------------------------------- cu.check changes nothing


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(3 * 32 * 32, 10)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.linear(self.flatten(x)))


@pytest.fixture
def recorded_model(tmp_path, monkeypatch):
    """A lecture "03-frozen" whose blank 1 made `model` (recorded as --record would), in a data folder of its own."""
    monkeypatch.setenv("COURSE_LIVE_DATA", str(tmp_path))
    namespace = {"train": torch.utils.data.TensorDataset(torch.zeros(4, 3, 32, 32), torch.zeros(4, dtype=torch.long)),
                 "model": Frozen()}
    blank = {"number": 1, "cell": 3, "kind": "cell", "scope": "module", "owner": None, "hint": "the model",
             "uses": ["model"], "check_items": ["model"], "exact": [], "needs": [], "placeholders": ["model"],
             "made_by": {}, "code": "", "cell_code": "", "check": True, "fingerprint": "f"}
    solutions_path("03-frozen", tmp_path).parent.mkdir(parents=True)
    solutions_path("03-frozen", tmp_path).write_text(json_text({"format": 2, "lecture": "03-frozen", "blanks": [blank]}))
    record = {"blanks": {"1": {"fingerprint": "f", "items": ["model"],
                               "values": {"model": describe(namespace["model"], namespace)}}}}
    checks_path("03-frozen", tmp_path).parent.mkdir(parents=True)
    checks_path("03-frozen", tmp_path).write_text(json_text(record))
    return namespace


def test_check_leaves_a_layer_the_student_froze_in_eval_mode_as_it_was(recorded_model, capsys):
    model = recorded_model["model"]
    model.train()
    model.drop.eval()                                     # the student froze the dropout layer
    model.linear.weight.requires_grad_(False)
    model.linear.bias.grad = torch.ones(10)
    torch.manual_seed(3)
    expected_draw = torch.rand(1)
    torch.manual_seed(3)
    cu.check("03-frozen", 1, namespace=recorded_model)
    assert capsys.readouterr().out.startswith("✓ blank 1 of 03-frozen")
    assert model.training and model.linear.training and not model.drop.training
    assert model.linear.weight.requires_grad is False and model.linear.bias.requires_grad is True
    assert torch.equal(model.linear.bias.grad, torch.ones(10)) and model.linear.weight.grad is None
    assert torch.equal(torch.rand(1), expected_draw)                               # the random state was kept
    assert model.linear.weight.device.type == "cpu"


def test_check_does_not_run_a_model_with_hooks_or_unfinished_lazy_layers(recorded_model, capsys):
    calls = []
    model = recorded_model["model"]
    model.linear.register_forward_hook(lambda *args: calls.append(1))
    cu.check("03-frozen", 1, namespace=recorded_model)
    assert calls == []
    lazy = nn.Sequential(nn.Flatten(), nn.LazyLinear(10))
    recorded_model["model"] = lazy
    cu.check("03-frozen", 1, namespace=recorded_model)
    assert lazy[1].has_uninitialized_params()                                       # not fixed by the check
    capsys.readouterr()


def test_a_model_whose_layers_do_not_fit_is_explained_in_the_lectures_words(recorded_model, capsys):
    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 20, 5)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(320, 10)

        def forward(self, x):
            return self.fc1(torch.flatten(self.pool(self.pool(self.pool(self.conv1(x)))), 1))

    recorded_model["model"] = Student()
    cu.check("03-frozen", 1, namespace=recorded_model)
    assert capsys.readouterr().out.strip() == (
        "✗ blank 1 of 03-frozen: `model` cannot take a batch of shape (2, 3, 32, 32): your first Linear layer `fc1` "
        "(Linear(320 → 10)) expects 320 numbers per image, but it gets 180: the flattened output of `pool` "
        "(20 channels × 3 × 3 = 180). Make it nn.Linear(180, 10), or change the layers before it.")


@pytest.mark.parametrize(("layers", "expected"), [
    ([nn.Conv2d(1, 8, 3)], "your first Conv2d layer `0` (Conv2d(1 → 8, kernel 3×3)) expects 1 channels per image, "
                           "but it gets 3 (the images have 3)."),
    ([nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.MaxPool2d(2), nn.Conv2d(8, 8, 5)],
     "your second Conv2d layer `3` (Conv2d(8 → 8, kernel 5×5)) gets images of 1 × 1, smaller than its kernel 5 × 5"),
    ([nn.Conv2d(3, 8, 3), nn.BatchNorm2d(16)], "your first BatchNorm2d layer `1` (BatchNorm2d(16, 16)) normalises "
                                                "16 channels, but it gets 8. Make it BatchNorm2d(8)."),
    ([nn.Conv2d(3, 8, 3), nn.Linear(8 * 6 * 6, 10)], "expects 288 numbers per image, but it gets a tensor of shape "
                                                     "(2, 8, 6, 6): flatten it first"),
])
def test_shape_errors_name_the_layer_what_it_expects_and_what_it_gets(layers, expected):
    model = nn.Sequential(*layers)
    modes = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError) as raised:
        model(torch.zeros(2, 3, 8, 8))
    assert shape_errors.looks_like_shape_error(raised.value)
    assert expected in shape_errors.explain_shape_error(model, torch.zeros(2, 3, 8, 8), raised.value)
    assert [m.training for m in model.modules()] == modes


def test_shape_errors_explained_turns_the_error_of_a_first_batch_into_words():
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))
    X = torch.zeros(4, 3, 2, 2)
    with pytest.raises(shape_errors.ModelShapeError, match=r"expects 10 numbers per image, but it gets 12: "
                                                           r"Make it|expects 10 numbers per image, but it gets 12"):
        with shape_errors.explained(model, X[:2]):
            model(X)
    with pytest.raises(ZeroDivisionError):                       # any other error passes through unchanged
        with shape_errors.explained(model, X[:2]):
            1 / 0


# ----------------------------------------------------------------------------- what later cells need from a class blank


def student_namespace(cls) -> dict:
    return {"LogisticRegression": cls, "train": torch.utils.data.TensorDataset(torch.zeros(2, 3, 32, 32))}


def test_a_class_blank_with_other_attribute_names_gets_the_specific_line(capsys):
    class LogisticRegression(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(3072, 10)               # the lecture's later cells read model.linear.weight

        def forward(self, x):
            return self.fc(self.flatten(x))

    cu.check(LECTURE, 1, namespace=student_namespace(LogisticRegression))
    assert capsys.readouterr().out.strip() == (
        "✗ blank 1 of 03-logistic-regression: `LogisticRegression` has no attribute `linear`; "
        "later cells read `model.linear.weight`.")


def test_a_class_blank_without_the_keyword_argument_later_cells_pass(capsys):
    from course_utils.live.selfcheck import needs_problems
    from course_utils.live.packagedata import solution_for

    class SignConvNet(nn.Module):
        def __init__(self):                              # 24 classes hard-coded
            super().__init__()
            self.fc = nn.Linear(50, 24)

    solution = solution_for("07-sign-language-case-study", 3)
    assert needs_problems(solution, {"SignConvNet": SignConvNet}) == [
        "`SignConvNet` takes no argument `num_classes`; later cells call `SignConvNet(num_classes=26)`"]


# ----------------------------------------------------------------------------- the command line


def test_fill_with_a_damaged_lecture_names_the_file_and_writes_nothing(tmp_path, capsys):
    repo = make_repo(folder(tmp_path / "repo"), ("03-x.ipynb", lecture()), checked="all")
    (repo / "notebooks" / "03-x.ipynb").write_text('{"cells": [')
    target = tmp_path / "filled"
    assert cli(repo, "--fill", str(target)) == 2
    err = capsys.readouterr().err
    assert "error: cannot make the filled twin of " in err and "03-x.ipynb: Notebook does not appear to be JSON" in err
    assert "Nothing was written." in err and not target.exists()


def test_fill_to_a_path_that_is_a_file(tmp_path, capsys):
    repo = make_repo(folder(tmp_path / "repo"), ("03-x.ipynb", lecture()), checked="all")
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert cli(repo, "--fill", str(target)) == 2
    assert f"error: --fill {target}: is a file, not a folder. Give a folder" in capsys.readouterr().err
    assert target.read_text() == "mine"
    assert cli(repo, "--fill", str(target / "below")) == 2
    assert f"is below {target}, which is a file" in capsys.readouterr().err


def test_fill_into_a_read_only_folder(tmp_path):
    prefix = drop_write_capabilities_prefix()
    if prefix is None:
        pytest.skip("cannot drop the capability to write anywhere here")
    repo = make_repo(folder(tmp_path / "repo"), ("03-x.ipynb", lecture()), checked="all")
    target = tmp_path / "read-only"
    target.mkdir()
    target.chmod(0o555)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "course_tools.live", "--fill", str(target),
             "--notebooks", str(repo / "notebooks"), "--config", str(repo / "pyproject.toml")],
            capture_output=True, text=True, cwd=REPO, timeout=120)
    finally:
        target.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert f"error: --fill {target}: cannot write into {target} (Permission denied). Give a folder you can write " \
           "to." in done.stderr and "Traceback" not in done.stderr
    assert list(target.iterdir()) == []


def test_a_damaged_pyproject_is_named(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    with open(repo / "pyproject.toml", "a") as file:
        file.write("\n[tool.course_utils.live]\nchecked = [\n")
    before = snapshot(repo)
    assert cli(repo, "--check") == 2 and cli(repo) == 2
    err = capsys.readouterr().err
    assert f"error: {repo / 'pyproject.toml'} is not valid TOML: " in err and "nothing was written" in err
    assert snapshot(repo) == before


def test_record_with_a_misspelt_lecture_suggests_the_name_and_writes_nothing(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-logistic-regression.ipynb", lecture()), checked="all")
    before = snapshot(repo)
    assert cli(repo, "--record", "03-logistic-regresion") == 2
    assert ("error: no lecture 03-logistic-regresion.ipynb in " in (err := capsys.readouterr().err)
            and "; did you mean 03-logistic-regression? Nothing was written." in err)
    assert snapshot(repo) == before                                     # no twin rewritten first


def test_record_of_a_lecture_that_is_not_checked_writes_nothing(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()), ("04-y.ipynb", lecture()), checked=["04-y"])
    before = snapshot(repo)
    assert cli(repo, "--record", "03-x") == 2
    assert "03-x is not in [tool.course_utils.live] checked" in capsys.readouterr().err
    assert snapshot(repo) == before


@pytest.mark.parametrize(("arguments", "message"), [
    (["--full"], "--full only goes with --record"),
    (["--timeout", "60"], "--timeout only goes with --record"),
    (["--record", "03-x", "--timeout", "0"], "--timeout must be a positive number of seconds per cell, got 0"),
    (["--check", "--replace-work"], "--replace-work goes with writing the twins"),
    (["--check", "--fill", "x"], "use one of --check, --record and --fill at a time"),
    (["--record", "03-x.ipynb"], "--record takes lecture names such as 03-logistic-regression"),
])
def test_options_that_do_not_go_together_are_refused_before_anything_is_written(tmp_path, capsys, arguments, message):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()), checked="all")
    before = snapshot(repo)
    assert cli(repo, *arguments) == 2
    assert message in capsys.readouterr().err
    assert snapshot(repo) == before


def test_a_notebooks_folder_or_data_folder_that_is_a_file(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    (tmp_path / "a-file").write_text("x")
    assert live_main(["--notebooks", str(tmp_path / "a-file"), "--config", str(repo / "pyproject.toml")]) == 2
    assert "is a file, not a folder; pass --notebooks DIR" in capsys.readouterr().err
    assert cli(repo, "--data", str(tmp_path / "a-file")) == 2
    assert "is a file; it should be the folder that holds solutions/ and checks/" in capsys.readouterr().err


def live_main(arguments: list[str]) -> int:
    from course_tools import live
    return live.main(arguments)


# ----------------------------------------------------------------------------- the classroom round trip


def filled_in_class(repo: Path) -> Path:
    """What an instructor does in class: type into a blank, run the cell, save."""
    twin = repo / "notebooks" / "live" / "03-x-live.ipynb"
    nb = read(twin)
    cell = cell_with(nb, "define the model")
    cell.source = "model = [4, 5, 6]   # written in class"
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", text="ok\n")]
    nbformat.write(nb, twin)
    return twin


def test_a_twin_filled_in_class_is_not_stale_and_is_never_overwritten(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    twin = filled_in_class(repo)
    work = twin.read_bytes()
    capsys.readouterr()
    assert cli(repo, "--check") == 1
    err = capsys.readouterr().err
    assert "03-x-live.ipynb: holds work done in it (1 cell was run): it is not stale" in err and "is stale" not in err
    assert cli(repo) == 1                                         # following the old advice changes nothing
    assert twin.read_bytes() == work
    edit = read(repo / "notebooks" / "03-x.ipynb")                # nor does a lecture edit made meanwhile
    edit.cells.append(md("More."))
    nbformat.write(edit, repo / "notebooks" / "03-x.ipynb")
    assert cli(repo) == 1 and twin.read_bytes() == work


def test_replace_work_keeps_a_copy_first(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    work = filled_in_class(repo).read_bytes()
    assert cli(repo, "--replace-work") == 0
    [copy_of_work] = (repo / "class-work").glob("03-x-live-*.ipynb")
    assert copy_of_work.read_bytes() == work
    assert "model = [4, 5, 6]" not in (repo / "notebooks" / "live" / "03-x-live.ipynb").read_text()


def test_an_unreadable_twin_is_left_alone(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    twin = repo / "notebooks" / "live" / "03-x-live.ipynb"
    twin.write_text('{"cells": [ half a notebook')
    assert cli(repo) == 1 and twin.read_text() == '{"cells": [ half a notebook'
    assert "03-x-live.ipynb: cannot be read (" in capsys.readouterr().err


def test_a_twin_whose_lecture_is_gone_is_not_removed_when_it_holds_work(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", lecture()))
    assert cli(repo) == 0
    twin = filled_in_class(repo)
    (repo / "notebooks" / "03-x.ipynb").unlink()
    assert cli(repo) == 1 and twin.exists()
    assert "has no lecture notebook any more, but holds work done in it (1 cell was run)" in capsys.readouterr().err


# ----------------------------------------------------------------------------- marking a lecture


def test_a_live_check_line_outside_a_region_is_a_marker_error(tmp_path, capsys):
    repo = make_repo(tmp_path, ("03-x.ipynb", notebook(md("# X"), code("# live-check: f(1)\nx = 1"))))
    assert cli(repo, "--check") == 1
    assert "line 1: a '# live-check:' line belongs inside a region" in capsys.readouterr().err


def test_a_probe_in_a_hint_is_a_warning_and_a_live_check_line_is_left_out_of_the_twin(tmp_path, capsys):
    shown = notebook(md("# X"), code("import course_utils as cu"),
                     code("# live-start: double — later lines use: f(2)\ndef f(v):\n    return 2 * v\n# live-end\nf(3)"))
    hidden = notebook(md("# X"), code("import course_utils as cu"),
                      code("# live-start: double — later lines use: f\n# live-check: f(2)\ndef f(v):\n    return 2 * v\n"
                           "# live-end\nf(3)"))
    repo = make_repo(folder(tmp_path / "a"), ("03-x.ipynb", shown))
    cli(repo)
    assert "its hint shows students the self-check's call(s) f(2)" in capsys.readouterr().err
    repo = make_repo(folder(tmp_path / "b"), ("03-x.ipynb", hidden))
    cli(repo)
    assert "self-check's call" not in capsys.readouterr().err
    twin = (repo / "notebooks" / "live" / "03-x-live.ipynb").read_text()
    assert "live-check" not in twin and "f(2)" not in twin
