"""Pictures of how training goes: the curves after training (``plot_history``) and while it runs (``LiveCurve``).

Both draw what ``cu.train`` records in its history table: the loss and the accuracy,
averaged over the batches since the previous row, and -- at the end of each epoch, when
``train`` was given ``validation=`` -- the loss and accuracy on the validation images.

- ``plot_history(history)`` draws them against **epochs** (0.5 = half of the training
  set seen once), so that runs with different batch sizes or data sets line up;
- ``LiveCurve`` draws them while ``cu.train(..., live_plot=True)`` runs, against the
  number of **training images seen**: during the first epoch nobody knows yet how many
  images an epoch holds. Dotted lines mark where each later epoch starts.

Example::

    history = cu.train(model, train_loader, epochs=3, validation=val_loader)
    fig = cu.plot_history(history)
    fig = cu.plot_history({"linear": history_linear, "hidden layer": history_mlp})
"""
from __future__ import annotations

import time
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from course_utils import checks
from course_utils.config import CORE_HISTORY_COLUMNS
from course_utils.figures import LINE_COLORS
from course_utils.redraw import Picture, live_output_available

__all__ = ["plot_history", "LiveCurve"]

history_table = checks.Rule("a pandas DataFrame (what cu.train returns)", lambda v: isinstance(v, pd.DataFrame),
                            role="history")
#: What plot_history draws: one history, or several named ones (None, a list of histories: known mistakes).
histories_rule = checks.Rule("a history from cu.train (a DataFrame), or a dict {run name: history}",
                             lambda v: isinstance(v, (pd.DataFrame, Mapping)), role="history")


def check_history(history: object, name: str, function: str) -> pd.DataFrame:
    """A history table with at least the columns ``CORE_HISTORY_COLUMNS``, or the one message."""
    history_table(history, name, function)
    missing = [column for column in CORE_HISTORY_COLUMNS if column not in history.columns]
    if missing:
        raise checks.refusal(ValueError, function, name, f"a table with at least the columns {CORE_HISTORY_COLUMNS}",
                             f"one that lacks the column(s) {missing} (its columns: {list(history.columns)})",
                             "A loop written by hand can record these five; cu.train records them all.")
    return history


# ---------------------------------------------------------------------------
# After training: plot_history
# ---------------------------------------------------------------------------


def epochs_from_history(history: pd.DataFrame, name: str) -> np.ndarray:
    """Return the x axis in epochs: examples seen / examples in one epoch (those seen by the end of epoch 1)."""
    first_epoch = history.loc[history["epoch"] == 1, "examples"]
    if first_epoch.empty:
        raise checks.refusal(ValueError, "plot_history", name, "a history with rows for epoch 1",
                             f"one whose epochs are {sorted(history['epoch'].unique().tolist())[:5]}",
                             "The size of an epoch is read from epoch 1 (count epochs from 1, as cu.train does).")
    return history["examples"].to_numpy(dtype=float) / float(first_epoch.max())


def validation_points(history: pd.DataFrame, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, validation loss, validation accuracy) at the rows where ``train`` measured validation data."""
    if not {"val_loss", "val_accuracy"} <= set(history.columns):
        return np.array([]), np.array([]), np.array([])
    measured = history["val_accuracy"].notna().to_numpy()
    return (x[measured], history["val_loss"].to_numpy(dtype=float)[measured],
            history["val_accuracy"].to_numpy(dtype=float)[measured])


def plot_history(histories: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Plot loss and accuracy (%) against epochs: training curves, and validation where measured.

    ``histories`` is the DataFrame from ``cu.train`` or a dict ``{"run name": history, ...}``
    to compare runs on the same axes. The x axis counts epochs, including fractions:
    0.5 = half of the training set seen once. Training values (solid lines) are means
    over the batches since the previous point, measured while the model learned;
    validation values (dashed, large markers; when ``train`` was given ``validation=``)
    are measured after each epoch on held-out images. A validation curve that turns up
    while the training curve keeps going down is the picture of **overfitting**.
    Lecture 03 records such a history in its hand-written training loop.

    Example:
        history = cu.train(model, train_loader, epochs=3, validation=val_loader)
        fig = cu.plot_history(history)
        fig = cu.plot_history({"linear": history_linear, "hidden layer": history_mlp})
    """
    histories_rule(histories, "histories", "plot_history")
    runs = {"": histories} if isinstance(histories, pd.DataFrame) else histories
    if not runs:
        raise checks.refusal(ValueError, "plot_history", "histories", "a history or a dict of histories",
                             "an empty dict", "Nothing to plot: pass {run name: history}.")
    for name, history in runs.items():
        check_history(history, "history" if name == "" else f"histories[{name!r}]", "plot_history")
        if history.empty:
            raise checks.refusal(ValueError, "plot_history", "history" if name == "" else f"histories[{name!r}]",
                                 "a history with at least one row", "an empty table",
                                 "Nothing to plot: did training stop before its first row?")
    epochs_of = {name: epochs_from_history(history, "history" if name == "" else f"history {name!r}")
                 for name, history in runs.items()}
    with_validation = any(len(validation_points(runs[name], x)[0]) for name, x in epochs_of.items())
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for i, (name, history) in enumerate(runs.items()):
        epochs = epochs_of[name]
        color = LINE_COLORS[i % len(LINE_COLORS)]
        prefix = f"{name}: " if name != "" else ""
        label = f"{prefix}training" if with_validation or name == "" else str(name)
        style = dict(color=color, marker="o", markersize=3, label=label)
        loss_ax.plot(epochs, history["loss"].to_numpy(dtype=float), **style)
        accuracy_ax.plot(epochs, 100 * history["accuracy"].to_numpy(dtype=float), **style)
        x, val_loss, val_accuracy = validation_points(history, epochs)
        if len(x):
            style = dict(color=color, marker="s", markersize=6, linestyle="--", linewidth=2,
                         markeredgecolor="white", label=f"{prefix}validation")
            loss_ax.plot(x, val_loss, **style)
            accuracy_ax.plot(x, 100 * val_accuracy, **style)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss (lower is better)")
    accuracy_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy (higher is better)")
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    accuracy_ax.legend(fontsize=8)
    if title is not None:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------
