"""Measuring a trained classifier: predictions, accuracy, per-class tables, confusion matrices.

- ``evaluate(model, loader)`` runs the model over a whole loader in evaluation
  mode and returns an ``Evaluation``: accuracy, mean loss, and every prediction,
  so you can dig deeper (``.per_class``, ``.confusion``, ``.most_confused()``);
- ``predict(model, X)`` gives the predicted class of each input;
- ``accuracy``, ``confusion_matrix`` and ``per_class_accuracy`` work on plain
  sequences of labels and predictions.

Example:
    >>> import course_utils as cu                        # doctest: +SKIP
    >>> result = cu.evaluate(model, test_loader)         # doctest: +SKIP
    >>> result                                           # doctest: +SKIP
    Evaluation(accuracy=61.6% on 10,000 images, loss=1.08)
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from course_utils import checks
from course_utils.devices import eval_mode, use_device
from course_utils.speed import Settings, has_conv2d


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
    restored afterwards. On a CPU, convolutional models get big batches in
    slices (see ``CPU_SLICE``), so hooks on the model (``cu.capture_activations``)
    see several forward passes: to record one batch, call the model yourself.
    Lecture 03 takes the class with the largest score by hand, ``scores.argmax(dim=1)``
    (section 3); this does it for a whole loader or tensor.

    Example:
        >>> model = nn.Linear(4, 3)
        >>> predict(model, torch.zeros(5, 4)).shape
        torch.Size([5])
    """
    checks.arguments("predict", model=(model, checks.model), batch_size=(batch_size, checks.positive_int))
    if isinstance(data, torch.Tensor):
        checks.inputs(data, "data", "predict")
        if len(data) == 0:
            raise ValueError("predict got an empty tensor: there is nothing to predict.")
        batches: Iterable = torch.split(data, batch_size)
    else:
        checks.loader(data, "data", "predict")
        batches = (checks.split_batch(item)[0] for item in data)
    device = use_device(model, device)
    predictions = []
    with eval_mode(model), torch.no_grad():
        for X in batches:
            checks.check_inputs(X)
            scores = _scores(model, X.to(device), tta=False)
            predictions.append(scores.argmax(dim=1))
    if not predictions:
        raise checks.empty_loader_error("predict")
    return torch.cat(predictions).cpu()


def accuracy(predictions: Any, labels: Any) -> float:
    """The share (0-1) of predictions that equal the labels.

    Both are 1-D sequences of class indices (tensors, NumPy arrays or lists).
    Lecture 01 computes it by hand for a smaller benchmark: ``correct = predictions == labels``,
    then ``correct[keep].float().mean()`` (section 3).

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
    of class 3 that the model called class 5. Lecture 03 introduces it (section 8).

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

    Lecture 01 reads this table as ``evaluation.per_class`` and checks by hand that the
    overall accuracy is its weighted average (section 3).

    Example:
        >>> per_class_accuracy([0, 0, 1], [0, 1, 1], ["cat", "dog", "frog"])   # doctest: +NORMALIZE_WHITESPACE
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


#: On a CPU, a model with 2-D convolutions sees each evaluation batch in slices of at most
#: this many inputs. Without gradients a big batch looks free, but every layer then writes and
#: reads back far more memory than the processor's cache holds (the lecture ConvNet's first layer
#: makes 210 MB of outputs for 512 CIFAR-10 images, 26 MB for 64); in slices, what a layer has just
#: written is more often still in the cache when the next layer reads it. The measurements are in
#: docs/measurements.md. Fully connected models have small activations, so they get whole batches;
#: so does a GPU. The scores are the same up to rounding.
CPU_SLICE = 64


def _forward(model: nn.Module, X: torch.Tensor, tta: bool) -> torch.Tensor:
    """The model's checked scores for ``X``, or with ``tta`` the mean of those for the images and their mirror images."""
    scores = model(X)
    checks.check_scores(scores, len(X))
    if tta:
        scores = (scores + model(X.flip(dims=[-1]))) / 2
    return scores


