"""Tests for course_utils.checks (the rules and the one message format) and course_utils.mistakes (the table).

The table of known mistakes is tested by ONE parametrized test, row by row: every row
recognises its example, is the first row that does (no row hides behind another), lets
the correct value pass, and is said in the one format with its fix. A row without an
example here fails that test, so the table cannot grow untested.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import course_utils
from course_utils import checks
from course_utils.evaluation import Evaluation
from course_utils.data import ImageSet
from course_utils.live.placeholders import Unfilled
from course_utils.mistakes import MISTAKES, recognise

FORMAT = re.compile(r"^(?P<function>[\w.]+): (?P<name>\S+) must be (?P<expects>.+), got (?P<got>.+?)\.( (?P<fix>.+))?$")


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv1(x).mean(dim=(2, 3)))


MODEL = ConvNet()
OTHER = ConvNet()
OPTIMIZER = torch.optim.Adam(MODEL.parameters())
OTHER_OPTIMIZER = torch.optim.Adam(OTHER.parameters())
X, Y = torch.rand(4, 3, 5, 5), torch.tensor([0, 1, 0, 1])
DATA = ImageSet(torch.zeros(4, 3, 5, 5, dtype=torch.uint8), Y, ("cat", "dog"), (0.5,) * 3, (0.2,) * 3, "toy", "train")
LOADER = DataLoader(TensorDataset(X, Y), batch_size=2)
ACTIVATION = torch.rand(1, 4, 5, 5)
EVALUATION = Evaluation(0.5, 0.7, torch.tensor([0, 1]), torch.tensor([0, 0]), ("cat", "dog"))
PER_CLASS = pd.DataFrame({"accuracy": [0.5, 1.0]}, index=["cat", "dog"])


def step_lr(optimizer):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)


def one_batch_generator():
    return (batch for batch in [(X, Y)])


#: For every row of MISTAKES: (the mistake, the context the helper knows, a correct value, its context).
EXAMPLES = {
    "model-unfilled-blank": (Unfilled("model", "03-logistic-regression", 1), {}, MODEL, {}),
    "model-class": (ConvNet, {}, MODEL, {}),
    "model-state-dict": (MODEL.state_dict(), {}, MODEL, {}),
    "model-arguments-swapped": ((3, 32, 32), {}, MODEL, {}),
    "loss-class": (nn.CrossEntropyLoss, {}, nn.CrossEntropyLoss(), {}),
    "optimizer-for-another-model": (OTHER_OPTIMIZER, {"model": MODEL}, OPTIMIZER, {"model": MODEL}),
    "scheduler-without-optimizer": (step_lr(OPTIMIZER), {"optimizer": None}, step_lr(OPTIMIZER), {"optimizer": OPTIMIZER}),
    "scheduler-for-another-optimizer": (step_lr(OTHER_OPTIMIZER), {"optimizer": OPTIMIZER}, step_lr(OPTIMIZER),
                                        {"optimizer": OPTIMIZER}),
    "loader-one-tensor": (X, {}, LOADER, {}),
    "loader-image-set": (DATA, {}, LOADER, {}),
    "loader-one-batch": ((X, Y), {}, [(X, Y)], {}),
    "loader-generator-for-several-epochs": (one_batch_generator(), {"passes": 3}, one_batch_generator(), {"passes": 1}),
    "inputs-raw-pixels": (DATA.images, {}, X, {}),
    "images-batch-pair": ((X, Y), {}, X, {}),
    "images-image-set": (DATA, {}, DATA.images, {}),
    "images-loader": (LOADER, {}, X, {}),
    "images-model": (MODEL.conv1, {}, X, {}),
    "images-file-name": ("cat.png", {}, X, {}),
    "inputs-batch-pair": ((X, Y), {}, X[:1], {}),
    "labels-class-names": (["cat", "dog", "cat", "dog"], {}, [0, 1, 0, 1], {}),
    "labels-evaluation": (EVALUATION, {}, EVALUATION.predictions, {}),
    "classes-one-string": ("cat dog", {}, ["cat", "dog"], {}),
    "weight-layer": (MODEL.conv1, {}, MODEL.conv1.weight, {}),
    "weight-model": (MODEL, {}, MODEL.conv1.weight, {}),
    "weight-state-dict": (MODEL.state_dict(), {}, MODEL.conv1.weight, {}),
    "weight-of-a-linear-layer": (MODEL.fc.weight, {}, MODEL.conv1.weight, {}),
    "activation-whole-dict": ({"conv1": ACTIVATION}, {}, ACTIVATION[0], {}),
    "activation-layer": (MODEL.conv1, {}, ACTIVATION[0], {}),
    "activation-several-tensors": ((ACTIVATION, ACTIVATION), {}, ACTIVATION[0], {}),
    "kernels-one-kernel": (np.ones((3, 3)), {}, {"blur": np.ones((3, 3)) / 9}, {}),
    "result-model": (MODEL, {}, EVALUATION, {}),
    "result-loader": (LOADER, {}, EVALUATION, {}),
    "confusion-per-class-table": (PER_CLASS, {}, np.eye(2), {}),
    "per-class-confusion-matrix": (np.eye(2), {}, PER_CLASS, {}),
    "layers-objects-of-this-model": (MODEL.conv1, {"model": MODEL}, ["conv1"], {"model": MODEL}),
    "layers-objects-of-another-model": ([nn.Conv2d(1, 1, 1)], {"model": MODEL}, ["conv1"], {"model": MODEL}),
    "input-size-a-tensor": (X, {}, (3, 5, 5), {}),
    "number-in-quotes": ("1e-3", {}, 1e-3, {}),
    "flag-in-words": ("no", {}, False, {}),
    "device-misspelt": ("gpu", {}, "cuda", {}),
    "history-none": (None, {}, pd.DataFrame({"loss": [1.0]}), {}),
    "histories-list": ([pd.DataFrame({"loss": [1.0]})] * 2, {}, {"a": pd.DataFrame({"loss": [1.0]})}, {}),
    "history-rows": ([{"epoch": 1, "loss": 1.0}], {}, pd.DataFrame([{"epoch": 1, "loss": 1.0}]), {}),
    "image-set-loader": (LOADER, {}, DATA, {}),
    "image-set-tensors": ((X, Y), {}, DATA, {}),
    "pixels-numpy": (np.zeros((2, 1, 2, 2), np.uint8), {}, torch.zeros(2, 1, 2, 2, dtype=torch.uint8), {}),
    "normalize-image-set": (DATA, {}, DATA.images, {}),
    "normalize-batch-pair": ((X, Y), {}, X, {}),
    "normalize-list": ([[0.0, 1.0]], {}, np.zeros((1, 2)), {}),
    "grey-image-file-name": ("cat.png", {}, np.zeros((5, 5)), {}),
    "data-set-name-image-set": (DATA, {}, "cifar10", {}),
    "split-validation": ("validation", {}, "train", {}),
    "split-capitals": ("Train ", {}, "train", {}),
    "split-a-data-set-name": ("cifar10", {"data_sets": ("cifar10",)}, "test", {"data_sets": ("cifar10",)}),
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda mistake: mistake.id)
def test_each_known_mistake_is_recognised_explained_and_lets_the_right_value_pass(mistake):
    assert mistake.id in EXAMPLES, f"the mistake {mistake.id!r} has no example in tests/test_checks.py"
    wrong, context, right, right_context = EXAMPLES[mistake.id]
    found = recognise(mistake.role, wrong, context)
    assert found is not None and found[0] is mistake, (
        f"{mistake.id}: recognised as {found[0].id if found else None!r}: an earlier row hides this one")
    assert recognise(mistake.role, right, right_context) is None, f"{mistake.id} also refuses a correct value"
    rule = checks.Rule("what the helper expects", lambda value: True, role=mistake.role).given(**context)
    with pytest.raises(mistake.error) as caught:
        rule(wrong, "argument", "helper")
    message = str(caught.value)
    parts = FORMAT.match(message)
    assert parts, f"not in the one format: {message}"
    assert (parts["function"], parts["name"], parts["expects"]) == ("helper", "argument", "what the helper expects")
    assert parts["got"].startswith(mistake.got.split("{")[0]), message
    assert parts["fix"] and mistake.fix.split("{")[0] in message, message
    assert not re.search(r"\{(function|name|cls|a_cls|keys|first_key|shape|count|dtype|value|described|passes|"
                         r"names|layer)(\[\d+\])?(![rs])?\}", message), f"a placeholder was not filled in: {message}"


def test_every_role_of_the_table_is_checked_by_some_rule():
    """A row whose role no helper's rule names would never be seen by a student."""
    roles = set()
    for module in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        if module.name.endswith("__main__"):      # a command line: importing it runs it
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, checks.Rule):
                roles |= {value.role} if isinstance(value.role, str) else set(value.role)
    assert {mistake.role for mistake in MISTAKES} <= roles, {mistake.role for mistake in MISTAKES} - roles


