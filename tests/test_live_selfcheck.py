"""Tests for what students' notebooks call: cu.blank, cu.check, cu.catch_up (no kernel needed here).

The package data (solutions, recorded checks) is written into a temporary folder that
``COURSE_LIVE_DATA`` points to; the values are recorded with ``describe`` from plain
Python and torch values, exactly as ``--record`` does in a kernel.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils.live.compare import compare
from course_utils.live.describe import data_lengths, describe
from course_utils.live.packagedata import checks_path, json_text, solutions_path
from course_utils.live.placeholders import Unfilled
from course_utils.live.selfcheck import SelfCheckFailed

LECTURE = "03-demo"


def lecture_namespace() -> dict:
    """What the lecture's code made by blank 1 (a model and its training history) and blank 2 (features)."""
    torch.manual_seed(0)
    train = torch.utils.data.TensorDataset(torch.rand(60, 1, 4, 4), torch.randint(0, 10, (60,)))
    return {
        "train": train,
        "model": nn.Sequential(nn.Flatten(), nn.Linear(16, 10)),
        "history": pd.DataFrame({"epoch": [1], "loss": [2.3], "accuracy": [0.12]}),
        "features": torch.stack([image for image, _ in train]).flatten(1) / 1.0,
        "accuracy": 0.12,
        "double": lambda v: 2 * v,
        "torch": torch,
    }


@pytest.fixture
def data(tmp_path, monkeypatch):
    """Solutions and recorded checks of a small lecture with three blanks, in a folder COURSE_LIVE_DATA points to."""
    folder = tmp_path / "live-data"
    monkeypatch.setenv("COURSE_LIVE_DATA", str(folder))
    blanks = [
        {"number": 1, "cell": 5, "kind": "cell", "scope": "module", "owner": None, "check": True,
         "hint": "define and train the model — later cells use: model, history", "uses": ["model", "history"],
         "placeholders": ["model", "history"], "fingerprint": "f1",
         "made_by": {"model": "set `model`", "history": "keep what `cu.train(...)` returns as `history`"},
         "code": "model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))\nhistory = cu.train(model, loader)",
         "cell_code": "# define and train the model — later cells use: model, history\n"
                      "model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))\nhistory = make_history()"},
        {"number": 2, "cell": 7, "kind": "region", "scope": "module", "owner": None, "check": True,
         "hint": "the features and the accuracy — later cells use: features, accuracy, double(torch.arange(3))",
         "uses": ["features", "accuracy", "double(torch.arange(3))"], "placeholders": ["features", "accuracy"],
         "fingerprint": "f2", "made_by": {"features": "set `features`"}, "code": "...",
         "cell_code": "features = torch.ones(2, 2)\nfeatures.sum()"},
        {"number": 3, "cell": 9, "kind": "region", "scope": "function", "owner": "total", "check": False,
         "hint": "add v — later lines use: result", "uses": ["result"], "placeholders": [], "fingerprint": "f3",
         "made_by": {}, "code": "        result = result + v",
         "cell_code": "def total(values):\n    result = 0\n    for v in values:\n        result = result + v\n    return result"},
    ]
    solutions_path(LECTURE, folder).parent.mkdir(parents=True)
    solutions_path(LECTURE, folder).write_text(json_text({"format": 1, "lecture": LECTURE, "blanks": blanks}))
    namespace = lecture_namespace()
    record = {"format": 1, "lecture": LECTURE, "blanks": {}}
    for blank in blanks[:2]:
        values = {item: describe(eval(item, dict(namespace)), namespace, exact="(" in item) for item in blank["uses"]}
        record["blanks"][str(blank["number"])] = {"fingerprint": blank["fingerprint"], "items": blank["uses"],
                                                  "values": values}
    checks_path(LECTURE, folder).parent.mkdir(parents=True)
    checks_path(LECTURE, folder).write_text(json_text(record))
    return folder


def check_line(capsys, number: int, namespace: dict) -> str:
    cu.check(LECTURE, number, namespace=namespace)
    return capsys.readouterr().out.strip()


# ----------------------------------------------------------------------------- cu.check


def test_the_lectures_own_values_pass(data, capsys):
    assert check_line(capsys, 1, lecture_namespace()) == \
        "✓ blank 1 of 03-demo: `model`, `history` look like the lecture's."
    assert check_line(capsys, 2, lecture_namespace()) == \
        "✓ blank 2 of 03-demo: `features`, `accuracy`, `double(torch.arange(3))` look like the lecture's."


