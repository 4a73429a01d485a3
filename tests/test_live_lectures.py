"""The course's own live twins, run as a class would run them (fast mode, real kernels).

For every lecture with recorded self-checks (``course_utils/live/data/checks/<lecture>.json``,
written by ``python -m course_tools.live --record``):

* its live twin with every blank filled from the lecture runs top to bottom, and every
  self-check passes (``COURSE_LIVE_STRICT=1`` turns a failing check into an error);
* a blank filled with nothing (``pass``) gets "... is missing" from the check right
  after it, and nothing goes wrong before that check (the first blank outside a function:
  a function's result is checked where it first appears, and there it exists);
* lecture 03's training loop without ``optimizer.zero_grad()``, run on the whole data set as
  a student runs it, gets a ✗ from the check after ``history = train_model(...)`` (the loss
  climbs to about 40 instead of falling to about 1.75);
* wrong fills get their specific hint: tests/test_live_wrong_fills.py.

A lecture without recorded checks is skipped, with the command that records them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_tools import live
from course_tools.live.recording import first_error, run_filled_twin
from test_live_wrong_fills import outputs_in_order  # tests/ is on sys.path

pytest.importorskip("nbclient")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("course_data")]   # runs every lecture's twin

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "course_utils" / "live" / "data"
LECTURES = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
RECORDED = [path for path in LECTURES if (DATA / "checks" / f"{path.stem}.json").is_file()]



def config():
    return live.read_colab_config(REPO / "pyproject.toml")


def test_recorded_lectures_are_checked_lectures():
    settings = live.read_live_settings(REPO / "pyproject.toml")
    if not RECORDED:
        pytest.skip("no lecture has recorded self-checks yet: python -m course_tools.live --record")
    assert all(settings.is_checked(path.stem) for path in RECORDED)


@pytest.mark.parametrize("path", RECORDED or [None], ids=lambda p: p.stem if p else "none-recorded")
def test_the_filled_live_twin_passes_every_self_check(path):
    if path is None:
        pytest.skip("no lecture has recorded self-checks yet: python -m course_tools.live --record")
    executed, lines = run_filled_twin(path, config(), "notebooks", data=DATA, strict=True)
    recorded = json.loads((DATA / "checks" / f"{path.stem}.json").read_text())["blanks"]
    assert len(lines) == len(recorded) and all(line.startswith("✓") for line in lines), lines
    assert first_error(executed) is None


@pytest.mark.parametrize("path", RECORDED or [None], ids=lambda p: p.stem if p else "none-recorded")
def test_an_empty_fill_is_reported_as_missing_right_after_its_blank(path):
    if path is None:
        pytest.skip("no lecture has recorded self-checks yet: python -m course_tools.live --record")
    recorded = json.loads((DATA / "checks" / f"{path.stem}.json").read_text())["blanks"]
    solutions = json.loads((DATA / "solutions" / f"{path.stem}.json").read_text())["blanks"]
    blank = next(b for b in solutions if str(b["number"]) in recorded and b["scope"] == "module")  # its first
    executed, lines = run_filled_twin(path, config(), "notebooks", data=DATA, strict=False,
                                      replacements={blank["number"]: "pass"}, until_blank=blank["number"])
    line = next(line for line in lines if f"blank {blank['number']} of" in line)
    # "is missing" when the blank makes the name; "has no key ..." when it fills a dict made before it (02's `always`)
    assert line.startswith(f"✗ blank {blank['number']} of {path.stem}: `"), line
    assert "is missing" in line or "has no key" in line, line
    kinds = outputs_in_order(executed, f"blank {blank['number']} of {path.stem}:")
    assert "error" not in kinds[:kinds.index("check")], f"something went wrong before the check: {first_error(executed)}"


@pytest.mark.skipif(not (REPO / "data" / "cifar-10-batches-py").is_dir() and not (REPO / "data" / "cifar10").is_dir(),
                    reason="needs CIFAR-10 in data/ (a full run, not fast mode)")
def test_a_training_loop_without_zero_grad_gets_a_cross_in_a_full_run():
    """The review's case: no optimizer.zero_grad() made the loss climb to 50 with no ✗ line (3 epochs, all images)."""
    steps = ("scores = model(X)\nloss = loss_fn(scores, y)\nloss.backward()\noptimizer.step()")  # no zero_grad()
    executed, lines = run_filled_twin(REPO / "notebooks" / "03-logistic-regression.ipynb", config(), "notebooks",
                                      data=DATA, strict=False, fast=False, replacements={4: steps}, until_blank=4)
    [line] = [line for line in lines if "blank 4 of" in line]
    assert line.startswith("✗ blank 4 of 03-logistic-regression: the last loss in `history` is "), line
    assert "(more than 10 times smaller)" in line, line
