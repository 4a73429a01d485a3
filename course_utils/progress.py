"""Showing how training goes while it runs: one line per epoch that updates in place.

``cu.train`` reports through a ``Progress`` object:

- in a notebook (JupyterLab, Colab, VS Code) a ``NotebookProgress`` shows one
  line per epoch and rewrites it in place at every log point
  (``epoch 2/4 ▕██████▌   ▏ 1,000/1,563 batches · loss 1.234 · accuracy 55.1% · 21 s``).
  When the epoch ends the line becomes its summary. What a saved notebook keeps
  is therefore exactly what you last saw — never a dead progress bar;
- in a terminal a ``TerminalProgress`` draws a tqdm bar, then prints the summary;
- with ``progress=False``, or under the test suite (``COURSE_LIVE_OUTPUT=0``),
  ``PlainProgress`` prints only the summary line of each epoch.

Example:
    >>> reporter = PlainProgress()
    >>> reporter.start_epoch(1, 2, 10)
    >>> reporter.end_epoch("epoch 1/2: loss 1.5000, train accuracy 40.0%")
    epoch 1/2: loss 1.5000, train accuracy 40.0%
"""
from __future__ import annotations

import sys
import time

from course_utils.config import live_output_allowed

BAR_WIDTH = 20


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


class PlainProgress:
    """Print the summary line of each epoch; nothing while it runs."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        self.epoch, self.epochs, self.batches = epoch, epochs, batches
        self.started = time.perf_counter()

    def update(self, batch: int, loss: float, accuracy: float) -> None:
        """Called at every log point with the running means since the last one."""

    def end_epoch(self, summary: str) -> None:
        print(summary, flush=True)

    def close(self) -> None:
        """Called once when training ends (also after an error)."""


class NotebookProgress(PlainProgress):
    """One output line per epoch, rewritten in place (an IPython display handle)."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        from IPython.display import display

        super().start_epoch(epoch, epochs, batches)
        self.handle = display({"text/plain": self._line(0, None, None)}, raw=True, display_id=True)

    def _line(self, batch: int, loss: float | None, accuracy: float | None) -> str:
        total = self.batches
        count = f"{batch:,}/{total:,} batches" if total else f"{batch:,} batches"
        bar = text_bar(batch, total) + " " if total else ""
        line = f"epoch {self.epoch}/{self.epochs} {bar}{count}"
        if loss is not None:
            line += f" · loss {loss:.3f} · accuracy {accuracy:.1%}"
        return line + f" · {time.perf_counter() - self.started:.0f} s"

    def update(self, batch: int, loss: float, accuracy: float) -> None:
        self.handle.update({"text/plain": self._line(batch, loss, accuracy)}, raw=True)

    def end_epoch(self, summary: str) -> None:
        self.handle.update({"text/plain": summary}, raw=True)


class TerminalProgress(PlainProgress):
    """A tqdm bar on standard error while the epoch runs, then the printed summary."""

    def start_epoch(self, epoch: int, epochs: int, batches: int | None) -> None:
        from tqdm import tqdm   # the plain text bar (tqdm.auto would choose a widget in notebooks)

        super().start_epoch(epoch, epochs, batches)
        self.done = 0
        self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch")

    def update(self, batch: int, loss: float, accuracy: float) -> None:
        self.bar.update(batch - self.done)
        self.done = batch
        self.bar.set_postfix(loss=f"{loss:.3f}", accuracy=f"{accuracy:.1%}")

    def end_epoch(self, summary: str) -> None:
        self.bar.close()
        print(summary, flush=True)

    def close(self) -> None:
        bar = getattr(self, "bar", None)
        if bar is not None:
            bar.close()


def make_progress(show: bool) -> PlainProgress:
    """The right reporter for where the code runs (see the module docstring)."""
    if not show:
        return PlainProgress()
    if in_notebook():
        return NotebookProgress()
    if not live_output_allowed():
        return PlainProgress()
    return TerminalProgress()
