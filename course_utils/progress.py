"""Showing how training goes while it runs: one line per epoch that updates in place.

``cu.train`` reports through a ``Progress`` object:

- in a notebook (JupyterLab, Colab, VS Code) a ``NotebookProgress`` shows one
  line per epoch and rewrites it in place
  (``epoch 2/4 ▕██████▌   ▏ 1,000/1,563 batches · loss 1.234 · accuracy 55.1% · 21 s · 1 min 10 s left``).
  It moves from the first seconds on: the batch count and the clock are redrawn
  every ``REDRAW_SECONDS`` while batches finish, and a clock thread redraws the
  line every ``TICK_SECONDS`` even while one long step runs (the first batch, for
  instance, also chooses the speed settings). Loss and accuracy change at log
  points. When the epoch ends the line becomes its summary. What a saved notebook
  keeps is therefore exactly what you last saw — never a dead progress bar;
- in a terminal a ``TerminalProgress`` draws a tqdm bar (moved at every batch), then
  prints the summary;
- with ``progress=False``, or under the test suite (``COURSE_LIVE_OUTPUT=0``),
  ``PlainProgress`` prints only the summary line of each epoch.

A run that will take long gets a word of advice once, beside the progress line
(``long_run_advice``: the estimate, then a GPU, fewer epochs, fast mode, a checkpoint).

Example:
    >>> reporter = PlainProgress()
    >>> reporter.start_epoch(1, 2, 10)
    >>> reporter.end_epoch("epoch 1/2: loss 1.5000, train accuracy 40.0%")
    epoch 1/2: loss 1.5000, train accuracy 40.0%
"""
from __future__ import annotations

import sys
import threading
import time

import torch

from course_utils.config import fast_mode, live_output_allowed

BAR_WIDTH = 20
#: While batches finish, the notebook line is redrawn at most this often (seconds).
REDRAW_SECONDS = 0.5
#: The clock thread redraws the notebook line this often (seconds), even when no batch finished.
TICK_SECONDS = 1.0


def in_notebook() -> bool:
    """True when code runs in a Jupyter kernel (JupyterLab, Colab, ...) that can update outputs in place.

    False in a terminal, in plain Python, and when ``COURSE_LIVE_OUTPUT=0``.
    """
    if not live_output_allowed():
        return False
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()
    return ipython is not None and getattr(ipython, "kernel", None) is not None


def text_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A bar of block characters: ``text_bar(3, 4)`` is three quarters full.

    Example:
        >>> text_bar(1, 2, width=4)
        '▕██  ▏'
    """
    eighths = round(8 * width * min(max(done / max(total, 1), 0.0), 1.0))
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return "▕" + "█" * full + partial + " " * (width - full - len(partial)) + "▏"


def format_duration(seconds: float) -> str:
    """A duration as people say it: ``45 s``, ``3 min 20 s``, ``25 min``, ``1 h 05 min``.

    Example:
        >>> [format_duration(s) for s in (45, 200, 1500, 3900)]
        ['45 s', '3 min 20 s', '25 min', '1 h 05 min']
    """
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class PlainProgress:
    """Print the summary line of each epoch; nothing while it runs."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        self.epoch, self.epochs, self.batches = epoch, epochs, batches
        self.started = time.perf_counter()

    def batch_done(self, batch: int) -> None:
        """Called after every batch: cheap (a clock reading) unless it is time to redraw."""

    def update(self, batch: int, loss: float, accuracy: float) -> None:
        """Called at every log point with the running means since the last one."""

    def message(self, text: str) -> None:
        """A message for the student (the long-run advice), shown once, outside the progress line."""
        print(text, flush=True)

    def end_epoch(self, summary: str) -> None:
        print(summary, flush=True)

    def close(self) -> None:
        """Called once when training ends (also after an error or Ctrl-C)."""


class NotebookProgress(PlainProgress):
    """One output line per epoch, rewritten in place (an IPython display handle), with a ticking clock."""

    def __init__(self, tick_seconds: float = TICK_SECONDS, redraw_seconds: float = REDRAW_SECONDS) -> None:
        self.tick_seconds, self.redraw_seconds = tick_seconds, redraw_seconds
        self.lock = threading.Lock()
        self.stop_ticking = threading.Event()
        self.ticker: threading.Thread | None = None

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        from IPython.display import display

        self._stop_clock()
        super().start_epoch(epoch, epochs, batches)
        self.batch, self.loss, self.accuracy = 0, None, None
        self.first_batch_at: float | None = None
        self.finished = False
        self.handle = display({"text/plain": self._line()}, raw=True, display_id=True)
        self.drawn_at = time.perf_counter()
        self.stop_ticking = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="course_utils progress clock", daemon=True)
        self.ticker.start()

    def _line(self) -> str:
        total, batch, now = self.batches, self.batch, time.perf_counter()
        count = f"{batch:,}/{total:,} batches" if total else f"{batch:,} batches"
        bar = text_bar(batch, total) + " " if total else ""
        line = f"epoch {self.epoch}/{self.epochs} {bar}{count}"
        if self.loss is not None:
            line += f" · loss {self.loss:.3f} · accuracy {self.accuracy:.1%}"
        line += f" · {now - self.started:.0f} s"
        if total and batch >= 2 and self.first_batch_at is not None:   # (the first batch also chose the settings)
            left = (now - self.first_batch_at) / (batch - 1) * (total - batch)
            line += f" · {format_duration(left)} left"
        return line

    def _draw(self, text: str | None = None) -> None:
        with self.lock:
            if self.finished:
                return
            if text is not None:        # the summary: the line's last form
                self.finished = True
            self.handle.update({"text/plain": self._line() if text is None else text}, raw=True)
            self.drawn_at = time.perf_counter()

    def _tick(self) -> None:
        """The clock thread: redraw every ``tick_seconds`` until the epoch ends."""
        while not self.stop_ticking.wait(self.tick_seconds):
            try:
                self._draw()
            except Exception:   # noqa: BLE001  (a closed output must not crash the training thread's process)
                return

    def _stop_clock(self) -> None:
        self.stop_ticking.set()
        if self.ticker is not None and self.ticker is not threading.current_thread():
            self.ticker.join(timeout=5)
        self.ticker = None

    def batch_done(self, batch: int) -> None:
        self.batch = batch
        now = time.perf_counter()
        if self.first_batch_at is None:
            self.first_batch_at = now
        if now - self.drawn_at >= self.redraw_seconds:
            self._draw()

    def update(self, batch: int, loss: float, accuracy: float) -> None:
        self.batch, self.loss, self.accuracy = batch, loss, accuracy
        self._draw()

    def end_epoch(self, summary: str) -> None:
        self._stop_clock()
        self._draw(summary)

    def close(self) -> None:
        self._stop_clock()