def test_a_missing_name_says_how_the_lecture_makes_it(data, capsys):
    namespace = lecture_namespace()
    del namespace["history"]
    assert check_line(capsys, 1, namespace) == ("✗ blank 1 of 03-demo: `history` is missing: the blank above "
                                                "should keep what `cu.train(...)` returns as `history`.")
    namespace["history"] = Unfilled("history", LECTURE, 1)       # left behind by the unfilled blank
    assert "`history` is missing" in check_line(capsys, 1, namespace)


def test_a_model_with_the_wrong_number_of_outputs(data, capsys):
    namespace = lecture_namespace()
    namespace["model"] = nn.Sequential(nn.Flatten(), nn.Linear(16, 25))
    assert check_line(capsys, 1, namespace) == "✗ blank 1 of 03-demo: `model` has 25 outputs; the lecture's has 10."


def test_a_model_with_other_layers_but_the_same_outputs(data, capsys):
    namespace = lecture_namespace()
    namespace["model"] = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 10))
    assert check_line(capsys, 1, namespace) == (
        "✗ blank 1 of 03-demo: `model` has 226 parameters; the lecture's has 170 "
        "(the lecture's has Linear(16 → 10) and yours has Linear(16 → 8), Linear(8 → 10)).")


def test_a_model_that_cannot_take_the_input(data, capsys):
    namespace = lecture_namespace()
    namespace["model"] = nn.Linear(16, 10)                      # forgot to flatten
    line = check_line(capsys, 1, namespace)
    assert line == ("✗ blank 1 of 03-demo: `model` cannot take a batch of shape (2, 1, 4, 4): your first Linear layer "
                    "(Linear(16 → 10)) expects 16 numbers per image, but it gets a tensor of shape (2, 1, 4, 4): "
                    "flatten it first (nn.Flatten(), or torch.flatten(x, start_dim=1)).")


def test_the_class_instead_of_a_model(data, capsys):
    namespace = lecture_namespace()
    namespace["model"] = nn.Sequential
    assert "`model` is the class Sequential itself; the lecture's is a model made from it" in check_line(capsys, 1, namespace)


def test_a_tensor_with_the_wrong_shape(data, capsys):
    namespace = lecture_namespace()
    namespace["features"] = namespace["features"].reshape(60, 4, 4)
    assert check_line(capsys, 2, namespace) == \
        "✗ blank 2 of 03-demo: `features` has shape (60, 4, 4); the lecture's has shape (len(train) = 60, 16)."


def test_a_size_that_is_a_data_set_length_follows_the_students_data_set(data, capsys):
    """Fast mode and a full run differ in how many images there are: the check compares with len(train)."""
    namespace = lecture_namespace()
    namespace["train"] = torch.utils.data.TensorDataset(torch.rand(90, 1, 4, 4), torch.randint(0, 10, (90,)))
    namespace["features"] = torch.rand(90, 16)
    assert check_line(capsys, 2, namespace).startswith("✓")
    namespace["features"] = torch.rand(60, 16)                  # from the old data set
    assert check_line(capsys, 2, namespace) == \
        "✗ blank 2 of 03-demo: `features` has shape (60, 16); the lecture's has shape (len(train) = 90, 16)."


def test_a_percentage_instead_of_a_share(data, capsys):
    namespace = lecture_namespace()
    namespace["accuracy"] = 12.0
    assert check_line(capsys, 2, namespace) == \
        "✗ blank 2 of 03-demo: `accuracy` is 12; the lecture's lies between 0 and 1 (a share, not a percentage)."


def test_a_probe_is_compared_closely(data, capsys):
    namespace = lecture_namespace()
    namespace["double"] = lambda v: 3 * v
    assert check_line(capsys, 2, namespace) == \
        "✗ blank 2 of 03-demo: `double(torch.arange(3))` gives [0., 3., 6.]; the lecture's gives [0., 2., 4.]."
    namespace["double"] = lambda v: v.nothing
    assert "calling `double(torch.arange(3))` raised AttributeError" in check_line(capsys, 2, namespace)


def test_one_line_even_with_several_problems(data, capsys):
    namespace = lecture_namespace()
    del namespace["model"], namespace["history"]
    line = check_line(capsys, 1, namespace)
    assert "\n" not in line and line.endswith("(And 1 more: fix this first.)")


def test_no_recorded_check_and_a_stale_one_say_so(data, capsys):
    assert check_line(capsys, 3, {}) == ("· blank 3 of 03-demo: no recorded check "
                                         "(instructor: python -m course_tools.live --record 03-demo).")
    path = solutions_path(LECTURE, data)
    solutions = json.loads(path.read_text())
    solutions["blanks"][0]["fingerprint"] = "changed"
    path.write_text(json_text(solutions))
    assert "the recorded check is out of date, so it is skipped" in check_line(capsys, 1, lecture_namespace())


