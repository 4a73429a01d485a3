"""Where to compute, and how to make a run repeatable: devices, seeds, evaluation mode.

- ``get_device()`` picks a CUDA GPU, else Apple's MPS, else the CPU;
- ``model_device(model)`` says where a model's weights are;
- ``seed_everything(0)`` seeds every random number generator we use;
- ``eval_mode(model)`` is a ``with`` block in which dropout is off and batch
  normalisation uses its running statistics; each layer's mode comes back afterwards.

Example:
    >>> import course_utils as cu                 # doctest: +SKIP
    >>> device = cu.get_device()                  # doctest: +SKIP
    >>> model = ConvNet().to(device)              # doctest: +SKIP
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from course_utils import checks


def available_devices() -> list[str]:
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
    get a clear error when that device is not available on this machine. Every
    lecture's first cell calls it; lecture 07 shows what a GPU buys (section 7).

    Example:
        >>> get_device()                     # doctest: +SKIP
        device(type='cuda')
        >>> get_device("cpu")
        device(type='cpu')
    """
    from course_utils import checks

    available = available_devices()
    if prefer is None:
        return torch.device(available[0])
    checks.arguments("get_device", prefer=(prefer, checks.device))    # "gpu": did you mean 'cuda'?
    device = torch.device(prefer)
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


#: How many times ``seed_everything`` has run in this process (see ``seedings``).
_SEEDINGS = 0


def seedings() -> int:
    """How many times ``seed_everything`` has run: a ``TensorLoader`` starts its passes again after each.

    A ``torch.utils.data.DataLoader`` draws each pass's order from torch's global
    generator, so re-running a cell that calls ``cu.seed_everything(0)`` and then
    trains repeats its result. A ``TensorLoader`` made in an earlier cell does the
    same because it numbers its passes from the last ``seed_everything`` call.
    """
    return _SEEDINGS


def seed_everything(seed: int = 0) -> None:
    """Seed every random number generator we use, so that a run can be repeated.

    Seeds Python's ``random``, NumPy's global generator and PyTorch (the CPU
    generator and every CUDA device). Call it once at the top of a notebook and
    again right before creating a model whose training you want to repeat:
    weight initialisation, shuffling and dropout then give the same numbers. Every
    ``cu.TensorLoader`` starts again from its first order (pass 0), also one made
    in an earlier cell, so a cell that seeds and then trains repeats its result
    when you run it again.

    What it does NOT make repeatable: some GPU operations (cuDNN picks its
    algorithms, and a few kernels add numbers in varying order; see
    ``torch.use_deterministic_algorithms``), different PyTorch versions or
    hardware, ``DataLoader`` worker processes, and NumPy ``Generator`` objects
    you create yourself without a seed. Every lecture's first cell calls it; lecture 01's
    set-up says why (so that runs repeat).

    Example:
        >>> seed_everything(0)
        >>> a = torch.rand(2)
        >>> seed_everything(0)
        >>> bool((torch.rand(2) == a).all())
        True
    """
    global _SEEDINGS
    checks.seed(seed, "seed", "seed_everything")
    seed = int(seed)              # (a NumPy integer such as np.int64(0) too: Python's random takes only int)
    _SEEDINGS += 1                # every TensorLoader starts its passes again (see seedings)
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



def use_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """Move the model to ``device`` if one is given; return the device to compute on.

    ``device=None`` leaves the model where it is (the device of its weights).
    """
    if device is None:
        return model_device(model)
    device = get_device(device)   # checks the name and that the device exists here
    model.to(device)
    return device
