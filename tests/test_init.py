"""The front door, ``import course_utils as cu``: the verbs the lectures call, and nothing they do not.

Read from the lectures' own code cells: every ``cu.<name>`` (or ``cu.<module>.<name>``) a
lecture or a live twin writes must exist, every name ``cu.__all__`` offers must be used by
one of them, and each helper's docstring must name the lecture where its code is first
written (or first used) by hand, so that a student can follow the trail back.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import course_utils as cu

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
TWINS = sorted((REPO / "notebooks" / "live").glob("[0-9][0-9]-*-live.ipynb"))
LECTURE_NUMBERS = {path.name[:2] for path in LECTURES}



def code_of(path: Path) -> str:
    """The code cells of a lecture; of a live twin, every cell (its note tells students to type cu.catch_up)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    twin = path.parent.name == "live"
    return "\n".join("".join(cell["source"]) for cell in cells if twin or cell["cell_type"] == "code")


def names_used(paths: list[Path]) -> set[str]:
    """Every dotted name after ``cu.``, e.g. ``train`` and ``widgets.KernelExplorer``."""
    return {name for path in paths for name in re.findall(r"\bcu\.([A-Za-z_][\w.]*[A-Za-z_0-9])", code_of(path))}


def resolve(dotted: str) -> object:
    value = cu
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def test_the_lectures_and_twins_are_read():
    assert len(LECTURES) == len(TWINS) > 0
    assert {"train", "evaluate", "seed_everything"} <= names_used(LECTURES)


def test_every_name_a_lecture_or_a_twin_calls_exists():
    missing = []
    for dotted in sorted(names_used(LECTURES + TWINS)):
        try:
            resolve(dotted)
        except AttributeError:
            missing.append(dotted)
    assert missing == [], f"the lectures call names cu does not have: {missing}"


def test_every_name_of_the_front_door_is_called_by_a_lecture_or_a_twin():
    used = {name.split(".")[0] for name in names_used(LECTURES + TWINS)}
    assert set(cu.__all__) <= used, f"offered by cu but never called: {sorted(set(cu.__all__) - used)}"


def test_what_is_not_a_verb_lives_in_a_named_module():
    assert "widgets.KernelExplorer" in names_used(LECTURES) and "diagrams.draw_network" in names_used(LECTURES)
    for moved in ("KernelExplorer", "ActivationBrowser", "LiveCurve", "draw_network", "Evaluation", "ModelSummary",
                  "BlankNotFilled", "model_device", "show_feature_maps"):
        assert moved not in cu.__all__
    assert cu.training_plots.LiveCurve and cu.evaluation.Evaluation and cu.live.BlankNotFilled


@pytest.mark.parametrize("name", sorted(cu.__all__))
def test_each_helper_names_the_lecture_where_its_code_is_first_written(name):
    mentioned = set(re.findall(r"[Ll]ecture (\d\d)", getattr(cu, name).__doc__ or ""))
    assert mentioned, f"cu.{name}'s docstring names no lecture"
    assert mentioned <= LECTURE_NUMBERS, f"cu.{name} names lectures that do not exist: {mentioned - LECTURE_NUMBERS}"


def test_the_data_layer_lives_in_cu_data():
    for name in ("DATASETS", "DataFormatError", "DatasetInfo", "DownloadError", "ImageSet", "RemoteFile", "data_dir",
                 "dataset_info", "load_dataset"):
        assert hasattr(cu.data, name), f"cu.data.{name} is missing"
    assert "cifar10" in cu.data.DATASETS
    for internal in ("DATASETS", "DatasetInfo", "RemoteFile", "DownloadError", "DataFormatError", "ImageSet"):
        assert internal not in cu.__all__


OUR_MODULES = sorted([path.stem for path in (REPO / "course_utils").glob("*.py") if path.stem != "__init__"]
                     + [f"data.{path.stem}" for path in (REPO / "course_utils" / "data").glob("*.py")
                        if path.stem not in ("__init__", "__main__")])


@pytest.mark.parametrize("name", OUR_MODULES)
def test_the_docstring_examples_run(name):
    """An example in a docstring that does not run teaches the wrong thing (the live runtime's are run too,
    by tests/test_live_markers.py)."""
    import doctest
    import importlib

    failures, _ = doctest.testmod(importlib.import_module(f"course_utils.{name}"), optionflags=doctest.ELLIPSIS)
    assert failures == 0