def test_strict_mode_raises_after_printing(data, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_LIVE_STRICT", "1")
    namespace = lecture_namespace()
    namespace["accuracy"] = 12.0
    with pytest.raises(SelfCheckFailed, match="`accuracy` is 12"):
        cu.check(LECTURE, 2, namespace=namespace)
    assert capsys.readouterr().out.startswith("✗")
    cu.check(LECTURE, 1, namespace=lecture_namespace())      # a pass does not raise


def test_check_reads_the_callers_globals_outside_ipython(data, capsys):
    namespace = lecture_namespace()
    namespace["cu"] = cu
    exec('cu.check("03-demo", 1)', namespace)
    assert capsys.readouterr().out.startswith("✓ blank 1")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (("03-demo.ipynb", 1), ValueError, "lecture must be a lecture notebook's name without .ipynb"),
        ((3, 1), TypeError, "lecture must be .* got 3"),
        (("03-demo", 0), ValueError, "blank must be a blank's number: a whole number, 1 for the first blank, got 0"),
        (("03-demo", True), TypeError, "blank must be .* got True"),
    ],
)
def test_check_arguments(arguments, error, message):
    with pytest.raises(error, match=message):
        cu.check(*arguments, namespace={})
    with pytest.raises(error, match=message):
        cu.catch_up(*arguments, namespace={})


def test_check_namespace_must_be_a_mapping(data):
    with pytest.raises(TypeError, match="namespace should be a dict of the notebook's variables"):
        cu.check("03-demo", 1, namespace=[1, 2])


# ----------------------------------------------------------------------------- describe / compare by kind


@pytest.mark.parametrize(
    ("lecture", "student", "message"),
    [
        (torch.zeros(3), torch.zeros(3, dtype=torch.int64), "`v` has dtype torch.int64; the lecture's has torch.float32"),
        (torch.zeros(3), torch.zeros(3, dtype=torch.float16), None),                    # mixed precision is fine
        (torch.rand(3), torch.rand(3) * 255, "`v` has values from"),
        (torch.rand(3, 2) - 0.5, (torch.rand(3, 2) - 0.5) * 500, "`v` has values of typical size"),
        (torch.rand(4), torch.tensor([0.5, float("nan"), 0.1, 0.2]), "`v` has NaN or infinite values"),
        (torch.arange(4), torch.arange(4) - 2, "`v` has negative values (down to -2)"),
        (torch.zeros(3).numpy(), torch.zeros(3), "`v` is a torch tensor; the lecture's is a NumPy array"),
        (3, 3.5, "`v` is 3.5; the lecture's is a whole number"),
        (2.3, -2.3, "`v` is -2.3; the lecture's is not negative (2.3)"),
        (2.3, 230.0, "`v` is 230; the lecture's is about 2.3 (more than 10 times smaller)"),
        (2.3, 1.1, None),                                                              # loose on purpose
        (pd.DataFrame({"epoch": [1], "loss": [1.0]}), pd.DataFrame({"epoch": [1, 2]}),
         "`v` has no column loss; the lecture's has epoch, loss"),
        (pd.DataFrame({"epoch": [1]}), pd.DataFrame({"epoch": [1, 2, 3], "extra": [0, 0, 0]}), None),
        ({"conv1": torch.zeros(2, 3)}, {"conv1": torch.zeros(2, 4)},
         "`v['conv1']` has shape (2, 4); the lecture's has shape (2, 3)"),
        ({"a": 1, "b": 2}, {"a": 1}, "`v` has no key 'b'; the lecture's has 'a', 'b'"),
        ((1, torch.zeros(2)), (1, torch.zeros(2), 3), "`v` has 3 items; the lecture's has 2"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], None),                                           # a list may grow (epochs)
        (torch.nn, torch, "`v` is the module torch; the lecture's is torch.nn"),
        (lambda a, b: a, lambda a: a, "`v` takes 1 argument(s) (a); the lecture's takes 2 (a, b)"),
        (None, 3, "`v` is a number; the lecture's is None"),
        ("text", 3, "`v` is a number; the lecture's is a string"),
        (torch.tensor(0.5), 0.5, None),                                                 # a 0-d tensor is a number
    ],
)
def test_compare_by_kind(lecture, student, message):
    problems = compare(describe(lecture, {}), student, "`v`", {})
    if message is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(message), problems


