"""Tests for course_utils.training_plots: plot_history after training, LiveCurve while it runs."""
from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import same_color

from course_utils import training_plots
from course_utils.training_plots import plot_history
from ipython_kernel import pictures


# --------------------------------------------------------------------------- plot_history


def make_history(epochs: int = 2, per_epoch: int = 1000, start_loss: float = 2.0) -> pd.DataFrame:
    rows = []
    for epoch in range(1, epochs + 1):
        for batch, seen in ((5, per_epoch // 2), (10, per_epoch)):
            examples = (epoch - 1) * per_epoch + seen
            rows.append(
                {"epoch": epoch, "batch": batch, "examples": examples,
                 "loss": start_loss / examples * 1000, "accuracy": examples / (epochs * per_epoch)}
            )
    return pd.DataFrame(rows)


def test_plot_history_one_run_in_epochs_and_percent():
    history = make_history(epochs=3)
    fig = plot_history(history, title="Linear model")
    loss_ax, accuracy_ax = fig.axes
    assert len(loss_ax.lines) == 1 and len(accuracy_ax.lines) == 1
    np.testing.assert_allclose(loss_ax.lines[0].get_xdata(), [0.5, 1, 1.5, 2, 2.5, 3])
    np.testing.assert_allclose(accuracy_ax.lines[0].get_ydata(), 100 * history["accuracy"])
    assert loss_ax.get_xlabel() == "epoch" and "%" in accuracy_ax.get_ylabel()
    assert fig._suptitle.get_text() == "Linear model"


def test_plot_history_compares_named_runs():
    fig = plot_history({"linear": make_history(per_epoch=1000), "hidden": make_history(per_epoch=2000, start_loss=1)})
    loss_ax, accuracy_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["linear", "hidden"]
    assert [t.get_text() for t in accuracy_ax.get_legend().get_texts()] == ["linear", "hidden"]
    for line in accuracy_ax.lines:  # both in epochs, whatever the epoch size
        assert max(line.get_xdata()) == pytest.approx(2.0)
    assert not same_color(loss_ax.lines[0].get_color(), loss_ax.lines[1].get_color())


@pytest.mark.parametrize(
    "histories, message",
    [
        (make_history().drop(columns="examples"), r"lacks the column\(s\) \['examples'\]"),
        (make_history().iloc[0:0], "at least one row"),
        ({}, "empty dict"),
        (make_history().query("epoch == 2"), "rows for epoch 1"),
    ],
)
def test_plot_history_errors(histories, message):
    with pytest.raises(ValueError, match=message):
        plot_history(histories)


def test_plot_history_names_the_run_that_is_not_a_history():
    with pytest.raises(TypeError, match=r"plot_history: histories\['run'\] must be a pandas DataFrame .*got \[1, 2, 3\]"):
        plot_history({"run": [1, 2, 3]})


def test_plot_history_draws_validation_points_where_they_were_measured():
    history = make_history(epochs=3)
    history["val_loss"] = np.nan
    history["val_accuracy"] = np.nan
    ends = history.groupby("epoch").tail(1).index
    history.loc[ends, "val_loss"] = [1.5, 1.2, 1.4]
    history.loc[ends, "val_accuracy"] = [0.3, 0.4, 0.38]
    fig = plot_history({"ConvNet": history})
    loss_ax, accuracy_ax = fig.axes
    assert [line.get_label() for line in accuracy_ax.lines] == ["ConvNet: training", "ConvNet: validation"]
    validation = accuracy_ax.lines[1]
    assert validation.get_xdata().tolist() == [1.0, 2.0, 3.0]            # at the end of each epoch
    assert validation.get_ydata().tolist() == pytest.approx([30, 40, 38])  # in percent
    assert loss_ax.lines[1].get_linestyle() == "--"
    plt.close(fig)


# --------------------------------------------------------------------------- LiveCurve


def history_rows(epochs: int, with_validation: bool) -> list[dict]:
    rows = []
    for epoch in range(1, epochs + 1):
        for batch in (10, 20, 32):
            last = batch == 32
            rows.append({"epoch": epoch, "batch": batch, "examples": (epoch - 1) * 1024 + batch * 32,
                         "seconds": 0.1 * len(rows), "lr": 1e-3, "loss": 2.3 / (len(rows) + 1),
                         "accuracy": 0.1 + 0.05 * len(rows),
                         "val_loss": 1.9 / epoch if with_validation and last else math.nan,
                         "val_accuracy": 0.2 * epoch if with_validation and last else math.nan})
    return rows


def test_live_curve_draws_what_the_history_holds() -> None:
    curve = training_plots.LiveCurve(title="toy net", live=False)
    rows = history_rows(2, with_validation=True)
    for count in range(1, len(rows) + 1):
        curve.update(pd.DataFrame(rows[:count]))
    curve.close()
    loss_ax, accuracy_ax = curve.figure.axes
    train_loss, validation_loss = loss_ax.lines[:2]
    assert list(train_loss.get_xdata()) == [row["examples"] for row in rows]
    assert np.allclose(train_loss.get_ydata(), [row["loss"] for row in rows])
    assert list(validation_loss.get_xdata()) == [1024, 2048], "validation points only where they were measured"
    assert np.allclose(accuracy_ax.lines[0].get_ydata(), [100 * row["accuracy"] for row in rows])
    epoch_lines = [line for line in loss_ax.lines if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in epoch_lines] == [1024], "a dotted line where epoch 2 starts"
    assert curve.caption.startswith("toy net: epoch 2, 2,048 images seen")
    assert curve.picture.draws == 0, "nothing is displayed where live output is not available"


def test_live_curve_without_validation_columns() -> None:
    curve = training_plots.LiveCurve(live=False)
    history = pd.DataFrame(history_rows(1, with_validation=False)).drop(columns=["val_loss", "val_accuracy"])
    curve.update(history)
    assert [len(ax.lines) for ax in curve.figure.axes] == [1, 1]
    assert curve.caption.startswith("Training: epoch 1")


def test_live_curve_checks_the_history() -> None:
    curve = training_plots.LiveCurve(live=False)
    with pytest.raises(TypeError, match="history must be a pandas DataFrame"):
        curve.update([1, 2])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['examples'\]"):
        curve.update(pd.DataFrame(history_rows(1, False)).drop(columns=["examples"]))
    with pytest.raises(ValueError, match="min_interval"):
        training_plots.LiveCurve(min_interval=-1)


def test_live_curve_redraws_in_place_in_a_kernel(kernel) -> None:
    rows = history_rows(2, with_validation=True)
    result, messages = kernel.run(f"""
    import json
    import pandas as pd
    rows = json.loads({json.dumps(rows)!r})   # NaN survives the trip
    curve = training_plots.LiveCurve(title="toy", min_interval=0)
    for count in range(1, len(rows) + 1):
        curve.update(pd.DataFrame(rows[:count]))
    curve.close()
    result = {{"live": curve.live, "draws": curve.picture.draws}}
    """)
    assert result == {"live": True, "draws": 6}
    shown = pictures(messages)
    assert shown[0][0] == "display_data" and {kind for kind, _ in shown[1:]} == {"update_display_data"}
    assert len({display_id for _, display_id in shown}) == 1, "every redraw replaces the same picture"
    last = [m for m in messages if m["msg_type"] == "update_display_data"][-1]["content"]["data"]["text/plain"]
    assert "toy: epoch 2, 2,048 images seen" in last


def test_live_curve_throttles_but_always_shows_the_last_state(kernel) -> None:
    rows = history_rows(2, with_validation=False)
    result, messages = kernel.run(f"""
    import json
    import pandas as pd
    rows = json.loads({json.dumps(rows)!r})
    curve = training_plots.LiveCurve(min_interval=3600)
    for count in range(1, len(rows) + 1):
        curve.update(pd.DataFrame(rows[:count]))
    curve.close()
    result = curve.picture.draws
    """)
    assert result == 2, "the first state, then (at close) the last one"
    texts = [m["content"]["data"]["text/plain"] for m in messages
             if m["msg_type"] in ("display_data", "update_display_data")]
    assert "epoch 1, 320 images seen" in texts[0] and "epoch 2, 2,048 images seen" in texts[-1]