def test_mistake_ids_are_distinct():
    ids = [mistake.id for mistake in MISTAKES]
    assert len(ids) == len(set(ids))


# ----------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("rule, value, error, got", [
    (checks.positive_int, 0, ValueError, "0"),
    (checks.positive_int, 2.5, ValueError, "2.5"),
    (checks.positive_int, 2.0, ValueError, "2.0"),            # a float is not a count, even a whole one
    (checks.positive_int, True, TypeError, "True"),           # bools are ints to Python, not to a student
    (checks.positive_int, "3", TypeError, "'3'"),
    (checks.positive_int, None, TypeError, "None"),
    (checks.non_negative_int, -1, ValueError, "-1"),
    (checks.flag, 1, TypeError, "1"),
    (checks.flag, "yes", TypeError, "'yes'"),
    (checks.seed, -1, ValueError, "-1"),
    (checks.seed, 2**70, ValueError, str(2**70)),
    (checks.validation_size, 1.0, ValueError, "1.0"),
    (checks.validation_size, float("nan"), ValueError, "nan"),
    (checks.validation_size, 0, ValueError, "0"),
    (checks.device, "cude", ValueError, "'cude'"),
    (checks.positive_number, float("nan"), ValueError, "nan"),
    (checks.share, 1.5, ValueError, "1.5"),
    (checks.learning_rate, -1e-3, ValueError, "-0.001"),
    (checks.whole_number, 0.5, TypeError, "0.5"),
    (checks.one_of("auto", True, False), 1, ValueError, "1"),   # 1 == True, but it is not True
    (checks.colour_map, "gray_r2", ValueError, "'gray_r2'"),
    (checks.model, "model", TypeError, "'model'"),
    (checks.loader, 42, TypeError, "42"),
])
def test_a_refused_value_gets_the_one_message(rule, value, error, got):
    with pytest.raises(error) as caught:
        rule(value, "arg", "helper")
    parts = FORMAT.match(str(caught.value))
    assert parts and parts["name"] == "arg" and parts["expects"].startswith(rule.expects)
    assert parts["got"].startswith(got), str(caught.value)