class TerminalProgress(PlainProgress):
    """A tqdm bar on standard error while the epoch runs (moved at every batch), then the printed summary."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        from tqdm import tqdm   # the plain text bar (tqdm.auto would choose a widget in notebooks)

        super().start_epoch(epoch, epochs, batches)
        self.done = 0
        self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch")

    def batch_done(self, batch: int) -> None:
        self.bar.update(batch - self.done)      # tqdm redraws at most every 0.1 s by itself
        self.done = batch

    def update(self, batch: int, loss: float, accuracy: float) -> None:
        self.batch_done(batch)
        self.bar.set_postfix(loss=f"{loss:.3f}", accuracy=f"{accuracy:.1%}")

    def message(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text)        # above the bar, without breaking it

    def end_epoch(self, summary: str) -> None:
        self.bar.close()
        print(summary, flush=True)

    def close(self) -> None:
        bar = getattr(self, "bar", None)
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------------------
# An honest time budget: what to say when a run will take long
# ---------------------------------------------------------------------------

#: A run expected to take longer than this many seconds gets a word of advice (once).
LONG_RUN_SECONDS = 600
#: ... estimated at the first log point, or once training has run this many seconds, whichever comes first.
ESTIMATE_AFTER_SECONDS = 30


def long_run_advice(seconds: float, device: torch.device, *, epochs_left: int, batches: int, per_batch: float,
                    has_checkpoint: bool) -> str:
    """What to say when a run will take long: the estimate, then what to do about it.

    ``cu.train`` says it once, through its progress reporter (``message``), when its
    estimate after the first log point is more than ``LONG_RUN_SECONDS``.

    Example:
        >>> print(long_run_advice(1500, torch.device("cuda"), epochs_left=15, batches=352, per_batch=0.28,
        ...                       has_checkpoint=True).splitlines()[:2])    # doctest: +NORMALIZE_WHITESPACE
        ['This run will take about 25 min on this GPU (15 epochs of 352 batches, 0.28 s a batch; validation not
        counted). To make it shorter:', '  - train fewer epochs (epochs=...), or a smaller model.']
    """
    where = "GPU" if device.type == "cuda" else "CPU" if device.type == "cpu" else device.type.upper()
    lines = [f"This run will take about {format_duration(seconds)} on this {where} ({epochs_left} epoch"
             f"{'s' if epochs_left != 1 else ''} of {batches:,} batches, {per_batch:.2f} s a batch; "
             f"validation not counted). To make it shorter:"]
    if device.type != "cuda":
        if "google.colab" in sys.modules:
            lines.append("  - use a GPU: Runtime > Change runtime type > T4 GPU > Save. That starts a new session, "
                         "so run the notebook again from the top (Runtime > Run all).")
        else:
            lines.append("  - use a GPU: open the notebook in Google Colab (its Open in Colab badge), choose "
                         "Runtime > Change runtime type > T4 GPU, and run it from the top.")
    lines.append("  - train fewer epochs (epochs=...), or a smaller model.")
    if not fast_mode():
        lines.append("  - to try the code quickly, switch fast mode on (1,000 training images, at most 1 epoch; "
                     "results are then far lower): run a cell with  %env COURSE_FAST=1  and then the notebook "
                     "again from the top (Run all; no restart needed). %env COURSE_FAST=0 switches it off.")
    if not has_checkpoint:
        lines.append('  - and pass checkpoint="a-name" to cu.train: each finished epoch is then saved, and after '
                     "a disconnect or Ctrl-C running the cell again resumes the run.")
    return "\n".join(lines)


def make_progress(show: bool) -> PlainProgress:
    """The right reporter for where the code runs (see the module docstring)."""
    if not show:
        return PlainProgress()
    if in_notebook():
        return NotebookProgress()
    if not live_output_allowed():
        return PlainProgress()
    return TerminalProgress()
