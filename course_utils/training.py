"""The training loop: ``train`` fits a classifier and returns its history as a table.

``train`` is lecture 03's loop grown up. Lecture 03 writes it by hand as ``train_model``
(section 6, "The training loop, step by step"); ``cu.train`` runs the same loop (lecture
01 borrows it before that, and every lecture from 04 on uses it)::

    for each epoch:
        for each batch (X, y) from the loader:
            scores = model(X)                 # forward pass
            loss = loss_fn(scores, y)         # how wrong are we?
            optimizer.zero_grad()
            loss.backward()                   # gradients by backpropagation
            optimizer.step()                  # one small step downhill
        (optionally) measure the model on validation data

``train`` adds what makes it pleasant and fast in a notebook:

- a progress line per epoch and a **history** table (a pandas DataFrame) to plot;
- clear messages for the usual mistakes (raw uint8 images, labels that do not fit
  the model, an optimizer made for another model, a learning rate so large that the
  loss becomes NaN), checked before any step changes the model;
- **no waiting for the GPU at every batch**: the running loss and the number of
  correct predictions are added up on the device and read back only at log points
  (every ``log_every`` batches). Reading a number back (``loss.item()``) makes the
  CPU wait until the GPU has finished all queued work; doing it once per batch is
  what makes small models slow on a GPU;
- **mixed precision and channels_last where they help** (see ``course_utils.speed``).

A loader is anything you can loop over that gives ``(X, y)`` batches: a
``course_utils.TensorLoader``, a ``torch.utils.data.DataLoader`` or a plain list
of pairs. ``X`` holds float images, ``y`` the class indices.

Example:
    >>> import course_utils as cu                                              # doctest: +SKIP
    >>> train_loader, val_loader, test_loader = cu.make_loaders("cifar10", validation=5_000)  # doctest: +SKIP
    >>> history = cu.train(model, train_loader, epochs=5, validation=val_loader)  # doctest: +SKIP
    >>> fig = cu.plot_history(history)                                         # doctest: +SKIP
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import pandas as pd
import torch
from torch import nn

from course_utils import checks
from course_utils.config import HISTORY_COLUMNS, num_epochs
from course_utils.devices import eval_mode, use_device
from course_utils.evaluation import measure
from course_utils.progress import make_progress
from course_utils.speed import PRECISIONS, Settings, choose_settings


class _Running:
    """Sums of loss and correct predictions kept ON THE DEVICE, read back only when asked."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset()

    def reset(self) -> None:
        self.loss = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), device=self.device, dtype=torch.long)
        self.count = 0

    def add(self, loss: torch.Tensor, scores: torch.Tensor, y: torch.Tensor) -> None:
        self.loss += loss.detach().float() * len(y)
        self.correct += (scores.detach().argmax(dim=1) == y).sum()
        self.count += len(y)

    def means(self) -> tuple[float, float]:
        """(mean loss, accuracy) since the last reset; this waits for the device."""
        return float(self.loss) / self.count, int(self.correct) / self.count


def _diverged(loss: float, where: str, optimizer: torch.optim.Optimizer) -> FloatingPointError:
    lr = float(optimizer.param_groups[0]["lr"])
    return FloatingPointError(
        f"The loss became {loss} {where}: training diverged. Try a smaller learning rate "
        f"(now lr={lr:g}; try 10 times smaller). The weights may be broken now: create the model "
        "again before retraining."
    )


def _check_arguments(model, loader, epochs, lr, optimizer, scheduler, loss_fn, validation,
                     log_every, progress, live_plot, precision, channels_last) -> None:
    """Every argument of ``train``, checked before anything is moved or trained."""
    checks.arguments(
        "train",
        model=(model, checks.model),
        epochs=(epochs, checks.positive_int),
        lr=(lr, checks.learning_rate),
        log_every=(log_every, checks.positive_int),
        progress=(progress, checks.flag),
        live_plot=(live_plot, checks.flag),
        precision=(precision, checks.one_of(*PRECISIONS)),
        channels_last=(channels_last, checks.one_of("auto", True, False)),
    )
    passes = num_epochs(epochs)   # a generator can be looped over once: enough for one epoch only
    checks.arguments(
        "train",
        loader=(loader, checks.loader.given(passes=passes)),
        validation=(validation, checks.optional(checks.loader.given(passes=passes))),
        optimizer=(optimizer, checks.optional(checks.optimizer.given(model=model))),
        scheduler=(scheduler, checks.optional(checks.scheduler.given(optimizer=optimizer))),
        loss_fn=(loss_fn, checks.optional(checks.loss_fn)),
    )
    if optimizer is None:
        checks.trainable_parameters(model)