@pytest.mark.parametrize("rule, value", [
    (checks.positive_int, 1), (checks.positive_int, np.int64(3)), (checks.non_negative_int, 0),
    (checks.flag, False), (checks.flag, np.bool_(True)), (checks.positive_number, 0.5), (checks.share, 0),
    (checks.learning_rate, 3e-4), (checks.one_of("auto", True, False), True), (checks.colour_map, "viridis"),
    (checks.model, nn.Linear(2, 2)), (checks.loader, [(X, Y)]), (checks.images, np.zeros((2, 4, 4))),
    (checks.seed, np.int64(2024)), (checks.validation_size, np.int64(10)), (checks.validation_size, np.float32(0.1)),
    (checks.learning_rate, np.float32(1e-3)), (checks.device, "cuda:1"),
])
def test_a_good_value_passes_and_is_returned(rule, value):
    assert rule(value, "arg", "helper") is value


def test_optional_takes_none_and_says_so():
    assert checks.optional(checks.positive_int)(None, "n") is None
    with pytest.raises(ValueError, match=r"^n must be a whole number of at least 1 or None, got 0\.$"):
        checks.optional(checks.positive_int)(0, "n")


def test_arguments_checks_in_order_and_stops_at_the_first_refusal():
    with pytest.raises(TypeError, match=r"^f: b must be True or False, got 'no', a yes or no as text .*Write b=False"):
        checks.arguments("f", a=(1, checks.positive_int), b=("no", checks.flag), c=(0, checks.positive_int))


def test_a_rule_given_the_context_of_the_call_knows_the_other_arguments():
    rule = checks.loader.given(passes=2)
    assert rule.context == {"passes": 2} and checks.loader.context == {}
    with pytest.raises(ValueError, match="would loop over it 2 times"):
        rule(one_batch_generator(), "loader", "train")


@pytest.mark.parametrize("value, words", [
    (None, "None"), (3, "3"), ("x" * 100, "'" + "x" * 56 + "...'"), (nn.Linear, "the class Linear"),
    (torch.zeros(2, 3), "a float32 tensor of shape (2, 3)"), (np.zeros((4,)), "a NumPy array of float64 of shape (4,)"),
    ({"a": 1}, "a dict with keys ['a']"), ([1, 2], "[1, 2]"), (list(range(50)), "a list of 50 items"),
    (nn.Linear(2, 2), "a Linear"), (object(), "an object"),
])
def test_describe_says_what_was_passed_in_a_few_words(value, words):
    assert checks.describe(value) == words


def test_numbers_of_turns_tensors_and_lists_into_arrays_and_refuses_the_rest():
    assert checks.numbers_of(torch.ones(2, requires_grad=True), "x").tolist() == [1.0, 1.0]
    assert checks.numbers_of([torch.zeros(2), torch.ones(2)], "x").shape == (2, 2)
    with pytest.raises(TypeError, match=r"^f: x must be numbers .*, got \[\['a', 'b'\]\]\.$"):
        checks.numbers_of([["a", "b"]], "x", "f")
    with pytest.raises(TypeError, match="tensors of different shapes"):
        checks.numbers_of([torch.zeros(2), torch.zeros(3)], "x", "f")