# While training runs: LiveCurve
# ---------------------------------------------------------------------------


class LiveCurve:
    """Loss and accuracy while training runs, redrawn in place at most every ``min_interval`` seconds.

    ``cu.train(..., live_plot=True)`` creates one, calls ``update(history)`` at every log
    point and ``close()`` at the end. The x axis counts the training images seen
    (an epoch's size is known only after the first epoch); dotted lines mark where
    each epoch starts. Training values are running means since the previous log
    point; validation values (columns ``val_loss``, ``val_accuracy``, when present
    and not NaN) are drawn as points.

    Where in-place output is not available (see ``redraw.live_output_available``), nothing
    is displayed, but ``figure`` is still kept up to date.

    Example:
        curve = LiveCurve(title="ConvNet")
        for ...:                      # inside a training loop
            curve.update(history)     # a DataFrame with epoch, batch, examples, loss, accuracy, ...
        curve.close()
    """

    def __init__(self, title: str | None = None, *, live: bool | None = None, min_interval: float = 0.5) -> None:
        checks.arguments("LiveCurve", title=(title, checks.optional(checks.text)),
                         live=(live, checks.maybe_flag),
                         min_interval=(min_interval, checks.non_negative_number))
        self.title = title
        self.live = live_output_available() if live is None else bool(live)
        self.min_interval = float(min_interval)
        self.figure = Figure(figsize=(10, 3.6), layout="constrained")   # not pyplot's: never shown twice
        self.picture = Picture(visible=self.live)
        self.history: pd.DataFrame | None = None
        self._shown_at: float | None = None   # when the picture was last sent
        self._unshown = False                  # drawn since then but not sent

    def update(self, history: pd.DataFrame) -> None:
        """Redraw the curves from the history so far (the picture at most every ``min_interval`` s)."""
        check_history(history, "history", "LiveCurve.update")
        if history.empty:
            return
        self.history = history.copy()
        self.caption = draw_curves(self.figure, self.history, self.title)
        now = time.perf_counter()
        if self._shown_at is None or now - self._shown_at >= self.min_interval:
            self._send(now)
        else:
            self._unshown = True

    def _send(self, now: float) -> None:
        self.picture.draw(self.figure, self.caption)
        self._shown_at, self._unshown = now, False

    def close(self) -> None:
        """Show the last state drawn, so that the saved notebook keeps the final curves."""
        if self._unshown:
            self._send(time.perf_counter())

    def __repr__(self) -> str:
        rows = 0 if self.history is None else len(self.history)
        return f"LiveCurve(title={self.title!r}, rows={rows}, live={self.live})"


def draw_curves(fig: Figure, history: pd.DataFrame, title: str | None) -> str:
    """Draw loss (left) and accuracy in % (right) against training images seen, into ``fig``; returns its title."""
    fig.clear()
    ax_loss, ax_accuracy = fig.subplots(1, 2)
    seen = history["examples"].to_numpy(dtype=float)
    for ax, column, scale in ((ax_loss, "loss", 1.0), (ax_accuracy, "accuracy", 100.0)):
        ax.plot(seen, history[column].to_numpy(dtype=float) * scale, color=LINE_COLORS[0], label="training")
        x, val_loss, val_accuracy = validation_points(history, seen)
        if len(x):
            values = val_loss if column == "loss" else val_accuracy
            ax.plot(x, values * scale, "o", color=LINE_COLORS[1], label="validation")
        for epoch in sorted(history["epoch"].unique())[1:]:   # where every epoch after the first starts
            start = history.loc[history["epoch"] < epoch, "examples"].max()
            ax.axvline(start, color="0.6", linestyle=":", linewidth=1)
        ax.set_xlabel("training images seen")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    ax_loss.set_title("loss")
    ax_accuracy.set_title("accuracy (%)")
    ax_accuracy.set_ylim(0, 100)
    last = history.iloc[-1]
    caption = (f"{title or 'Training'}: epoch {int(last['epoch'])}, {int(last['examples']):,} images seen, "
               f"loss {float(last['loss']):.3f}, accuracy {float(last['accuracy']):.1%}")
    fig.suptitle(caption)
    return caption