def train(
    model: nn.Module,
    loader: Iterable,
    *,
    epochs: int = 1,
    lr: float = 1e-3,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    loss_fn: nn.Module | None = None,
    validation: Iterable | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    live_plot: bool = False,
    log_every: int = 50,
    precision: str = "auto",
    channels_last: bool | str = "auto",
) -> pd.DataFrame:
    """Train a classifier with mini-batch gradient descent and return its history.

    Lecture 03 writes this loop by hand as ``train_model`` (section 6): ``zero_grad``,
    forward, loss, ``backward``, ``step`` for every batch, and a history row every
    ``log_every`` batches. ``train`` is that loop with validation, speed-ups and checks.

    Args:
        model: any ``nn.Module`` that maps a batch of inputs to a batch of class
            scores (shape: batch size x number of classes).
        loader: gives ``(X, y)`` batches: float inputs and int64 class indices.
        epochs: passes over the training data (capped at 1 in fast mode,
            ``COURSE_FAST=1``; a line is printed when that happens).
        lr: learning rate of the default optimizer, Adam.
        optimizer: your own optimizer instead, e.g. ``torch.optim.SGD(model.parameters(), lr=0.1)``
            (``lr`` is then ignored).
        scheduler: a learning-rate scheduler for that optimizer, stepped after EVERY
            BATCH, e.g. ``torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01,
            total_steps=cu.num_epochs(epochs) * len(loader))``.
        loss_fn: defaults to ``nn.CrossEntropyLoss()`` (softmax + negative log-likelihood).
        validation: a loader of held-out images (see ``cu.make_loaders(..., validation=...)``):
            after each epoch the model is measured on it, in evaluation mode.
        device: move the model there first; by default the model stays where it
            is and each batch is moved to the model's device.
        progress: show a line per epoch that updates while it runs (``False``: only
            the summary line of each epoch).
        live_plot: in a notebook, also draw the loss and accuracy curves and redraw
            them in place at every log point (in a terminal: ignored).
        log_every: add a history row every this many batches (and at the end of each epoch; when
            fewer than half of ``log_every`` batches would be left for the last row of an epoch,
            they are added to the row before it instead).
        precision: "auto" (default: 16-bit mixed precision where it is measured to be
            clearly faster), "float32" (off), "bfloat16" or "float16".
        channels_last: "auto" (default: where measured to be clearly faster), True or False.

    Returns:
        A DataFrame with one row per ``log_every`` batches and at each epoch's end.
        Columns: ``epoch`` (1, 2, ...), ``batch`` (within the epoch, from 1),
        ``examples`` (training examples seen so far, all epochs together),
        ``seconds`` (since training started), ``lr`` (the learning rate at that row),
        ``loss`` and ``accuracy`` (0-1) averaged over the batches since the previous
        row, and ``val_loss`` / ``val_accuracy`` on the validation data at the last
        row of each epoch (NaN elsewhere, and everywhere without ``validation``).
        ``history.attrs["settings"]`` says which device, precision and memory layout
        were used. The model is left in training mode.

    Example:
        >>> cu.seed_everything(0)                                        # doctest: +SKIP
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> history = cu.train(model, train_loader, epochs=3, validation=val_loader)  # doctest: +SKIP
        epoch 1/3: loss 1.9123, train accuracy 33.0% | validation loss 1.81, accuracy 37.2% | 6 s
        ...
        >>> fig = cu.plot_history(history)                               # doctest: +SKIP
    """
    _check_arguments(model, loader, epochs, lr, optimizer, scheduler, loss_fn, validation,
                     log_every, progress, live_plot, precision, channels_last)
    capped = num_epochs(epochs)
    if capped < epochs:
        print(f"Fast mode (COURSE_FAST is set): training {capped} epoch instead of {epochs}.")
    device = use_device(model, device)
    if optimizer is None:
        optimizer = torch.optim.Adam(checks.trainable_parameters(model), lr=lr)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    run = _Run(model, loader, optimizer, scheduler, loss_fn, validation, device, capped, log_every,
               precision, channels_last, make_progress(progress), _live_curve(live_plot))
    return run.all_epochs()


def _live_curve(wanted: bool):
    """A live figure of the curves when asked for and when the code runs in a notebook, else None."""
    from course_utils.progress import in_notebook

    if not wanted or not in_notebook():
        return None
    from course_utils.training_plots import LiveCurve   # imported only when used: it needs IPython

    return LiveCurve()


