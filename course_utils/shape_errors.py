"""Shape errors explained in the lecture's words: which layer, what it expects, what it got.

When the layers of a model do not fit together, torch says something like
``mat1 and mat2 shapes cannot be multiplied (2x80 and 320x80)`` from deep inside
``F.linear``. What a student needs to read instead is::

    your first Linear layer `fc1` (Linear(320 → 80)) expects 320 numbers per image, but it gets 80:
    the flattened output of `pool` (20 channels × 2 × 2 = 80). Make it nn.Linear(80, 80), or change
    the layers before it.

:func:`explain_shape_error` finds that out by running the model once more on a small example
batch, with a note taken at every layer (the shape each one gets and gives); the model is
left exactly as it was (training modes, gradients, random state, devices). It knows
``Linear``, the convolutions, the pools and batch normalisation; for any other layer, and
for a failing step of ``forward()`` between layers, it names the last layer that worked
and what it gave.

Use it where a model first meets data::

    from course_utils import shape_errors

    with shape_errors.explained(model, X[:2]):       # the first batch's inputs
        scores = model(X)

or, with an error already caught, ``message = shape_errors.explain_shape_error(model, X[:2], error)``.

Example:
    >>> import torch
    >>> from torch import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = nn.Conv2d(3, 20, 5)
    ...         self.pool = nn.MaxPool2d(2)
    ...         self.fc = nn.Linear(320, 10)
    ...     def forward(self, x):
    ...         return self.fc(torch.flatten(self.pool(self.conv(x)), 1))
    >>> print(explain_shape_error(Net(), torch.zeros(2, 3, 32, 32)))
    your first Linear layer `fc` (Linear(320 → 10)) expects 320 numbers per image, but it gets 3920: the flattened output of `pool` (20 channels × 14 × 14 = 3920). Make it nn.Linear(3920, 10), or change the layers before it.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch import nn

from course_utils.model_trials import can_run, layer_text, left_as_found

_SHAPE_WORDS = re.compile(
    r"shapes cannot be multiplied|size mismatch|to have \d+ channels|Kernel size can't be greater|"
    r"Output size is too small|should contain \d+ elements|is invalid for input of size|must match the size of|"
    r"Expected \d+D|expected \d+D|Sizes of tensors must match|input\.size\(-1\) must be equal|"
    r"expected input with shape|Expected input batch_size|number of features|not enough values|"
    r"size of tensor a|doesn't match the broadcast shape",
    re.IGNORECASE,
)

_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]


class ModelShapeError(RuntimeError):
    """The layers of a model do not fit together (or do not fit the images): explained in words."""


def looks_like_shape_error(error: BaseException) -> bool:
    """True for the errors torch raises when tensor shapes do not fit a layer or an operation.

    Example:
        >>> looks_like_shape_error(RuntimeError("mat1 and mat2 shapes cannot be multiplied (2x80 and 320x10)"))
        True
        >>> looks_like_shape_error(RuntimeError("CUDA out of memory"))
        False
    """
    return isinstance(error, (RuntimeError, ValueError)) and bool(_SHAPE_WORDS.search(str(error)))


@dataclass
class LayerCall:
    """One layer run during the trace: its name in the model, what it got and (if it finished) gave."""

    name: str
    module: nn.Module
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None = None
    finished: bool = False


@dataclass
class Trace:
    """What :func:`trace_layers` saw: the layers in the order they ran, and the error (None: it ran)."""

    calls: list[LayerCall] = field(default_factory=list)
    error: BaseException | None = None


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return tuple(value[0].shape)
    return None


def trace_layers(model: nn.Module, example: torch.Tensor) -> Trace:
    """Run ``model`` once on ``example`` and note the shape every layer (a module without sub-modules) got and gave.

    The model is left exactly as it was: evaluation mode while tracing (batch normalisation
    keeps its statistics), no gradients, the random state kept, the notes removed again.
    """
    trace = Trace()
    names = {module: name for name, module in model.named_modules()}
    handles = []

    def before(module: nn.Module, inputs: tuple) -> None:
        trace.calls.append(LayerCall(names.get(module, type(module).__name__), module, _shape(inputs)))

    def after(module: nn.Module, inputs: tuple, output: Any) -> None:
        for call in reversed(trace.calls):
            if call.module is module and not call.finished:
                call.output_shape, call.finished = _shape(output), True
                break

    leaves = [module for module in model.modules() if not list(module.children())] or [model]
    try:
        for module in leaves:
            handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
        with left_as_found(model):
            model(example)
    except Exception as error:  # noqa: BLE001 - the error is what we came for
        trace.error = error
    finally:
        for handle in handles:
            handle.remove()
    return trace


def _per_image(shape: tuple[int, ...] | None) -> str:
    if not shape:
        return "?"
    return " × ".join(str(size) for size in shape[1:]) if len(shape) > 1 else str(shape[0])


def _described(call: LayerCall, calls: list[LayerCall]) -> str:
    """``your first Linear layer `fc1` (Linear(320 → 80))``."""
    kind = type(call.module).__name__
    position = [c for c in calls if type(c.module) is type(call.module)].index(call)
    ordinal = _ORDINALS[position] if position < len(_ORDINALS) else f"number {position + 1}:"
    named = f" `{call.name}`" if call.name else ""             # a model that is one layer has no name for it
    return f"your {ordinal} {kind} layer{named} ({layer_text(call.module)})"


def _flattened_source(call: LayerCall, calls: list[LayerCall], got: int) -> str:
    """Where ``got`` numbers per image came from: ``the flattened output of `pool` (20 channels × 2 × 2 = 80)``."""
    before = [c for c in calls[: calls.index(call)] if c.finished and c.output_shape]
    for earlier in reversed(before):
        shape = earlier.output_shape
        if len(shape) == 4 and shape[1] * shape[2] * shape[3] == got:
            return f"the flattened output of `{earlier.name}` ({shape[1]} channels × {shape[2]} × {shape[3]} = {got})"
    for earlier in reversed(before):
        if len(earlier.output_shape) == 2 and earlier.output_shape[1] == got:
            return f"the output of `{earlier.name}` ({got} numbers per image)"
    return "the numbers it gets per image"


def _explain_linear(call: LayerCall, calls: list[LayerCall]) -> str | None:
    wanted, shape = call.module.in_features, call.input_shape
    if not shape:
        return None
    got = shape[-1]
    if len(shape) > 2 and wanted == int(torch.tensor(shape[1:]).prod()):
        return (f"{_described(call, calls)} expects {wanted} numbers per image, but it gets a tensor of shape "
                f"{shape}: flatten it first (nn.Flatten(), or torch.flatten(x, start_dim=1)).")
    if got == wanted:
        return None
    source = _flattened_source(call, calls, got)
    return (f"{_described(call, calls)} expects {wanted} numbers per image, but it gets {got}: {source}. "
            f"Make it nn.Linear({got}, {call.module.out_features}), or change the layers before it.")


def _explain_conv(call: LayerCall, calls: list[LayerCall]) -> str | None:
    module, shape = call.module, call.input_shape
    if not shape or len(shape) < 3:
        return None
    channels = shape[1] if len(shape) == len(module.kernel_size) + 2 else shape[0]
    if channels != module.in_channels:
        earlier = [c for c in calls[: calls.index(call)] if c.finished]
        source = (f"`{earlier[-1].name}` before it gives {channels}" if earlier
                  else f"the images have {channels}")
        return (f"{_described(call, calls)} expects {module.in_channels} channels per image, but it gets {channels} "
                f"({source}). Make its first argument {channels}, or change the layer before it.")
    sizes = shape[-len(module.kernel_size):]
    padding = module.padding if isinstance(module.padding, tuple) else (0,) * len(sizes)
    padded = [size + 2 * pad for size, pad in zip(sizes, padding)]
    kernel = module.kernel_size
    if any(p < k for p, k in zip(padded, kernel)):
        return (f"{_described(call, calls)} gets images of {' × '.join(map(str, sizes))}, smaller than its kernel "
                f"{' × '.join(map(str, kernel))}: the layers before it shrink the images too much "
                "(fewer pools, smaller kernels or padding).")
    return None


def _explain_pool(call: LayerCall, calls: list[LayerCall]) -> str | None:
    shape = call.input_shape
    if not shape or len(shape) < 3:
        return None
    size = call.module.kernel_size if isinstance(call.module.kernel_size, int) else min(call.module.kernel_size)
    if min(shape[-2:]) < size:
        return (f"{_described(call, calls)} gets images of {shape[-2]} × {shape[-1]}, smaller than its "
                f"{size} × {size} window: the layers before it shrink the images too much.")
    return None


def _explain_batch_norm(call: LayerCall, calls: list[LayerCall]) -> str | None:
    shape = call.input_shape
    if not shape or len(shape) < 2 or shape[1] == call.module.num_features:
        return None
    return (f"{_described(call, calls)} normalises {call.module.num_features} channels, but it gets {shape[1]}. "
            f"Make it {type(call.module).__name__}({shape[1]}).")


def _explain_layer(call: LayerCall, calls: list[LayerCall]) -> str | None:
    module = call.module
    if isinstance(module, nn.Linear):
        return _explain_linear(call, calls)
    if isinstance(module, nn.modules.conv._ConvNd):
        return _explain_conv(call, calls)
    if isinstance(module, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        return _explain_pool(call, calls)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return _explain_batch_norm(call, calls)
    return None


def _torch_says(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]


def explain_shape_error(model: nn.Module, example: torch.Tensor, error: BaseException | None = None) -> str | None:
    """Say in words why ``model`` cannot take ``example`` (a small batch, e.g. ``X[:2]``): None if it can.

    ``error`` is the error already caught, if any (its first line is quoted when no layer
    explains it). The model runs once more on ``example`` to see which layer fails; it is
    left as it was. A model with hooks (which that run would call) is not run: None.
    """
    if not isinstance(model, nn.Module) or not isinstance(example, torch.Tensor) or not can_run(model):
        return None
    trace = trace_layers(model, example)
    if trace.error is None:
        return None
    failing = next((call for call in reversed(trace.calls) if not call.finished), None)
    if failing is not None:
        explained = _explain_layer(failing, trace.calls)
        if explained:
            return explained
        return (f"`{failing.name or type(failing.module).__name__}` ({type(failing.module).__name__}) cannot take what it gets, a tensor of shape "
                f"{failing.input_shape}: torch says \"{_torch_says(trace.error)}\".")
    finished = [call for call in trace.calls if call.finished]
    if finished:
        last = finished[-1]
        return (f"your model's forward() fails after `{last.name}`, which gives {_per_image(last.output_shape)} "
                f"per image: torch says \"{_torch_says(trace.error)}\". Check the step after `{last.name}` "
                "(a reshape such as x.view(-1, N) needs N = the numbers per image).")
    return (f"your model's forward() fails before its first layer, on a batch of shape {tuple(example.shape)}: "
            f"torch says \"{_torch_says(trace.error)}\".")


@contextlib.contextmanager
def explained(model: nn.Module, example: torch.Tensor) -> Iterator[None]:
    """Turn a shape error raised inside the block into a :class:`ModelShapeError` that explains it.

    ``example`` is a small batch of what the block gives the model (``X[:2]``). Any other
    error, and a shape error no layer explains, passes through unchanged.
    """
    try:
        yield
    except (RuntimeError, ValueError) as error:
        if not looks_like_shape_error(error):
            raise
        message = explain_shape_error(model, example, error)
        if message is None:
            raise
        raise ModelShapeError(message) from error
