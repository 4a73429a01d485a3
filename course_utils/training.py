"""Training and evaluating image classifiers: devices, seeds, the training loop, accuracy.

The training loop in this module is the one you would write by hand:

    for each epoch:
        for each batch (X, y) from the loader:
            scores = model(X)                 # forward pass
            loss = loss_fn(scores, y)         # how wrong are we?
            optimizer.zero_grad()
            loss.backward()                   # gradients by backpropagation
            optimizer.step()                  # one small step downhill

``train`` adds what makes it pleasant in a notebook: a progress bar, a history
table (a pandas DataFrame) to plot afterwards, and clear messages when
something is wrong (images not normalized, labels that do not fit the model,
a learning rate so large that the loss becomes NaN).

A loader is anything you can loop over that gives ``(X, y)`` batches: a
``course_utils.TensorLoader``, a ``torch.utils.data.DataLoader`` or even a
plain list of pairs. ``X`` holds float images, ``y`` the class indices.

Example:
    >>> import course_utils as cu                                # doctest: +SKIP
    >>> train_loader, test_loader = cu.make_loaders("cifar10")   # doctest: +SKIP
    >>> history = cu.train(model, train_loader, epochs=5)        # doctest: +SKIP
    >>> cu.evaluate(model, test_loader)                          # doctest: +SKIP
    Evaluation(accuracy=55.3% on 10,000 images, loss=1.27)
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from course_utils.config import HISTORY_COLUMNS, num_epochs


# --------------------------------------------------------------------------
# Devices and seeds
# --------------------------------------------------------------------------


def _available_devices() -> list[str]:
    """Names of the device types this machine can use, best first."""
    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    if torch.backends.mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Pick the device to compute on: a CUDA GPU, else Apple's MPS, else the CPU.

    Pass ``prefer`` ("cuda", "cuda:1", "mps" or "cpu") to choose yourself; you
    get a clear error when that device is not available on this machine.

    Example:
        >>> get_device()                     # doctest: +SKIP
        device(type='cuda')
        >>> get_device("cpu")
        device(type='cpu')
    """
    available = _available_devices()
    if prefer is None:
        return torch.device(available[0])
    try:
        device = torch.device(prefer)
    except (RuntimeError, TypeError):  # not a device name torch knows, e.g. "gpu"
        device = None
    if device is None or device.type not in ("cuda", "mps", "cpu"):
        raise ValueError(
            f"get_device supports 'cuda', 'mps' and 'cpu'; got {str(prefer)!r}."
        )
    if device.type not in available:
        hint = " In Colab: Runtime > Change runtime type > GPU." if device.type == "cuda" else ""
        raise ValueError(
            f"You asked for device {str(prefer)!r}, but it is not available on this machine. "
            f"Available here: {', '.join(available)}. Use get_device() to pick the best one.{hint}"
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"You asked for {str(prefer)!r}, but this machine has only "
            f"{torch.cuda.device_count()} CUDA device(s) (cuda:0 ... cuda:{torch.cuda.device_count() - 1})."
        )
    return device


