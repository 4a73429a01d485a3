"""Each lecture's opening says how long the lecture takes, and that sentence agrees with the recorded run.

The lecture runner (python -m course_tools.run_lectures) records every full run's wall time and machine in
the notebook's metadata (``course_runs``: "cpu" and, on a GPU, "gpu"). The first cell of each
lecture must hold the sentence the runner makes from that record, rounded the same way
("**Running time:** about 3 min on a 2-core CPU (measured 2026-12-02); not yet measured on a
Colab GPU."). After re-running a lecture, this test names the sentence to write.

The records of 2026-12-02 were entered by hand from the README's table of full runs (their
``source`` says so); the runner replaces each one with its own when it runs the lecture.
Lecture 07 has no record (its real data was never on the build machine), so its sentence
must say "not yet measured".
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_tools import run_lectures

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SENTENCE = re.compile(r"\*\*Running time:\*\* .*?\.(?=\s|$)")


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_the_opening_states_the_recorded_running_time(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    found = SENTENCE.findall(first.source)
    runs = notebook.metadata.get(run_lectures.RUNS_KEY, {})
    expected = run_lectures.running_time_sentence(runs)
    assert found == [expected], (f"{path.name}: the first cell should hold the sentence\n  {expected}\n"
                                 f"(from the notebook's metadata {run_lectures.RUNS_KEY}: {runs}); it holds {found}")


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_a_recorded_run_says_where_it_came_from(path: Path) -> None:
    runs = nbformat.read(path, as_version=4).metadata.get(run_lectures.RUNS_KEY, {})
    for kind, record in runs.items():
        assert kind in ("cpu", "gpu")
        assert {"seconds", "date", "cpu", "cores", "torch", "source"} <= set(record), record
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["date"])
        assert isinstance(record["seconds"], int) and record["seconds"] > 0


def test_the_sentence_rounds_as_it_says() -> None:
    module = run_lectures
    assert [module.rounded_duration(s) for s in (10, 59, 60, 74, 157, 295, 599, 600, 1794, 3599, 4000)] == [
        "under a minute", "under a minute", "about 1 min", "about 1 min", "about 3 min", "about 5 min",
        "about 10 min", "about 10 min", "about 30 min", "about 1 h 00 min", "about 1 h 05 min"]
    gpu = {"seconds": 95, "device": "Tesla T4", "date": "2027-01-10"}
    cpu = {"seconds": 700, "cores": 4, "date": "2027-01-09", "conditions": "with other jobs running"}
    assert module.running_time_sentence({"cpu": cpu, "gpu": gpu}) == (
        "**Running time:** about 10 min on a 4-core CPU (measured 2027-01-09, with other jobs running); "
        "about 2 min on a GPU (Tesla T4, measured 2027-01-10).")
    assert module.running_time_sentence({}) == (
        "**Running time:** not yet measured on a CPU; not yet measured on a Colab GPU.")


def test_the_runner_records_the_machine(monkeypatch) -> None:
    module = run_lectures
    kind, record = module.machine_record(157.4, 0.2, 1.1)
    assert kind in ("cpu", "gpu")
    assert record["seconds"] == 157 and record["load_average"] == [0.2, 1.1]
    assert record["cpu"] and record["cores"] >= 1 and record["torch"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["date"])
