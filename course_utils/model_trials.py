"""Running a student's model once to look at it -- and leaving it exactly as it was.

Two helpers run a model the student made, only to learn something about it: the live
notebooks' self-check (``cu.check``: what does the model output for a batch of zeros?) and
the shape-error explanation (``course_utils.shape_errors``: which layer does not fit?).
Neither may change what the student made. :func:`left_as_found` runs the model in
evaluation mode without gradients, and afterwards gives every layer back its own training
mode (a layer the student froze in eval mode stays in eval mode), keeps torch's random
state (the CPU's and the model's GPU's), and moves nothing to another device.
:func:`can_run` says when even that would change something: hooks would fire, lazy
layers would fix their sizes.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    >>> _ = model[1].eval()                                   # the student froze the dropout layer
    >>> with left_as_found(model):
    ...     output = model(torch.zeros(2, 4))
    >>> model.training, model[1].training, tuple(output.shape), output.requires_grad
    (True, False, (2, 3), False)
    >>> layer_text(nn.Conv2d(3, 100, 5, padding=2))
    'Conv2d(3 → 100, kernel 5×5, padding 2)'
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import nn


@contextlib.contextmanager
def left_as_found(model: nn.Module) -> Iterator[None]:
    """Inside: evaluation mode, no gradients. After: every layer's own mode back, torch's random state as before."""
    modes = [(module, module.training) for module in model.modules()]
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            yield
    finally:
        for module, training in modes:
            module.training = training


def has_hooks(model: nn.Module) -> bool:
    """True when running ``model`` would call hooks: its own, or ones registered for every module."""
    modules = nn.modules.module
    if getattr(modules, "_global_forward_hooks", None) or getattr(modules, "_global_forward_pre_hooks", None):
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def is_unfinished(model: nn.Module) -> bool:
    """True for a model with lazy layers whose sizes are not known yet (running it would fix them)."""
    return any(callable(getattr(m, "has_uninitialized_params", None)) and m.has_uninitialized_params()
               for m in model.modules())


def can_run(model: nn.Module) -> bool:
    """Whether a helper may run the student's model just to look: not when hooks would fire or lazy weights appear."""
    return not has_hooks(model) and not is_unfinished(model)


def layer_text(module: Any) -> str:
    """``Linear(3072 → 10)``, ``Conv2d(3 → 100, kernel 5×5)``, or the class and its parameters' shapes."""
    name = type(module).__name__
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return f"{name}({module.in_features} → {module.out_features})"
    if hasattr(module, "in_channels") and hasattr(module, "kernel_size"):
        kernel = "×".join(str(k) for k in module.kernel_size)
        extra = "".join(
            f", {label} {value if len(set(value)) > 1 else value[0]}"
            for label, value, default in (("stride", module.stride, 1), ("padding", getattr(module, "padding", 0), 0))
            if isinstance(value, tuple) and any(v != default for v in value)
        )
        return f"{name}({module.in_channels} → {module.out_channels}, kernel {kernel}{extra})"
    shapes = ", ".join("×".join(str(s) for s in p.shape) for p in module.parameters(recurse=False))
    return f"{name}({shapes})"