def model_device(model: nn.Module) -> torch.device:
    """The device a model's weights live on (the CPU for a model without any).

    Example:
        >>> model_device(nn.Linear(3, 2))
        device(type='cpu')
    """
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed every random number generator we use, so that a run can be repeated.

    Seeds Python's ``random``, NumPy's global generator and PyTorch (the CPU
    generator and every CUDA device). Call it once at the top of a notebook and
    again right before creating a model whose training you want to repeat:
    weight initialisation, shuffling and dropout then give the same numbers.

    What it does NOT make repeatable: some GPU operations (cuDNN picks its
    algorithms, and a few kernels add numbers in varying order; see
    ``torch.use_deterministic_algorithms``), different PyTorch versions or
    hardware, ``DataLoader`` worker processes, and NumPy ``Generator`` objects
    you create yourself without a seed.

    Example:
        >>> seed_everything(0)
        >>> a = torch.rand(2)
        >>> seed_everything(0)
        >>> bool((torch.rand(2) == a).all())
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be a whole number, got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # NumPy only accepts seeds in 0 .. 2**32 - 1
    # torch.manual_seed seeds the CPU and every CUDA device too, so a separate
    # torch.cuda.manual_seed_all(seed) is not needed.
    torch.manual_seed(seed)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in evaluation mode for a ``with`` block, then restore every layer's mode.

    In evaluation mode dropout is switched off and batch normalization uses its
    running statistics instead of the batch's. Each layer gets back exactly the
    mode it had before, even if the block raises an error.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
        >>> with eval_mode(model):
        ...     model.training
        False
        >>> model.training
        True
    """
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, was_training in modes.items():
            module.training = was_training


# --------------------------------------------------------------------------
# Checking batches and scores
# --------------------------------------------------------------------------


def _use_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """Move the model to ``device`` if one is given; return the device to compute on."""
    if device is None:
        return model_device(model)
    device = torch.device(device)
    model.to(device)
    return device


def _split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpack one batch into (inputs, labels), with a clear error for anything else."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(
            "Each batch from the loader must be a pair (X, y) of inputs and labels; "
            f"got a {type(batch).__name__}"
            + (f" with {len(batch)} items." if isinstance(batch, (tuple, list)) else ".")
        )
    return batch[0], batch[1]


def _check_inputs(X: Any) -> None:
    """Inputs must be a floating-point tensor (normalized images, not raw uint8 pixels)."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"Inputs X must be a torch.Tensor, got {type(X).__name__}.")
    if not X.is_floating_point():
        raise TypeError(
            f"Inputs X must be floating point (e.g. torch.float32), got {X.dtype}. "
            "Raw images are uint8 (0..255): convert and normalize them first, e.g. "
            "X.float() / 255, or use cu.TensorLoader, which normalizes for you."
        )


def _check_labels(y: Any) -> torch.Tensor:
    """Labels must be a 1-D tensor of class indices; return them as int64."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"Labels y must be a torch.Tensor of class indices, got {type(y).__name__}.")
    if y.is_floating_point() or y.dtype == torch.bool or y.ndim != 1:
        raise TypeError(
            "Labels y must be a 1-D tensor of whole-number class indices (0, 1, 2, ...); "
            f"got dtype {y.dtype} and shape {tuple(y.shape)}."
        )
    return y.long()


def _check_scores(scores: Any, batch_size: int) -> None:
    """The model must give one row of class scores per example: a 2-D tensor."""
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(
            f"The model's output must be 2-D (batch size, number of classes); got {shape}. "
            "A convolutional model usually needs nn.Flatten() before its last nn.Linear layer."
        )
    if scores.shape[0] != batch_size:
        raise ValueError(
            f"The model gave {scores.shape[0]} rows of scores for a batch of {batch_size} inputs. "
            "Check any reshaping (x.view / x.reshape) in the model: keep the batch dimension first."
        )


def _check_label_range(y: torch.Tensor, num_outputs: int) -> None:
    """Every label must name one of the model's outputs: 0 .. num_outputs - 1."""
    if bool(((y < 0) | (y >= num_outputs)).any()):
        raise ValueError(
            f"Labels range from {int(y.min())} to {int(y.max())}, but the model outputs {num_outputs} "
            f"scores per image, so it only knows classes 0 .. {num_outputs - 1}. Make the last layer "
            "output as many scores as there are classes."
        )


def _check_loader(loader: Any, what: str) -> None:
    """Refuse things that are obviously not loaders, with a hint."""
    if isinstance(loader, torch.Tensor):
        raise TypeError(
            f"{what} needs a loader that yields (X, y) batches, not a single tensor. "
            "Wrap tensors with torch.utils.data.DataLoader(TensorDataset(X, y), batch_size=64)."
        )


def _empty_loader_error(what: str) -> ValueError:
    return ValueError(
        f"The loader given to {what} produced no batches. Is the data set empty? "
        "(A generator can be looped over only once: pass a list or a loader instead.)"
    )