def _scores(model: nn.Module, X: torch.Tensor, tta: bool) -> torch.Tensor:
    """The scores for a whole batch; slice by slice for a convolutional model on a CPU (see ``CPU_SLICE``)."""
    if X.device.type != "cpu" or len(X) <= CPU_SLICE or not has_conv2d(model):
        return _forward(model, X, tta)
    parts = []
    for part in X.split(CPU_SLICE):
        try:
            parts.append(_forward(model, part, tta))
        except ValueError as error:
            raise ValueError(f"{error} (On a CPU, evaluate and predict give a convolutional model each batch "
                             f"in slices of at most {CPU_SLICE} images: this was a slice of a batch of "
                             f"{len(X)}.)") from None
    return torch.cat(parts)


def measure(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    loss_fn: Any,
    settings: Settings | None = None,
    name: str = "loader",
    tta: bool = False,
) -> Evaluation:
    """The loop behind ``evaluate`` (``train`` calls it for validation data with its own settings).

    The model runs in evaluation mode without gradients; numbers are added up on
    the device and read back once at the end.
    """
    loss_sum = torch.zeros((), device=device)
    predictions, labels, width = [], [], 0
    with eval_mode(model), torch.no_grad():
        for item in loader:
            X, y = checks.split_batch(item)
            checks.check_inputs(X)
            X, y = X.to(device, non_blocking=True), checks.check_labels(y).to(device, non_blocking=True)
            if settings is not None:
                X = settings.prepare(X)
            with settings.autocast() if settings is not None else contextlib.nullcontext():
                scores = _scores(model, X, tta)
                checks.check_scores(scores, len(y))   # one row per label, too
                if width == 0:
                    checks.check_label_range(y, scores.shape[1])
                loss_sum += loss_fn(scores.float(), y) * len(y)
            predictions.append(scores.argmax(dim=1))
            labels.append(y)
            width = scores.shape[1]
    if not labels:
        raise checks.empty_loader_error("evaluate")
    predictions, labels = torch.cat(predictions).cpu(), torch.cat(labels).cpu()
    checks.check_label_range(labels, width)
    classes = checks.loader_classes(loader)
    checks.check_outputs_match_classes(width, classes, name)
    return Evaluation(
        accuracy=accuracy(predictions, labels),
        loss=float(loss_sum) / len(labels),
        predictions=predictions,
        labels=labels,
        classes=classes if classes is not None else tuple(str(i) for i in range(width)),
    )


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    device: str | torch.device | None = None,
    loss_fn: nn.Module | None = None,
    tta: bool = False,
) -> Evaluation:
    """Measure a classifier on a whole loader: accuracy, loss, and all predictions.

    Lecture 03 writes this loop by hand as ``evaluate_accuracy`` (section 7): evaluation
    mode, ``torch.no_grad()``, the ``argmax`` of the scores, count the hits. ``evaluate``
    also keeps every prediction, so that you can dig deeper (section 8).

    The model runs in evaluation mode without gradients; each layer gets its
    previous mode back afterwards. On a CPU a model with convolutions gets each
    batch in slices of ``CPU_SLICE`` images, which is faster for big batches and
    gives the same results up to rounding. Class names come from ``loader.classes``
    when the loader has them (and the model must then have one output per class).

    ``tta=True`` adds **test-time augmentation** with horizontal flips: each image's
    scores are the mean of the scores for the image and for its mirror image. It
    helps when mirror images are as likely as the originals (CIFAR-10 photos) and
    the model was trained with random flips; it costs a second forward pass.

    Example:
        >>> result = evaluate(model, test_loader)      # doctest: +SKIP
        >>> result                                      # doctest: +SKIP
        Evaluation(accuracy=55.3% on 10,000 images, loss=1.27)
        >>> result.per_class                            # doctest: +SKIP
        >>> fig = cu.plot_confusion_matrix(result)      # doctest: +SKIP
    """
    checks.arguments("evaluate", model=(model, checks.model), loader=(loader, checks.loader),
                     loss_fn=(loss_fn, checks.optional(checks.loss_fn)), tta=(tta, checks.flag))
    device = use_device(model, device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    return measure(model, loader, device, loss_fn, tta=tta)
