"""Honest time budgets: the estimate and the advice of cu.train, and a progress line that moves from the first seconds.

No timing assertions: the clock is either replaced or only used to let a thread tick.
"""
from __future__ import annotations

import sys
import time

import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils import progress, training
from course_utils.progress import NotebookProgress, TerminalProgress, format_duration
from course_utils.progress import long_run_advice


class Batches:
    def __init__(self, pairs, classes=("a", "b", "c")):
        self.pairs, self.classes = pairs, classes

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self):
        return len(self.pairs)


def batches(n_batches=12, batch_size=4):
    generator = torch.Generator().manual_seed(0)
    return Batches([(torch.randn(batch_size, 16, generator=generator), torch.randint(0, 3, (batch_size,), generator=generator))
                    for _ in range(n_batches)])


def model():
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.fixture(autouse=True)
def no_fast_mode(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)


# --- the estimate and the advice ------------------------------------------------------------------


def test_format_duration_reads_like_speech():
    assert [format_duration(s) for s in (0, 59.4, 60, 125, 599, 600, 1490, 3600, 5000)] == \
        ["0 s", "59 s", "1 min", "2 min 05 s", "9 min 59 s", "10 min", "25 min", "1 h 00 min", "1 h 23 min"]


def test_a_long_run_gets_the_advice_once(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LONG_RUN_SECONDS", 0)         # every run is "long"
    cu.train(model(), batches(), epochs=3, log_every=4, progress=False)
    out = capsys.readouterr().out
    assert out.count("This run will take about") == 1
    assert "3 epochs of 12 batches" in out
    assert out.index("This run will take") < out.index("epoch 1/3:")   # said during the first epoch


def test_a_short_run_gets_no_advice(capsys):
    cu.train(model(), batches(), epochs=3, log_every=4, progress=False)
    assert "This run will take" not in capsys.readouterr().out


def test_the_estimate_also_comes_after_some_seconds_without_a_log_point(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LONG_RUN_SECONDS", 0)
    monkeypatch.setattr(progress, "ESTIMATE_AFTER_SECONDS", 0)
    cu.train(model(), batches(), epochs=1, log_every=1000, progress=False)   # no log point before the end
    assert "This run will take about" in capsys.readouterr().out


def test_the_advice_on_a_cpu_in_colab_says_how_to_get_a_gpu_and_how_to_switch_fast_mode_on(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    text = long_run_advice(1560, torch.device("cpu"), epochs_left=15, batches=352, per_batch=0.28, has_checkpoint=False)
    assert text.startswith("This run will take about 26 min on this CPU (15 epochs of 352 batches, 0.28 s a batch")
    assert "Runtime > Change runtime type > T4 GPU" in text and "run the notebook again from the top" in text
    assert "%env COURSE_FAST=1" in text and "no restart needed" in text
    assert 'checkpoint="a-name"' in text


def test_the_advice_leaves_out_what_is_already_done(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    text = long_run_advice(900, torch.device("cuda"), epochs_left=1, batches=10, per_batch=90, has_checkpoint=True)
    assert "GPU:" not in text and "COURSE_FAST" not in text and "checkpoint=" not in text
    assert "fewer epochs" in text and "1 epoch of 10 batches" in text
    monkeypatch.delenv("COURSE_FAST")
    outside_colab = long_run_advice(900, torch.device("cpu"), epochs_left=2, batches=10, per_batch=45, has_checkpoint=True)
    assert "open the notebook in Google Colab" in outside_colab


# --- the progress line ------------------------------------------------------------------------------


class FakeHandle:
    def __init__(self, first):
        self.shown = [first]

    def update(self, data, raw=False):
        self.shown.append(data["text/plain"])


@pytest.fixture
def handles(monkeypatch):
    import IPython.display

    made = []

    def fake_display(data, raw=False, display_id=False):
        made.append(FakeHandle(data["text/plain"]))
        return made[-1]

    monkeypatch.setattr(IPython.display, "display", fake_display)
    return made


def test_the_clock_ticks_while_nothing_else_happens(handles):
    reporter = NotebookProgress(tick_seconds=0.02, redraw_seconds=10)
    reporter.start_epoch(1, 3, 100)
    time.sleep(0.3)                                   # one long first step: no batch finishes meanwhile
    reporter.end_epoch("epoch 1/3: loss 1.0000, train accuracy 50.0%")
    shown = handles[0].shown
    assert len(shown) >= 4, shown                     # redrawn by the clock thread alone
    assert all(line.startswith("epoch 1/3 ▕") and "0/100 batches" in line for line in shown[:-1])
    count = len(shown)
    time.sleep(0.1)
    assert len(shown) == count                         # the clock stopped with the epoch ...
    assert shown[-1] == "epoch 1/3: loss 1.0000, train accuracy 50.0%"   # ... and never overwrote the summary


def test_the_line_moves_with_the_batches_between_log_points(handles, monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    reporter = NotebookProgress(tick_seconds=3600, redraw_seconds=0.5)
    reporter.start_epoch(2, 3, 10)
    for batch in range(1, 5):
        reporter.batch_done(batch)
    reporter.close()
    lines = handles[0].shown
    assert [line.split(" batches")[0].split()[-1] for line in lines] == ["0/10", "1/10", "2/10", "3/10", "4/10"]
    assert "loss" not in lines[-1]                    # no read-back from the device between log points
    assert lines[-1].endswith("left")                 # an estimate of the rest of the epoch, from batch 2 on


def test_train_in_a_notebook_updates_the_line_before_the_first_log_point(handles, monkeypatch):
    monkeypatch.setattr(training, "make_progress", lambda show: NotebookProgress(tick_seconds=3600, redraw_seconds=0))
    cu.train(model(), batches(), epochs=1, log_every=1000, progress=True)
    lines = handles[0].shown
    assert any("5/12 batches" in line for line in lines)
    assert lines[-1].startswith("epoch 1/1: loss")


def test_the_terminal_bar_moves_at_every_batch(capsys):
    reporter = TerminalProgress()
    reporter.start_epoch(1, 1, 10)
    for batch in range(1, 4):
        reporter.batch_done(batch)
    reporter.bar.refresh()
    assert "3/10" in capsys.readouterr().err
    reporter.message("a message")
    assert "a message" in capsys.readouterr().out
    reporter.close()
