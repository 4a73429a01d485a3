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
  the model, an optimizer made for another model, validation data that does not fit
  the training data), checked before any step changes the model;
- **no NaN steps kept** (see "NaN and the cost of checking" below);
- **no waiting for the GPU at every batch**: the running loss and the number of
  correct predictions are added up on the device and read back only at log points
  (every ``log_every`` batches). Reading a number back (``loss.item()``) makes the
  CPU wait until the GPU has finished all queued work; doing it once per batch is
  what makes small models slow on a GPU;
- **mixed precision and channels_last where they help** (see ``course_utils.speed``);
- **checkpoints** (``checkpoint="a-name"``): the run is saved after every epoch and,
  after a disconnect, a crash or Ctrl-C, running the same cell again resumes it
  (see ``course_utils.checkpoints``);
- **an honest time budget**: after the first log point ``train`` estimates how long
  the whole run will take and, when that is more than about 10 minutes, says once
  what to do about it (a GPU, fewer epochs, fast mode).

NaN and the cost of checking. A NaN pixel, or a model that outputs NaN, turns
every weight it touches into NaN at the first step. Checking each batch's loss with
``loss.item()`` would catch it at once, but it makes the CPU wait for the GPU at
every batch -- exactly what makes small models slow on a GPU. So ``train`` checks in
two places where it reads numbers back anyway, and never in between:

- on the FIRST batch, before any step (it waits for the device there already, to
  check the labels and choose the speed settings): the inputs must be finite, and
  so must the model's outputs for them; the validation loader's first batch is
  checked too (shape, labels, classes). A refusal leaves the model exactly as it was
  (weights, device, each layer's train/eval mode);
- at every LOG POINT (every ``log_every`` batches) it reads the window's summed loss,
  which is NaN if any batch since the last log point had a NaN loss, and whether
  every weight is a number (the window's last step came after its last loss). Between log
  points nothing is read back: each batch only adds ``isfinite(X).all()`` to a flag
  on the device (one small kernel, no wait) so that a NaN pixel can be told from a
  diverging run. At each log point that passes, ``train`` keeps a copy of the
  model's and the optimizer's state on the device (a copy, no wait; one more model
  and optimizer state in memory). When a window's loss is not a number, ``train``
  puts that copy back and stops with ``TrainingDiverged``: the model holds the weights
  of the last point where the loss was a number (before training, if that was the
  first window), never NaN, and the error says which it is and what to do.

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

import copy
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from course_utils import checkpoints, checks
from course_utils.config import HISTORY_COLUMNS, num_epochs
from course_utils.devices import eval_mode, model_device, use_device
from course_utils.evaluation import measure
from course_utils import progress
from course_utils.progress import long_run_advice, make_progress
from course_utils.saving import interrupts_held_back, saved_with
from course_utils.speed import PRECISIONS, Settings, choose_settings

__all__ = ["train", "TrainingInterrupted", "TrainingDiverged", "TrainingPlan", "long_run_advice"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or Jupyter's "Interrupt the kernel") stopped ``train`` during an epoch.

    It is a ``KeyboardInterrupt``, so it stops the cell (and "Run all") as an
    interrupt always does. ``history`` holds the rows of the epochs that finished
    (an empty table when none did); in a notebook, the next cell can pick it up
    with ``history = sys.last_value.history``. With a checkpoint, those epochs are
    also on disk, and running the cell again resumes after the last of them.
    """

    def __init__(self, message: str, history: pd.DataFrame) -> None:
        super().__init__(message)
        self.history = history


class TrainingDiverged(FloatingPointError):
    """The loss became NaN (or infinite) during training; the model was put back as it was before those steps.

    ``history`` holds the rows up to the last point where the loss was a number
    (``history = sys.last_value.history`` in the next cell).
    """

    def __init__(self, message: str, history: pd.DataFrame) -> None:
        super().__init__(message)
        self.history = history


# --------------------------------------------------------------------------
# What train was asked to do, checked
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingPlan:
    """One call of ``train``: every argument, checked when the plan is made.

    ``epochs`` is the number of epochs that will run (1 in fast mode);
    ``requested_epochs`` is what the call asked for. ``describe()`` gives the
    plain description that a checkpoint keeps, so that resuming can check that
    the checkpoint belongs to this call.
    """

    model: nn.Module
    loader: Iterable
    requested_epochs: int = 1
    lr: float = 1e-3
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    loss_fn: Any = None
    validation: Iterable | None = None
    log_every: int = 50
    progress: bool = True
    live_plot: bool = False
    precision: str = "auto"
    channels_last: bool | str = "auto"
    checkpoint: Path | None = None
    epochs: int = field(init=False)

    def __post_init__(self) -> None:
        """Check every argument, before anything is moved or trained."""
        checks.arguments(
            "train",
            model=(self.model, checks.model),
            epochs=(self.requested_epochs, checks.positive_int),
            lr=(self.lr, checks.learning_rate),
            log_every=(self.log_every, checks.positive_int),
            progress=(self.progress, checks.flag),
            live_plot=(self.live_plot, checks.flag),
            precision=(self.precision, checks.one_of(*PRECISIONS)),
            channels_last=(self.channels_last, checks.one_of("auto", True, False)),
        )
        object.__setattr__(self, "epochs", num_epochs(self.requested_epochs))
        object.__setattr__(self, "log_every", int(self.log_every))
        passes = self.epochs   # a generator can be looped over once: enough for one epoch only
        checks.arguments(
            "train",
            loader=(self.loader, checks.loader.given(passes=passes)),
            validation=(self.validation, checks.optional(checks.loader.given(passes=passes))),
            optimizer=(self.optimizer, checks.optional(checks.optimizer.given(model=self.model))),
            scheduler=(self.scheduler, checks.optional(checks.scheduler.given(optimizer=self.optimizer))),
            loss_fn=(self.loss_fn, checks.optional(checks.loss_fn)),
        )
        for name, given in (("loader", self.loader), ("validation", self.validation)):
            if hasattr(given, "__len__") and len(given) == 0:
                raise checks.refusal(ValueError, "train", name, "a loader that gives (X, y) batches",
                                     f"{checks.describe(given)}, which gives no batch at all",
                                     "Pass val_loader from cu.make_loaders(..., validation=5_000), or leave "
                                     "validation out." if name == "validation" else "Is the data set empty?")
        if self.optimizer is None:
            checks.trainable_parameters(self.model)

    def describe(self) -> dict:
        """What must be the same for a checkpoint to continue this call (``checkpoints.describe_run``)."""
        return checkpoints.describe_run(
            model=self.model, epochs=self.epochs, log_every=self.log_every, optimizer=self.optimizer, lr=self.lr,
            scheduler=self.scheduler, loss_fn=self.loss_fn, loader=self.loader, validation=self.validation,
            precision=self.precision, channels_last=self.channels_last)


# --------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------


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
    checkpoint: str | Path | None = None,
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
        checkpoint: save the run after every epoch, and resume it when the same call
            runs again: a name such as ``"08-final"`` (the file ``checkpoints/08-final.pt``,
            in ``$COURSE_CHECKPOINT_DIR`` when that is set) or a path ending in ``.pt``.
            Resuming continues after the last complete epoch ("resuming after epoch 3
            of 5 from ...") and gives the same result as a run that was never
            interrupted. A checkpoint of a finished run returns its history (and puts
            its trained weights into ``model``) without training. A checkpoint made by
            another model or other arguments is refused with the reasons; delete the
            file or pass another name to start afresh. See ``course_utils.checkpoints``.

    Returns:
        A DataFrame with one row per ``log_every`` batches and at each epoch's end.
        Columns: ``epoch`` (1, 2, ...), ``batch`` (within the epoch, from 1),
        ``examples`` (training examples seen so far, all epochs together),
        ``seconds`` (since training started), ``lr`` (the learning rate at that row),
        ``loss`` and ``accuracy`` (0-1) averaged over the batches since the previous
        row, and ``val_loss`` / ``val_accuracy`` on the validation data at the last
        row of each epoch (NaN elsewhere, and everywhere without ``validation``).
        ``history.attrs["settings"]`` says which device, precision and memory layout
        were used; ``history.attrs["seconds"]`` is the run's whole training time
        (validation included, all sessions of a resumed run together). The model is
        left in training mode.

    Raises:
        ValueError / TypeError: an argument, the first batch or the validation data that cannot
            work (see "NaN and the cost of checking" in the module docstring); nothing has
            changed then: the model is exactly as it was.
        TrainingDiverged: the loss became NaN or infinite; the model was put back to the last
            point where the loss was a number (a ``FloatingPointError``, with ``.history``).
        TrainingInterrupted: Ctrl-C (Jupyter: "Interrupt the kernel") during training.
            The interrupt is passed on — it stops the cell, as interrupts do — carrying
            the history of the epochs that finished as ``.history`` (in a notebook:
            ``history = sys.last_value.history`` in the next cell). Passing it on rather
            than returning the history keeps "Run all" from going on with a half-trained
            model. With a checkpoint, running the cell again resumes after those epochs.

    Example:
        >>> cu.seed_everything(0)                                        # doctest: +SKIP
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> history = cu.train(model, train_loader, epochs=3, validation=val_loader)  # doctest: +SKIP
        epoch 1/3: loss 1.9123, train accuracy 33.0% | validation loss 1.81, accuracy 37.2% | 6 s
        ...
        >>> fig = cu.plot_history(history)                               # doctest: +SKIP
    """
    plan = TrainingPlan(model, loader, requested_epochs=epochs, lr=lr, optimizer=optimizer, scheduler=scheduler,
                        loss_fn=loss_fn, validation=validation, log_every=log_every, progress=progress,
                        live_plot=live_plot, precision=precision, channels_last=channels_last,
                        checkpoint=None if checkpoint is None else checkpoints.checkpoint_path(checkpoint))
    description = plan.describe()            # (at the start: a scheduler's or optimizer's state moves later)
    saved = checkpoints.matching_checkpoint(plan.checkpoint, description)   # refused before anything changes
    if plan.epochs < plan.requested_epochs:
        print(f"Fast mode (COURSE_FAST is set): training {plan.epochs} epoch instead of {plan.requested_epochs}.")
    as_it_was = _ModelAsItWas(model)
    run = _Run(plan, use_device(model, device), description)
    try:
        if saved is not None:
            run.resume(saved)
        elif plan.checkpoint is not None:
            print(f"Saving a checkpoint after every epoch to {plan.checkpoint} (run this cell again to resume).")
        return run.all_epochs()
    except (ValueError, TypeError, RuntimeError):
        if run.steps == 0 and saved is None:   # refused before the first step: leave the model as it came
            as_it_was.restore()
        raise


class _ModelAsItWas:
    """Where a model was and which of its layers were in training mode, to put back when train refuses."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.device = model, model_device(model)
        self.modes = {module: module.training for module in model.modules()}

    def restore(self) -> None:
        self.model.to(self.device)
        for module, was_training in self.modes.items():
            module.training = was_training


def _live_curve(wanted: bool):
    """A live figure of the curves when asked for and when the code runs in a notebook, else None."""
    from course_utils.progress import in_notebook

    if not wanted or not in_notebook():
        return None
    from course_utils.training_plots import LiveCurve   # imported only when used: it needs IPython

    return LiveCurve()


def first_batch_of(loader: Any) -> Any:
    """The first batch of ``loader`` without using up anything: None when it gives none.

    torch's global generator and the loader's own random state are as they were
    afterwards (a ``DataLoader`` draws a seed from the global generator for each
    pass), so looking changes no later result. An iterator (a generator), which
    would lose that batch, is not looked at: None.
    """
    if iter(loader) is loader:
        return None
    state = checkpoints.loader_state(loader)
    with torch.random.fork_rng(devices=[]):
        try:
            return next(iter(loader), None)
        finally:
            checkpoints.restore_loader_state(loader, state)


# --------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------


class _Running:
    """Sums of loss and correct predictions kept ON THE DEVICE, read back only when asked."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset()

    def reset(self) -> None:
        self.loss = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), device=self.device, dtype=torch.long)
        self.inputs_finite = torch.ones((), device=self.device, dtype=torch.bool)
        self.count = 0

    def add(self, loss: torch.Tensor, scores: torch.Tensor, y: torch.Tensor) -> None:
        self.loss += loss.detach().float() * len(y)
        self.correct += (scores.detach().argmax(dim=1) == y).sum()
        self.count += len(y)

    def means(self) -> tuple[float, float]:
        """(mean loss, accuracy) since the last reset; this waits for the device."""
        return float(self.loss) / self.count, int(self.correct) / self.count


@dataclass
class _SafePoint:
    """Everything a step changes, copied (on the device) at a point where the loss was a number."""

    model: dict
    optimizer: dict
    scheduler: dict | None
    scaler: dict | None
    where: str          # "before training", or "after batch 50 of epoch 2"
    rows: int           # how many history rows there were then
    examples: int


class _Run:
    """The state that the epochs of one ``train`` call share (the plan says what to do)."""

    def __init__(self, plan: TrainingPlan, device: torch.device, description: dict | None = None) -> None:
        self.plan = plan
        self.description = plan.describe() if description is None else description   # what a checkpoint keeps
        self.model, self.loader, self.validation = plan.model, plan.loader, plan.validation
        self.epochs, self.log_every = plan.epochs, plan.log_every
        self.device = device
        self.optimizer = plan.optimizer or torch.optim.Adam(checks.trainable_parameters(plan.model), lr=plan.lr)
        self.scheduler = plan.scheduler
        self.loss_fn = nn.CrossEntropyLoss() if plan.loss_fn is None else plan.loss_fn
        self.classes = checks.loader_classes(plan.loader)
        self.settings: Settings | None = None   # chosen on the first batch (or restored from a checkpoint)
        self.scaler = None
        self.num_outputs: int | None = None
        self.rows: list[dict] = []
        self.examples = 0
        self.steps = 0                         # optimizer steps taken in this session
        self.first_epoch = 1
        self.finished_epochs = 0               # epochs complete in memory ...
        self.saved_epochs = 0                  # ... and in the checkpoint file
        self.seconds_before = 0.0               # training time of earlier sessions (a resumed run)
        self.started = time.perf_counter()
        self.first_batch_done: float | None = None
        self.estimated = False
        self.safe: _SafePoint | None = None
        self.reporter = make_progress(plan.progress)
        self.curve = _live_curve(plan.live_plot)

    def elapsed(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def history(self, rows: list[dict] | None = None) -> pd.DataFrame:
        history = pd.DataFrame(self.rows if rows is None else rows, columns=HISTORY_COLUMNS)
        history.attrs["settings"] = self.settings.as_dict() if self.settings else {}
        history.attrs["seconds"] = self.elapsed()
        return history

    # ---- the whole run -------------------------------------------------------------

    def all_epochs(self) -> pd.DataFrame:
        self.model.train()
        self.started = time.perf_counter()
        self.keep_safe_point("before training" if not self.rows else f"after epoch {self.first_epoch - 1}")
        try:
            for epoch in range(self.first_epoch, self.epochs + 1):
                self.one_epoch(epoch)
                self.finished_epochs = epoch
                if self.plan.checkpoint is not None:
                    self.save_checkpoint(epoch)
        except KeyboardInterrupt:
            raise self.interrupted() from None
        finally:
            self.reporter.close()
            if self.curve is not None:
                self.curve.close()
        return self.history()

    def interrupted(self) -> TrainingInterrupted:
        """The exception for Ctrl-C: the history of the finished epochs, and what to do next."""
        done, saved = self.finished_epochs, self.saved_epochs
        rows = [row for row in self.rows if row["epoch"] <= done]
        where = f"during epoch {done + 1} of {self.epochs}" if done < self.epochs else "after the last epoch"
        if done == 0:
            text = "No epoch had finished, so there is no history to keep."
        else:
            text = (f"The history of the {done} finished epoch{'s' if done > 1 else ''} is kept: in the next cell, "
                    f"history = sys.last_value.history")
        if self.plan.checkpoint is None:
            text += (". The model keeps the weights it had when it stopped. (With checkpoint=\"a-name\", running "
                     "the cell again would resume after the last finished epoch.)")
        elif saved > 0:
            text += (f". The checkpoint {self.plan.checkpoint} holds epoch {saved}: run this cell again to resume "
                     f"after it.")
        return TrainingInterrupted(f"Training interrupted {where}. {text}", self.history(rows))

    def one_epoch(self, epoch: int) -> None:
        batches = len(self.loader) if hasattr(self.loader, "__len__") else None
        self.reporter.start_epoch(epoch, self.epochs, batches)
        window, whole_epoch = _Running(self.device), _Running(self.device)
        batch = 0
        for batch, item in enumerate(self.loader, start=1):
            X, y = self.batch_on_device(item, first=batch == 1)
            self.step(X, y, window, whole_epoch)
            self.reporter.batch_done(batch)
            if self.first_batch_done is None:
                self.first_batch_done = time.perf_counter()
            if batch % self.log_every == 0 and not self.too_close_to_the_end(batch, batches):
                self.log(epoch, batch, window)
            self.estimate(epoch, batch, batches)
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
        self.reporter.end_epoch(summary + f" | {self.elapsed():.0f} s")

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
        if self.num_outputs is None:   # the very first batch: check the model's outputs, decide how to run
            self.first_batch_checks(X, y)
        elif first or self.device.type != "cuda":
            checks.check_label_range(y, self.num_outputs)
        return self.settings.prepare(X), y

    def first_batch_checks(self, X: torch.Tensor, y: torch.Tensor) -> None:
        """Before the first step: the batch, the model's outputs for it, the validation data; then the settings."""
        _check_finite_inputs(X, "the first batch's inputs X", "train")
        with torch.no_grad(), eval_mode(self.model):
            scores = self.model(X)
        checks.check_scores(scores, len(X))
        _check_finite_outputs(scores, self.model)
        self.num_outputs = scores.shape[1]
        checks.check_outputs_match_classes(self.num_outputs, self.classes)
        checks.check_label_range(y, self.num_outputs)
        self.check_validation(X)
        if self.settings is None:      # (a resumed run keeps the settings of its first session)
            self.settings = choose_settings(self.model, X, y, self.loss_fn, self.device,
                                            self.plan.precision, self.plan.channels_last)
        if self.settings.needs_grad_scaler() and self.scaler is None:
            self.scaler = torch.amp.GradScaler(self.device.type)

    def check_validation(self, X: torch.Tensor) -> None:
        """The validation loader's first batch must fit what the model learns (checked once, before any step)."""
        if self.validation is None:
            return
        item = first_batch_of(self.validation)
        if item is None:
            if iter(self.validation) is not self.validation:
                raise checks.refusal(ValueError, "train", "validation", "a loader that gives (X, y) batches",
                                     f"{checks.describe(self.validation)}, which gives no batch at all",
                                     "Pass val_loader from cu.make_loaders(..., validation=5_000), or leave "
                                     "validation out.")
            return
        X_val, y_val = checks.split_batch(item)
        checks.inputs(X_val, "validation's inputs X", "train")
        y_val = checks.check_labels(y_val)
        if tuple(X_val.shape[1:]) != tuple(X.shape[1:]):
            raise checks.refusal(
                ValueError, "train", "validation", f"batches of images shaped like the training images "
                f"({'×'.join(map(str, X.shape[1:]))})", f"images of shape {'×'.join(map(str, X_val.shape[1:]))}",
                "Hold the validation images out of the same training data (cu.make_loaders(..., validation=5_000) "
                "returns the loader), prepared the same way.")
        low, high = int(y_val.min()), int(y_val.max())
        if low < 0 or high >= self.num_outputs:
            raise checks.refusal(
                ValueError, "train", "validation", f"labels the model can output: 0..{self.num_outputs - 1} "
                f"({self.num_outputs} scores per image)", f"validation labels from {low} to {high}",
                "Is it another data set's loader? Validate on images of the classes the model learns.")
        checks.check_outputs_match_classes(self.num_outputs, checks.loader_classes(self.validation),
                                           "validation loader")

    def step(self, X, y, window: _Running, whole_epoch: _Running) -> None:
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
        window.inputs_finite &= torch.isfinite(X).all()     # on the device: no waiting (see the module docstring)
        window.add(loss, scores, y)
        whole_epoch.add(loss, scores, y)
        self.examples += len(y)
        self.steps += 1

    def log(self, epoch: int, batch: int, window: _Running) -> None:
        """Read the window's sums back from the device, add a history row, update the display."""
        loss, accuracy = window.means()
        if not math.isfinite(loss):
            raise self.diverged(f"the loss became {loss}", epoch, batch, inputs_finite=bool(window.inputs_finite))
        if not self.weights_finite():        # (the window's last step came after its last loss)
            raise self.diverged("the weights became NaN or infinite", epoch, batch,
                                inputs_finite=bool(window.inputs_finite))
        self.rows.append({
            "epoch": epoch, "batch": batch, "examples": self.examples,
            "seconds": self.elapsed(),
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "loss": loss, "accuracy": accuracy,
            "val_loss": math.nan, "val_accuracy": math.nan,
        })
        window.reset()
        self.keep_safe_point(f"after batch {batch:,} of epoch {epoch}")
        self.reporter.update(batch, loss, accuracy)
        if self.curve is not None:
            self.curve.update(pd.DataFrame(self.rows, columns=HISTORY_COLUMNS))

    # ---- NaN: the last point where the loss was a number --------------------------------

    def keep_safe_point(self, where: str) -> None:
        """Copy what a step changes (on the device, without waiting), to put back if the loss becomes NaN."""
        self.safe = _SafePoint(
            model={name: value.detach().clone() for name, value in self.model.state_dict().items()},
            optimizer=copy.deepcopy(self.optimizer.state_dict()),
            scheduler=copy.deepcopy(self.scheduler.state_dict()) if hasattr(self.scheduler, "state_dict") else None,
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            where=where, rows=len(self.rows), examples=self.examples)

    def weights_finite(self) -> bool:
        """Whether every weight and buffer is a number (one wait for the device, at a log point)."""
        values = [torch.isfinite(value).all() for value in self.model.state_dict().values() if value.is_floating_point()]
        return bool(torch.stack(values).all()) if values else True

    def diverged(self, what: str, epoch: int, batch: int, inputs_finite: bool) -> TrainingDiverged:
        """Put the last safe point back; the exception that says what happened and what to do."""
        safe = self.safe
        self.model.load_state_dict(safe.model)
        self.optimizer.load_state_dict(safe.optimizer)
        if safe.scheduler is not None:
            self.scheduler.load_state_dict(safe.scheduler)
        if safe.scaler is not None:
            self.scaler.load_state_dict(safe.scaler)
        del self.rows[safe.rows:]
        self.examples = safe.examples
        first = self.rows[-1]["batch"] + 1 if self.rows and self.rows[-1]["epoch"] == epoch else 1
        kept = ("it is exactly as it was before training" if safe.where == "before training" else
                f"it has the weights it had {safe.where}, the last point where the loss was a number (the history "
                "up to there: history = sys.last_value.history)")
        if not inputs_finite:
            advice = ("Some inputs X in those batches are NaN or infinite: the data, not the training, is the "
                      "problem. Check how the images were made (a division by zero, e.g. a std of 0 in the "
                      "normalization?).")
        else:
            lr = float(self.optimizer.param_groups[0]["lr"])
            advice = (f"Training diverged: try a smaller learning rate (now lr={lr:g}; try 10 times smaller), "
                      "or check the model's forward pass for a division by zero or a log of 0.")
        return TrainingDiverged(
            f"train: {what} during epoch {epoch} (between batches {first:,} and {batch:,}), "
            f"so training stopped and the model was put back: {kept}. {advice}", self.history())

    # ---- the time budget -------------------------------------------------------------

    def estimate(self, epoch: int, batch: int, batches: int | None) -> None:
        """Once, at the first log point (or after ``progress.ESTIMATE_AFTER_SECONDS``): warn when the run will take long.

        The first batch is not counted: it includes choosing the speed settings.
        """
        if self.estimated or batches is None or batch < 2:
            return
        since_first = time.perf_counter() - self.first_batch_done
        if batch % self.log_every != 0 and since_first < progress.ESTIMATE_AFTER_SECONDS:
            return
        self.estimated = True
        per_batch = since_first / (batch - 1)
        left = (batches - batch) + batches * (self.epochs - epoch)
        if per_batch * left + self.elapsed() > progress.LONG_RUN_SECONDS:
            self.reporter.message(long_run_advice(per_batch * left + self.elapsed(), self.device,
                                                  epochs_left=self.epochs - epoch + 1, batches=batches,
                                                  per_batch=per_batch, has_checkpoint=self.plan.checkpoint is not None))

    # ---- checkpoints -------------------------------------------------------------------

    def save_checkpoint(self, epoch: int) -> None:
        """Save everything needed to go on after ``epoch`` (see ``course_utils.checkpoints``)."""
        state = {
            "plan": self.description,
            "epochs_done": epoch,
            "epochs": self.epochs,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "grad_scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "history": self.rows,
            "examples": self.examples,
            "seconds": self.elapsed(),
            "settings": {"device": self.device.type, "precision": self.settings.precision,
                         "channels_last": self.settings.channels_last,
                         "speed_ups": [list(item) for item in self.settings.speed_ups]},
            "rng": checkpoints.rng_state(),
            "loaders": {"loader": checkpoints.loader_state(self.loader),
                        "validation": checkpoints.loader_state(self.validation)},
            "saved_with": saved_with(self.model),
        }
        try:
            with interrupts_held_back():          # Ctrl-C now comes after the file AND the count are updated
                checkpoints.save_checkpoint(self.plan.checkpoint, state)
                self.saved_epochs = epoch
        except OSError as error:     # a full disk, a lost Drive: keep training, say what the file holds
            kept = f"epoch {self.saved_epochs}" if self.saved_epochs else "nothing yet"
            self.reporter.message(f"Could not save the checkpoint after epoch {epoch} to {self.plan.checkpoint} "
                                  f"({error.strerror or error}); training goes on, the file holds {kept}.")

    def resume(self, saved: dict) -> None:
        """Continue from a checkpoint that ``_saved_checkpoint`` has accepted for this plan."""
        done = saved["epochs_done"]
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        notes = self.restore_settings(saved["settings"], saved.get("grad_scaler"))
        notes += checkpoints.restore_rng_state(saved["rng"])
        checkpoints.restore_loader_state(self.loader, saved["loaders"]["loader"])
        checkpoints.restore_loader_state(self.validation, saved["loaders"]["validation"])
        self.rows = [dict(row) for row in saved["history"]]
        self.examples = saved["examples"]
        self.seconds_before = saved["seconds"]
        self.first_epoch = done + 1          # (past the last epoch for a finished run: nothing left to train)
        self.finished_epochs = self.saved_epochs = done
        when = str(saved.get("saved_with", {}).get("date", "?")).replace("T", " ")[:16] + " UTC"
        if done >= self.epochs:
            print(f"{self.plan.checkpoint} holds this finished run ({done} of {self.epochs} epochs, saved {when}): "
                  "returning its history without training; the model now has its trained weights. "
                  "(To train again, delete the file or pass another checkpoint name.)")
        else:
            print(f"Resuming after epoch {done} of {self.epochs} from {self.plan.checkpoint} (saved {when}).")
        for note in notes:
            print(f"  Note: {note}")
        if self.curve is not None and self.rows:
            self.curve.update(pd.DataFrame(self.rows, columns=HISTORY_COLUMNS))

    def restore_settings(self, saved: dict, scaler_state: dict | None) -> list[str]:
        """Use the speed settings of the run's first session (when the device is of the same kind)."""
        if saved["device"] != self.device.type:
            return [f"the run started on {saved['device']} and goes on on {self.device.type}: the speed settings "
                    "are chosen again, and the result will differ a little from an uninterrupted run."]
        self.settings = Settings(self.device, saved["precision"], saved["channels_last"],
                                 tuple((name, ratio) for name, ratio in saved["speed_ups"]))
        self.model.to(memory_format=torch.channels_last if self.settings.channels_last else torch.contiguous_format)
        if self.settings.needs_grad_scaler():
            self.scaler = torch.amp.GradScaler(self.device.type)
            if scaler_state is not None:
                self.scaler.load_state_dict(scaler_state)
        return []


def _check_finite_inputs(X: torch.Tensor, name: str, function: str) -> None:
    """Refuse inputs with NaN or infinite values, naming the images that hold them."""
    bad = ~torch.isfinite(X.reshape(len(X), -1)).all(dim=1)
    if bool(bad.any()):
        images = bad.nonzero().flatten().tolist()
        raise checks.refusal(
            ValueError, function, name, "finite numbers (normalized pixels)",
            f"NaN or infinite values in {len(images)} of its {len(X)} images (image{'s' if len(images) > 1 else ''} "
            f"{', '.join(map(str, images[:5]))}{' ...' if len(images) > 5 else ''})",
            "Nothing was trained; the model is as it was. Check how the images were made: a division by zero "
            "(a std of 0 in the normalization?) or a missing value in the data.")


def _check_finite_outputs(scores: torch.Tensor, model: nn.Module) -> None:
    """Refuse a model whose outputs are NaN or infinite before any step, saying whether its weights are."""
    if bool(torch.isfinite(scores).all()):
        return
    broken = [name for name, value in model.state_dict().items()
              if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if broken:
        got = f"a model whose weights hold NaN or infinite values ({', '.join(broken[:4])})"
        fix = ("Create the model again (a model keeps the broken weights of a run that diverged before), "
               "then train that one.")
    else:
        got = "a model whose outputs for the first batch are NaN or infinite, although its weights are numbers"
        fix = "Check its forward pass for a division by zero, a log or sqrt of 0 or a negative number."
    raise checks.refusal(ValueError, "train", "model", "a model whose outputs are numbers before training", got,
                         fix + " Nothing was trained; the model is as it was.")
