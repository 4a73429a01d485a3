"""Checks that turn common mistakes into clear messages before (or while) a model trains.

Each function looks at one thing a student passes to ``train``, ``evaluate`` or
``predict`` — the model, the loader, one batch, the scores the model returns —
and raises a ``TypeError`` or ``ValueError`` that names the argument, says what
it got, what was expected, and the likely fix. They run before any training
step, so a wrong argument never leaves a half-trained model behind.

Example:
    >>> check_positive_int(0, "log_every")
    Traceback (most recent call last):
    ...
    ValueError: log_every must be a whole number of at least 1, got 0.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


# --------------------------------------------------------------------------
# Plain arguments
# --------------------------------------------------------------------------


def check_positive_int(value: Any, name: str) -> int:
    """``value`` must be a whole number >= 1 (not a bool); return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}.")
    return value


def check_learning_rate(lr: Any) -> float:
    """A learning rate is a positive, finite number such as 1e-3."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr (the learning rate) must be a positive number such as 1e-3, got {lr!r}.")
    return float(lr)


def check_choice(value: Any, name: str, choices: tuple) -> Any:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}.")
    return value


def check_flag(value: Any, name: str) -> bool:
    """``value`` must be True or False."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return value


# --------------------------------------------------------------------------
# Models, optimizers, loss functions
# --------------------------------------------------------------------------


def check_model(model: Any, what: str) -> nn.Module:
    """The model must be an ``nn.Module`` instance (a common slip: passing the class)."""
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"{what} needs a model, but got the class {model.__name__} itself; "
                        f"create one first: model = {model.__name__}()")
    if not isinstance(model, nn.Module):
        raise TypeError(f"{what} needs a model (a torch.nn.Module) as its first argument, "
                        f"got {type(model).__name__}.")
    return model


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters that training would change; a clear error when there are none."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("The model has no trainable parameters, so there is nothing to train. "
                         "(Did you freeze them all with requires_grad_(False)?)")
    return trainable


def check_optimizer(optimizer: Any, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer must update THIS model's parameters.

    The classic notebook bug: re-create the model (``model = ConvNet()``) but keep the
    optimizer made for the old one. It then steps weights nobody uses and the new
    model never learns.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim optimizer such as "
                        f"torch.optim.Adam(model.parameters(), lr=1e-3), got {type(optimizer).__name__}.")
    model_parameters = {id(p) for p in model.parameters()}
    optimized = [p for group in optimizer.param_groups for p in group["params"]]
    if optimized and not any(id(p) in model_parameters for p in optimized):
        raise ValueError("The optimizer updates none of this model's parameters: it was made for another "
                         "model (did you create the model again after the optimizer?). Create the optimizer "
                         "after the model: optimizer = torch.optim.Adam(model.parameters(), lr=...)")
    return optimizer


def check_scheduler(scheduler: Any, optimizer: torch.optim.Optimizer | None) -> Any:
    """A learning-rate scheduler must have ``step()`` and drive the optimizer that ``train`` uses."""
    if scheduler is None:
        return None
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must be a learning-rate scheduler from torch.optim.lr_scheduler "
                        f"(with a step() method), got {type(scheduler).__name__}.")
    if optimizer is None:
        raise ValueError("A scheduler changes the learning rate of one optimizer: pass that optimizer too, "
                         "e.g. train(..., optimizer=optimizer, scheduler=OneCycleLR(optimizer, ...)).")
    if getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("The scheduler was created for a different optimizer than the one passed to train; "
                         "create it with the same optimizer: OneCycleLR(optimizer, ...).")
    return scheduler


def check_loss_fn(loss_fn: Any) -> Any:
    """A loss function is called as ``loss_fn(scores, labels)``."""
    if isinstance(loss_fn, type):
        raise TypeError(f"loss_fn must be a loss function, but got the class {loss_fn.__name__}; "
                        f"create one: loss_fn={loss_fn.__name__}()")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(scores, labels), such as "
                        f"nn.CrossEntropyLoss(); got {type(loss_fn).__name__}.")
    return loss_fn


# --------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------