def _learning_rate(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def _train_step(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    where: str,
) -> tuple[float, int]:
    """One gradient step on one batch; return (mean loss, number of correct predictions)."""
    scores = model(X)
    _check_scores(scores, len(y))
    _check_label_range(y, scores.shape[1])
    loss = loss_fn(scores, y)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        raise FloatingPointError(
            f"The loss became {loss_value} at {where}: training diverged. "
            f"Try a smaller learning rate (now lr={_learning_rate(optimizer):g}; try 10 times smaller). "
            "The weights may be broken now: create the model again before retraining."
        )
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    correct = int((scores.argmax(dim=1) == y).sum())
    return loss_value, correct


def _history_row(epoch: int, batch: int, examples: int, loss_sum: float, correct: int, count: int) -> dict:
    """One row of the history table: the means over the examples since the last row."""
    return {
        "epoch": epoch,
        "batch": batch,
        "examples": examples,
        "loss": loss_sum / count,
        "accuracy": correct / count,
    }


def _train_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    *,
    epoch: int,
    epochs: int,
    examples: int,
    log_every: int,
    progress: bool,
) -> tuple[list[dict], int]:
    """Train for one epoch; return its history rows and the total number of examples seen so far."""
    rows = []
    window_loss, window_correct, window_count = 0.0, 0, 0
    epoch_loss, epoch_correct, epoch_count = 0.0, 0, 0
    batch = 0
    with tqdm(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False) as bar:
        for batch, item in enumerate(bar, start=1):
            X, y = _split_batch(item)
            _check_inputs(X)
            X, y = X.to(device), _check_labels(y).to(device)
            where = f"epoch {epoch}, batch {batch}"
            loss, correct = _train_step(model, X, y, optimizer, loss_fn, where)
            examples += len(y)
            window_loss += loss * len(y)
            window_correct += correct
            window_count += len(y)
            epoch_loss += loss * len(y)
            epoch_correct += correct
            epoch_count += len(y)
            if batch % log_every == 0:
                rows.append(_history_row(epoch, batch, examples, window_loss, window_correct, window_count))
                bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}", accuracy=f"{rows[-1]['accuracy']:.1%}")
                window_loss, window_correct, window_count = 0.0, 0, 0
    if batch == 0:
        raise _empty_loader_error("train")
    if window_count > 0:
        rows.append(_history_row(epoch, batch, examples, window_loss, window_correct, window_count))
    print(f"epoch {epoch}/{epochs}: loss {epoch_loss / epoch_count:.4f}, train accuracy {epoch_correct / epoch_count:.1%}")
    return rows, examples


def train(
    model: nn.Module,
    loader: Iterable,
    *,
    epochs: int = 1,
    lr: float = 1e-3,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: nn.Module | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    log_every: int = 50,
) -> pd.DataFrame:
    """Train a classifier with mini-batch gradient descent and return its history.

    Args:
        model: any ``nn.Module`` that maps a batch of inputs to a batch of class
            scores (shape: batch size x number of classes).
        loader: gives ``(X, y)`` batches: float inputs and int64 class indices.
        epochs: passes over the training data (capped at 1 in fast mode,
            ``COURSE_FAST=1``; a line is printed when that happens).
        lr: learning rate of the default optimizer, Adam.
        optimizer: your own optimizer instead, e.g. ``torch.optim.SGD(model.parameters(), lr=0.1)``
            (``lr`` is then ignored).
        loss_fn: defaults to ``nn.CrossEntropyLoss()`` (softmax + negative log-likelihood).
        device: move the model there first; by default the model stays where it
            is and each batch is moved to the model's device.
        progress: show a progress bar per epoch (``False`` hides it).
        log_every: add a history row every this many batches (and at the end of each epoch).

    Returns:
        A DataFrame with one row per ``log_every`` batches and at each epoch's end.
        Columns: ``epoch`` (1, 2, ...), ``batch`` (within the epoch, from 1),
        ``examples`` (training examples seen so far, all epochs together),
        ``loss`` and ``accuracy`` (0-1) averaged over the batches since the previous row.
        The model is left in training mode.

    Example:
        >>> seed_everything(0)                                       # doctest: +SKIP
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> history = train(model, train_loader, epochs=3, lr=1e-3)  # doctest: +SKIP
        epoch 1/3: loss 1.9123, train accuracy 33.0%
        ...
        >>> fig = cu.plot_history(history)                           # doctest: +SKIP
    """
    if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every must be a whole number of batches, at least 1; got {log_every!r}.")
    capped = num_epochs(epochs)
    if capped < epochs:
        print(f"Fast mode (COURSE_FAST is set): training {capped} epoch instead of {epochs}.")
    device = _use_device(model, device)
    if optimizer is None:
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("The model has no trainable parameters, so there is nothing to train.")
        optimizer = torch.optim.Adam(trainable, lr=lr)
    if loss_fn is None:
        loss_fn = nn.CrossEntropyLoss()
    _check_loader(loader, "train")
    model.train()
    rows: list[dict] = []
    examples = 0
    for epoch in range(1, capped + 1):
        epoch_rows, examples = _train_epoch(
            model, loader, optimizer, loss_fn, device,
            epoch=epoch, epochs=capped, examples=examples, log_every=log_every, progress=progress,
        )
        rows.extend(epoch_rows)
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