def test_a_model_class_is_compared_by_the_model_it_makes():
    class Net(nn.Module):
        def __init__(self, outputs=10):
            super().__init__()
            self.fc = nn.Linear(16, outputs)

        def forward(self, x):
            return self.fc(x.flatten(1))

    class Wide(Net):
        def __init__(self):
            super().__init__(outputs=25)

    namespace = {"train": torch.utils.data.TensorDataset(torch.rand(5, 1, 4, 4))}
    expected = describe(Net, namespace)
    assert expected["instance"]["output"] == [2, 10]
    assert compare(expected, Wide, "`Net`", namespace) == ["`Wide()` has 25 outputs; the lecture's has 10"]


def test_an_optimizer_is_compared_by_class_and_learning_rate():
    parameters = [nn.Parameter(torch.zeros(2))]
    expected = describe(torch.optim.Adam(parameters, lr=1e-3), {})
    assert compare(expected, torch.optim.SGD(parameters, lr=1e-3), "`opt`", {}) == \
        ["`opt` is a SGD optimizer; the lecture's is Adam"]
    assert compare(expected, torch.optim.Adam(parameters, lr=1e-2), "`opt`", {}) == \
        ["`opt` has learning rate 0.01; the lecture's has 0.001"]


def test_an_evaluation_is_compared_field_by_field():
    from course_utils.evaluation import Evaluation

    lengths_ns = {"test": torch.utils.data.TensorDataset(torch.zeros(4, 1))}
    lecture = Evaluation(0.5, 0.7, torch.tensor([0, 1, 1, 0]), torch.tensor([0, 0, 1, 1]), ("a", "b"))
    expected = describe(lecture, lengths_ns)
    student = Evaluation(50.0, 0.7, lecture.predictions, lecture.labels, ("a", "b"))
    assert compare(expected, student, "`result`", lengths_ns) == \
        ["`result.accuracy` is 50; the lecture's lies between 0 and 1 (a share, not a percentage)"]


def test_describing_a_model_does_not_change_the_random_state_or_the_mode():
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, 3))
    model.train()
    namespace = {"train": torch.utils.data.TensorDataset(torch.rand(3, 1, 4, 4))}
    torch.manual_seed(1)
    expected_next = torch.rand(1)
    torch.manual_seed(1)
    describe(model, namespace)
    describe(nn.Sequential, {})
    assert torch.equal(torch.rand(1), expected_next) and model.training