def check_loader(loader: Any, what: str, name: str = "loader", *, passes: int = 1) -> None:
    """Refuse things that are not loaders of ``(X, y)`` batches, with a hint.

    ``passes`` is how many times the caller will loop over the loader (epochs): a
    generator or another one-shot iterator can be looped over only once.
    """
    if isinstance(loader, torch.Tensor):
        raise TypeError(f"{what} needs a loader that yields (X, y) batches as {name}, not a single tensor. "
                        "Use cu.TensorLoader, or wrap tensors: "
                        "torch.utils.data.DataLoader(TensorDataset(X, y), batch_size=64).")
    if type(loader).__name__ == "ImageSet":
        raise TypeError(f"{what} needs a loader of mini-batches as {name}, not a whole ImageSet; wrap it: "
                        f"cu.TensorLoader(data, batch_size=64, shuffle=True).")
    if (isinstance(loader, (tuple, list)) and len(loader) == 2
            and all(isinstance(part, torch.Tensor) for part in loader)
            and loader[0].ndim >= 2 and loader[1].ndim == 1):
        raise TypeError(f"{what} got one batch (X, y) as {name}, not a loader of batches. "
                        f"Pass the loader itself, or a list with that one batch: [(X, y)].")
    if not isinstance(loader, Iterable):
        raise TypeError(f"{what} needs a loader that yields (X, y) batches as {name}; "
                        f"got {type(loader).__name__}, which cannot be looped over.")
    if passes > 1 and iter(loader) is loader:
        raise ValueError(f"{name} is a generator (or another iterator), which can be looped over only once, "
                         f"but {what} would loop over it {passes} times (one per epoch). Pass a list, a "
                         f"cu.TensorLoader or a DataLoader instead.")


def empty_loader_error(what: str) -> ValueError:
    """The error for a loader that gave no batches at all."""
    return ValueError(
        f"The loader given to {what} produced no batches. Is the data set empty? "
        "(A generator can be looped over only once: pass a list or a loader instead.)"
    )


def loader_classes(loader: Any) -> tuple[str, ...] | None:
    """The loader's class names if it knows them (``.classes``, or ``.dataset.classes``), else None."""
    names = getattr(loader, "classes", None)
    if names is None:   # a torch DataLoader over a torchvision data set keeps them on .dataset
        names = getattr(getattr(loader, "dataset", None), "classes", None)
    return None if names is None else tuple(str(name) for name in names)


# --------------------------------------------------------------------------
# One batch and the model's scores
# --------------------------------------------------------------------------


def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpack one batch into (inputs, labels), with a clear error for anything else."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(
            "Each batch from the loader must be a pair (X, y) of inputs and labels; "
            f"got a {type(batch).__name__}"
            + (f" with {len(batch)} items." if isinstance(batch, (tuple, list)) else ".")
        )
    return batch[0], batch[1]


def check_inputs(X: Any) -> None:
    """Inputs must be a floating-point tensor (normalized images, not raw uint8 pixels)."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"Inputs X must be a torch.Tensor, got {type(X).__name__}.")
    if not X.is_floating_point():
        raise TypeError(
            f"Inputs X must be floating point (e.g. torch.float32), got {X.dtype}. "
            "Raw images are uint8 (0..255): convert and normalize them first, e.g. "
            "X.float() / 255, or use cu.TensorLoader, which normalizes for you."
        )


def check_labels(y: Any) -> torch.Tensor:
    """Labels must be a 1-D tensor of class indices; return them as int64."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"Labels y must be a torch.Tensor of class indices, got {type(y).__name__}.")
    if y.is_floating_point() or y.dtype == torch.bool or y.ndim != 1:
        raise TypeError(
            "Labels y must be a 1-D tensor of whole-number class indices (0, 1, 2, ...); "
            f"got dtype {y.dtype} and shape {tuple(y.shape)}."
        )
    return y.long()


def check_scores(scores: Any, batch_size: int) -> None:
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


def check_label_range(y: torch.Tensor, num_outputs: int) -> None:
    """Every label must name one of the model's outputs: 0 .. num_outputs - 1.

    This reads the labels' smallest and largest value back from the device, so
    on a GPU it waits for the GPU: ``train`` calls it on the first batch of each
    epoch only (and on every batch on the CPU, where it costs nothing extra).
    """
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_outputs:
        raise ValueError(
            f"Labels range from {low} to {high}, but the model outputs {num_outputs} "
            f"scores per image, so it only knows classes 0 .. {num_outputs - 1}. Make the last layer "
            "output as many scores as there are classes."
        )


def check_outputs_match_classes(num_outputs: int, classes: tuple[str, ...] | None, name: str = "loader") -> None:
    """A classifier needs exactly one output per class of the data (when the loader names its classes).

    Too many outputs train silently (the extra ones are only ever pushed down) and
    make the model look as if it could answer classes that do not exist.
    """
    if classes is not None and num_outputs != len(classes):
        raise ValueError(
            f"The model outputs {num_outputs} scores per image, but the {name} has {len(classes)} classes "
            f"({', '.join(classes[:4])}{', ...' if len(classes) > 4 else ''}). Give the last layer one output "
            f"per class: nn.Linear(..., {len(classes)})."
        )