# --------------------------------------------------------------------------
# Predicting and evaluating
# --------------------------------------------------------------------------


def predict(
    model: nn.Module,
    data: Iterable | torch.Tensor,
    *,
    device: str | torch.device | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """Predicted class indices (an int64 tensor on the CPU) for every input.

    ``data`` is either a loader of ``(X, y)`` batches (the labels are ignored)
    or a float tensor of inputs, which is cut into batches of ``batch_size``.
    The model runs in evaluation mode without gradients; its previous mode is
    restored afterwards.

    Example:
        >>> model = nn.Linear(4, 3)
        >>> predict(model, torch.zeros(5, 4)).shape
        torch.Size([5])
    """
    device = _use_device(model, device)
    if isinstance(data, torch.Tensor):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number, at least 1; got {batch_size!r}.")
        if len(data) == 0:
            raise ValueError("predict got an empty tensor: there is nothing to predict.")
        batches: Iterable = torch.split(data, batch_size)
    else:
        batches = (_split_batch(item)[0] for item in data)
    predictions = []
    with eval_mode(model), torch.no_grad():
        for X in batches:
            _check_inputs(X)
            scores = model(X.to(device))
            _check_scores(scores, len(X))
            predictions.append(scores.argmax(dim=1).cpu())
    if not predictions:
        raise _empty_loader_error("predict")
    return torch.cat(predictions)


def accuracy(predictions: Any, labels: Any) -> float:
    """The share (0-1) of predictions that equal the labels.

    Both are 1-D sequences of class indices (tensors, NumPy arrays or lists).

    Example:
        >>> accuracy(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]))
        0.75
    """
    predictions, labels = _as_index_arrays(predictions, labels)
    return float((predictions == labels).mean())


def _as_index_arrays(predictions: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Turn predictions and labels into 1-D NumPy int arrays of the same, non-zero length."""
    if isinstance(predictions, torch.Tensor):
        predictions = predictions.detach().cpu().numpy()
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim != 1 or labels.ndim != 1:
        raise ValueError(
            "Predictions and labels must be 1-D sequences of class indices; got shapes "
            f"{predictions.shape} and {labels.shape}. (From scores, take scores.argmax(dim=1).)"
        )
    if len(predictions) != len(labels):
        raise ValueError(f"There are {len(predictions)} predictions but {len(labels)} labels; they must match.")
    if len(labels) == 0:
        raise ValueError("Predictions and labels are empty: there is nothing to compare.")
    return predictions.astype(np.int64), labels.astype(np.int64)


def confusion_matrix(labels: Any, predictions: Any, num_classes: int) -> np.ndarray:
    """Count how often each true class (row) was predicted as each class (column).

    The diagonal holds the correct predictions; ``matrix[3, 5]`` counts images
    of class 3 that the model called class 5.

    Example:
        >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2)
        array([[1, 1],
               [0, 2]])
    """
    predictions, labels = _as_index_arrays(predictions, labels)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.min() < 0 or values.max() >= num_classes:
            raise ValueError(
                f"{name} must lie in 0 .. {num_classes - 1} for {num_classes} classes; "
                f"got values from {values.min()} to {values.max()}."
            )
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_accuracy(labels: Any, predictions: Any, classes: Iterable[str]) -> pd.DataFrame:
    """A table with one row per class: correct, total and accuracy (NaN when a class has no images).

    Example:
        >>> per_class_accuracy([0, 0, 1], [0, 1, 1], ["cat", "dog", "frog"])
              correct  total  accuracy
        class
        cat         1      2       0.5
        dog         1      1       1.0
        frog        0      0       NaN
    """
    classes = [str(name) for name in classes]
    matrix = confusion_matrix(labels, predictions, len(classes))
    correct = np.diag(matrix)
    total = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, correct / np.maximum(total, 1), np.nan)
    table = pd.DataFrame({"correct": correct, "total": total, "accuracy": share}, index=classes)
    table.index.name = "class"
    return table


@dataclass(eq=False)
class Evaluation:
    """The result of ``evaluate``: overall numbers plus everything needed to dig deeper.

    Attributes:
        accuracy: share of correct predictions (0-1).
        loss: mean loss per image.
        predictions, labels: int64 tensors on the CPU, one entry per image.
        classes: the class names, in label order.

    Example:
        >>> result = Evaluation(0.5, 0.7, torch.tensor([0, 1]), torch.tensor([0, 0]), ("cat", "dog"))
        >>> result
        Evaluation(accuracy=50.0% on 2 images, loss=0.7)
        >>> result.most_confused()
          true predicted  count
        0  cat       dog      1
    """

    accuracy: float
    loss: float
    predictions: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    @property
    def per_class(self) -> pd.DataFrame:
        """Correct, total and accuracy for each class (see ``per_class_accuracy``)."""
        return per_class_accuracy(self.labels, self.predictions, self.classes)

    @property
    def confusion(self) -> np.ndarray:
        """The confusion matrix: rows are true classes, columns predicted classes."""
        return confusion_matrix(self.labels, self.predictions, len(self.classes))

    def most_confused(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` most frequent mistakes as a table (true, predicted, count), largest first."""
        matrix = self.confusion.copy()
        np.fill_diagonal(matrix, 0)
        true, predicted = np.nonzero(matrix)
        table = pd.DataFrame({
            "true": [self.classes[i] for i in true],
            "predicted": [self.classes[j] for j in predicted],
            "count": matrix[true, predicted],
        })
        table = table.sort_values("count", ascending=False, kind="stable")
        return table.head(k).reset_index(drop=True)

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.1%} on {len(self.labels):,} images, loss={self.loss:.3g})"