def test_a_model_with_forward_hooks_is_not_run():
    """Running the student's model would fire their hooks (lecture 06 writes them): skip the output check."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    calls = []
    model[1].register_forward_hook(lambda module, inputs, output: calls.append(1))
    facts = describe(model, {"train": torch.utils.data.TensorDataset(torch.rand(3, 1, 4, 4))})
    assert "output" not in facts and calls == []


def test_data_lengths_include_loaders_datasets():
    train = torch.utils.data.TensorDataset(torch.zeros(7, 1))
    loader = torch.utils.data.DataLoader(train, batch_size=2)
    assert data_lengths({"train": train, "train_loader": loader, "_hidden": train}) == \
        {7: ["len(train)", "len(train_loader.dataset)"]}


# ----------------------------------------------------------------------------- cu.blank and its placeholders


def test_an_unfilled_blank_raises_naming_the_blank_and_leaves_placeholders(data):
    namespace = {"cu": cu, "model": "an old model from earlier in the lecture"}
    with pytest.raises(cu.live.BlankNotFilled) as raised:
        exec('cu.blank("03-demo", 1)', namespace)
    message = str(raised.value)
    assert message == ('blank 1 of 03-demo is not filled in: define and train the model — later cells use: model, '
                       'history. Replace the line cu.blank("03-demo", 1) by your code. Behind? Run '
                       'cu.catch_up("03-demo", 1) in a new cell.')
    assert isinstance(raised.value, NotImplementedError)
    assert isinstance(namespace["model"], Unfilled) and isinstance(namespace["history"], Unfilled)
    # the first use of a name the blank should have made names the blank again
    for use in ("model(1)", "history.loss", "len(history)", "print(model)", "f'{model}'", "model + 1",
                "torch.relu(model)", "[x for x in history]", "float(model)"):
        with pytest.raises(cu.live.BlankNotFilled, match="^`(model|history)` is not made yet: blank 1 of 03-demo"):
            exec(use, {"model": namespace["model"], "history": namespace["history"], "torch": torch})
    assert repr(namespace["model"]) == "<model: not made yet - blank 1 of 03-demo is not filled in>"


def test_a_blank_in_a_function_raises_when_called_and_binds_nothing(data):
    namespace = {"cu": cu}
    exec('def total(values):\n    result = 0\n    cu.blank("03-demo", 3)\n    return result', namespace)
    with pytest.raises(cu.live.BlankNotFilled, match=r"then run this cell again"):
        namespace["total"]([1, 2])
    assert "result" not in namespace


# ----------------------------------------------------------------------------- cu.catch_up


def test_catch_up_runs_the_lectures_code_in_the_namespace_and_shows_it(data, capsys):
    namespace = {"torch": torch, "nn": nn, "make_history": lambda: pd.DataFrame({"epoch": [1]})}
    cu.catch_up(LECTURE, 1, namespace=namespace)
    out = capsys.readouterr().out
    assert out.startswith("Catching up on blank 1 of 03-demo: running the lecture's code for it:")
    assert "    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))" in out
    assert isinstance(namespace["model"], nn.Sequential) and list(namespace["history"].columns) == ["epoch"]


def test_catch_up_shows_the_last_expression_and_can_only_show(data, capsys):
    namespace = {"torch": torch}
    cu.catch_up(LECTURE, 2, namespace=namespace)
    assert capsys.readouterr().out.rstrip().endswith("tensor(4.)")
    cu.catch_up(LECTURE, 1, namespace=(empty := {}), run=False)
    assert empty == {} and "model = nn.Sequential" in capsys.readouterr().out


def test_catch_up_for_a_blank_in_a_function_defines_it_again(data, capsys):
    namespace: dict = {}
    cu.catch_up(LECTURE, 3, namespace=namespace)
    assert namespace["total"]([1, 2, 3]) == 6
    out = capsys.readouterr().out
    assert "It runs the whole cell, so total is defined as the lecture's and the rest of that cell ran too: go on " \
           "with the next cell. (If a later cell stopped when it called total, run that cell again.)" in out


def test_catch_up_says_when_an_earlier_blank_is_missing(data):
    with pytest.raises(NameError) as raised:
        cu.catch_up(LECTURE, 2, namespace={})
    assert 'catch up on it first, e.g. cu.catch_up("03-demo", 1)' in "".join(raised.value.__notes__)


def test_catch_up_in_jupyterlab_replaces_the_cell_with_the_code(data, capsys, monkeypatch):
    """In JupyterLab the code arrives through set_next_input(replace=True), as %load does it."""
    import sys as system

    class Shell:
        def __init__(self):
            self.user_ns = {"torch": torch, "nn": nn, "make_history": lambda: None}
            self.next_input = None

        def set_next_input(self, text, replace=False):
            self.next_input = (text, replace)

        def transform_cell(self, code):
            return code

    shell = Shell()
    fake_ipython = type(system)("IPython")
    fake_ipython.get_ipython = lambda: shell
    monkeypatch.setitem(system.modules, "IPython", fake_ipython)
    from course_utils.live import catchup
    monkeypatch.setattr(catchup, "_shell", lambda: shell)
    cu.catch_up(LECTURE, 1)
    text, replace = shell.next_input
    assert replace is True
    assert text.startswith("# blank 1 of 03-demo, as the lecture writes it (cu.catch_up ran it)\n# define and train")
    assert "now replaces the code of this cell" in capsys.readouterr().out
    assert isinstance(shell.user_ns["model"], nn.Sequential)
    # in Colab, which ignores set_next_input, the code is printed instead
    shell.next_input = None
    monkeypatch.setitem(system.modules, "google.colab", type(system)("google.colab"))
    cu.catch_up(LECTURE, 1)
    assert shell.next_input is None and "    model = nn.Sequential" in capsys.readouterr().out


def test_catch_up_explains_an_unknown_lecture_or_blank(data):
    with pytest.raises(ValueError, match="no lecture named 04-nothing. The course's lectures are 03-demo"):
        cu.catch_up("04-nothing", 1, namespace={})
    with pytest.raises(ValueError, match=r"blank must be one of the blanks of 03-demo \(1 to 3\), got 7"):
        cu.catch_up(LECTURE, 7, namespace={})


def test_statistics_of_a_large_tensor_come_from_a_sample():
    big = torch.zeros(3_000_001)
    big[1::3] = 1.0                                     # every third value: the sample must see some of them
    facts = describe(big, {})
    assert facts["shape"] == [3_000_001] and facts["stats"]["max"] == 1.0
    assert compare(facts, big * 300, "`big`", {}) == ["`big` has values from 0 to 300; the lecture's lie between 0 and 1"]