class _Run:
    """One call of ``train``: the state that the epochs share (kept here, not in ``train``'s locals)."""

    def __init__(self, model, loader, optimizer, scheduler, loss_fn, validation, device, epochs,
                 log_every, precision, channels_last, reporter, curve) -> None:
        self.model, self.loader, self.optimizer, self.scheduler = model, loader, optimizer, scheduler
        self.loss_fn, self.validation, self.device, self.epochs = loss_fn, validation, device, epochs
        self.log_every, self.precision, self.channels_last = log_every, precision, channels_last
        self.reporter, self.curve = reporter, curve
        self.classes = checks.loader_classes(loader)
        self.settings: Settings | None = None   # chosen on the first batch
        self.scaler = None
        self.rows: list[dict] = []
        self.examples = 0
        self.started = time.perf_counter()

    # ---- the whole run -------------------------------------------------------------

    def all_epochs(self) -> pd.DataFrame:
        self.model.train()
        try:
            for epoch in range(1, self.epochs + 1):
                self.one_epoch(epoch)
        finally:
            self.reporter.close()
            if self.curve is not None:
                self.curve.close()
        history = pd.DataFrame(self.rows, columns=HISTORY_COLUMNS)
        history.attrs["settings"] = self.settings.as_dict() if self.settings else {}
        return history

    def one_epoch(self, epoch: int) -> None:
        batches = len(self.loader) if hasattr(self.loader, "__len__") else None
        self.reporter.start_epoch(epoch, self.epochs, batches)
        window, whole_epoch = _Running(self.device), _Running(self.device)
        batch = 0
        for batch, item in enumerate(self.loader, start=1):
            X, y = self.batch_on_device(item, first=batch == 1)
            self.step(X, y, epoch, batch, window, whole_epoch)
            if batch % self.log_every == 0 and not self.too_close_to_the_end(batch, batches):
                self.log(epoch, batch, window)
        if batch == 0:
            raise checks.empty_loader_error("train")
        if window.count > 0:
            self.log(epoch, batch, window)
        loss, accuracy = whole_epoch.means()
        summary = f"epoch {epoch}/{self.epochs}: loss {loss:.4f}, train accuracy {accuracy:.1%}"
        if self.validation is not None:
            result = measure(self.model, self.validation, self.device, self.loss_fn, self.settings, "validation")
            self.rows[-1]["val_loss"], self.rows[-1]["val_accuracy"] = result.loss, result.accuracy
            summary += f" | validation loss {result.loss:.4f}, accuracy {result.accuracy:.1%}"
            if self.curve is not None:
                self.curve.update(pd.DataFrame(self.rows, columns=HISTORY_COLUMNS))
        self.reporter.end_epoch(summary + f" | {time.perf_counter() - self.started:.0f} s")

    def too_close_to_the_end(self, batch: int, batches: int | None) -> bool:
        """True when fewer than half a window of batches would be left for the epoch's last row.

        Such a short last window (352 batches logged every 50 leave 2) would average only a
        batch or two — often the small remainder batch — and draw a jump at every epoch's
        end; those batches join the last full window instead.
        """
        return batches is not None and 0 < batches - batch < self.log_every / 2

    # ---- one batch -----------------------------------------------------------------

    def batch_on_device(self, item: Any, first: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Check one batch and move it to the device (a no-op for a TensorLoader's batches)."""
        X, y = checks.split_batch(item)
        checks.check_inputs(X)
        y = checks.check_labels(y)
        X = X.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        if self.settings is None:   # the very first batch: decide how to run, check the model's outputs
            self.first_batch_checks(X, y)
        elif first or self.device.type != "cuda":
            checks.check_label_range(y, self.num_outputs)
        return self.settings.prepare(X), y

    def first_batch_checks(self, X: torch.Tensor, y: torch.Tensor) -> None:
        with torch.no_grad(), eval_mode(self.model):
            scores = self.model(X[:2])
        checks.check_scores(scores, len(X[:2]))
        self.num_outputs = scores.shape[1]
        checks.check_outputs_match_classes(self.num_outputs, self.classes)
        checks.check_label_range(y, self.num_outputs)
        self.settings = choose_settings(self.model, X, y, self.loss_fn, self.device,
                                        self.precision, self.channels_last)
        if self.settings.needs_grad_scaler():
            self.scaler = torch.amp.GradScaler(self.device.type)

    def step(self, X, y, epoch: int, batch: int, window: _Running, whole_epoch: _Running) -> None:
        """One gradient step: forward, loss, backward, update (and the scheduler, if any)."""
        with self.settings.autocast():
            scores = self.model(X)
            checks.check_scores(scores, len(y))
            loss = self.loss_fn(scores, y)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        window.add(loss, scores, y)
        whole_epoch.add(loss, scores, y)
        self.examples += len(y)

    def log(self, epoch: int, batch: int, window: _Running) -> None:
        """Read the window's sums back from the device, add a history row, update the display."""
        loss, accuracy = window.means()
        if not math.isfinite(loss):
            raise _diverged(loss, f"during epoch {epoch} (by batch {batch})", self.optimizer)
        self.rows.append({
            "epoch": epoch, "batch": batch, "examples": self.examples,
            "seconds": time.perf_counter() - self.started,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "loss": loss, "accuracy": accuracy,
            "val_loss": math.nan, "val_accuracy": math.nan,
        })
        window.reset()
        self.reporter.update(batch, loss, accuracy)
        if self.curve is not None:
            self.curve.update(pd.DataFrame(self.rows, columns=HISTORY_COLUMNS))