def _class_names(loader: Any, num_outputs: int) -> tuple[str, ...]:
    """The loader's class names if it has them, else "0", "1", ... for each output of the model."""
    names = getattr(loader, "classes", None)
    if names is None:  # a torch DataLoader over a torchvision data set keeps them on .dataset
        names = getattr(getattr(loader, "dataset", None), "classes", None)
    if names is None:
        return tuple(str(i) for i in range(num_outputs))
    names = tuple(str(name) for name in names)
    if len(names) != num_outputs:
        raise ValueError(
            f"The loader has {len(names)} classes but the model outputs {num_outputs} scores per image. "
            "The model's last layer should have one output per class."
        )
    return names


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    device: str | torch.device | None = None,
    loss_fn: nn.Module | None = None,
) -> Evaluation:
    """Measure a classifier on a whole loader: accuracy, loss, and all predictions.

    The model runs in evaluation mode without gradients; each layer gets its
    previous mode back afterwards. Class names come from ``loader.classes``
    when the loader has them.

    Example:
        >>> result = evaluate(model, test_loader)      # doctest: +SKIP
        >>> result                                      # doctest: +SKIP
        Evaluation(accuracy=55.3% on 10,000 images, loss=1.27)
        >>> result.per_class                            # doctest: +SKIP
        >>> fig = cu.plot_confusion_matrix(result)      # doctest: +SKIP
    """
    device = _use_device(model, device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    _check_loader(loader, "evaluate")
    loss_sum, predictions, labels, width = 0.0, [], [], 0
    with eval_mode(model), torch.no_grad():
        for item in loader:
            X, y = _split_batch(item)
            _check_inputs(X)
            X, y = X.to(device), _check_labels(y).to(device)
            scores = model(X)
            _check_scores(scores, len(y))
            _check_label_range(y, scores.shape[1])
            loss_sum += loss_fn(scores, y).item() * len(y)
            predictions.append(scores.argmax(dim=1).cpu())
            labels.append(y.cpu())
            width = scores.shape[1]
    if not labels:
        raise _empty_loader_error("evaluate")
    predictions, labels = torch.cat(predictions), torch.cat(labels)
    return Evaluation(
        accuracy=accuracy(predictions, labels),
        loss=loss_sum / len(labels),
        predictions=predictions,
        labels=labels,
        classes=_class_names(loader, width),
    )
