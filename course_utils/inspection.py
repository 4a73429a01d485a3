"""Looking inside a model: parameter counts, a layer table, the computation graph, activations.

- ``count_parameters(model)``: how many numbers training has to learn;
- ``summary(model, (3, 32, 32))``: a table of layers, output shapes and parameter
  counts, in the layout of the ``torchsummary`` package;
- ``show_graph(model, x)``: the graph of operations autograd records for one
  forward pass (made by ``torchviz``; drawn by Graphviz);
- ``capture_activations(model, ["features.0"])``: what the chosen layers
  output, to look at feature maps.

None of them changes the model: weights, batch-normalization statistics and
train/eval mode are as they were before. (One exception: lazy layers such as
``nn.LazyLinear`` get their parameters from the first pass, as they would from
the first real batch.) The random number generators of the CPU and of the
model's CUDA GPU are restored too, so a dummy pass does not change later random
numbers; those of other devices (e.g. Apple's MPS) are not.

Example:
    >>> count_parameters(nn.Linear(3 * 32 * 32, 10))     # 3072 × 10 weights + 10 biases
    30730
"""
from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_utils import checks
from course_utils.devices import model_device


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """The number of parameters (weights and biases) in a model.

    With ``trainable_only=True`` (the default) frozen parameters
    (``requires_grad=False``) are left out. A parameter shared by two layers
    counts once.

    Lazy layers (``nn.LazyLinear``, ``nn.LazyConv2d``, ...) only know their
    size after the first batch has gone through the model, so count after a
    forward pass (``summary`` does such a pass for you).

    Lecture 03 counts them by hand, ``parameter.numel()`` for each of
    ``model.named_parameters()`` (section 5); this is that sum.

    Example:
        >>> count_parameters(nn.Linear(3072, 10))   # 3072 * 10 weights + 10 biases
        30730
    """
    checks.arguments("count_parameters", model=(model, checks.model), trainable_only=(trainable_only, checks.flag))
    parameters = list(model.parameters())
    if any(nn.parameter.is_lazy(p) for p in parameters):
        raise ValueError(
            "This model has lazy layers (e.g. nn.LazyLinear) whose parameters do not exist yet: "
            "they are created by the first forward pass. Run one batch through the model first, "
            "e.g. model(X), then count its parameters."
        )
    return sum(p.numel() for p in parameters if p.requires_grad or not trainable_only)


# --------------------------------------------------------------------------
# Running a model without side effects
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _untouched(model: nn.Module) -> Iterator[None]:
    """Let a ``with`` block run the model, then put back what a forward pass may change.

    Restored afterwards: every buffer (e.g. batch normalization's running
    mean/var and num_batches_tracked), every layer's train/eval mode, and the random number generators (so
    dropout or random dummy inputs do not change later results). The CPU's
    generator is restored, and the CUDA generator of the model's GPU; the
    generators of other devices (e.g. Apple's MPS) are not.

    Lazy layers (``nn.LazyLinear``, ...) that the block runs for the first time
    create their parameters and buffers, just as on their first real batch;
    those new tensors are kept.
    """
    device = model_device(model)
    buffers = {name: buffer.detach().clone() for name, buffer in model.named_buffers()
               if not nn.parameter.is_lazy(buffer)}
    modes = {module: module.training for module in model.modules()}
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices, device_type="cuda"):
        try:
            yield
        finally:
            with torch.no_grad():
                for name, buffer in model.named_buffers():
                    if name in buffers:   # (buffers of lazy layers are new: nothing to put back)
                        buffer.copy_(buffers[name])
            for module, was_training in modes.items():
                module.training = was_training


# --------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------


@dataclass
class ModelSummary:
    """A model's layer table as text, plus its parameter counts.

    Printing it, or ending a notebook cell with it, shows the table.
    """

    text: str
    total_params: int
    trainable_params: int

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


one_input_shape = checks.Rule(
    "the shape of one input without the batch dimension, a tuple of positive whole numbers such as (3, 32, 32)",
    lambda v: isinstance(v, (tuple, list, torch.Size)),
    lambda v: len(v) > 0 and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in v),
    role="input size", fix="(Models with several inputs are not supported.)")


def _dummy_pass(model: nn.Module, input_size: tuple[int, ...], device: torch.device) -> None:
    """Run the model once on a small zero batch, turning a failure into a helpful error."""
    try:
        with torch.no_grad():
            model(torch.zeros(2, *input_size, device=device))
    except Exception as error:
        hint = ""
        if len(input_size) == 4 and input_size[0] == 1:
            hint = (f"\ninput_size={input_size} looks like it includes the batch dimension: leave it out, "
                    f"input_size={input_size[1:]}.")
        raise ValueError(
            f"The model could not process a batch of shape {(2, *input_size)} "
            f"(input_size={input_size} plus a batch dimension): {error}\n"
            "Check that input_size matches what the model expects, e.g. (3, 32, 32) for "
            f"CIFAR-10 or (1, 28, 28) for Fashion-MNIST.{hint}"
        ) from error


@dataclass
class _Row:
    """One line of the table: a layer as it ran (its class and place in the order), its output, its parameters."""

    name: str
    shape: list
    parameters: int
    shared: bool = False   # its parameters were counted at an earlier use


def _output_shape(output: object, batch_size: int) -> list:
    """The output's shape with the batch dimension written as ``batch_size`` (several outputs: -1)."""
    if isinstance(output, torch.Tensor):
        return [batch_size, *output.shape[1:]]
    if isinstance(output, (tuple, list)):
        return [[-1, *part.shape[1:]] for part in output if isinstance(part, torch.Tensor)]
    return []


def _run_layers(model: nn.Module, input_size: tuple[int, ...], batch_size: int, device: torch.device) -> list[_Row]:
    """One row per layer call while the model runs on a zero batch, recorded with forward hooks.

    Every layer gets a hook except containers (``nn.Sequential``, ``nn.ModuleList``) and the
    model itself, as in torchsummary. Each parameter is counted once, at the first layer
    call that uses it; a layer that runs twice shows 0 the second time.
    """
    rows: list[_Row] = []
    counted: set[int] = set()

    def record(module: nn.Module, inputs: tuple, output: object) -> None:
        own = list(module.parameters(recurse=False))
        new = [p for p in own if id(p) not in counted]
        counted.update(id(p) for p in new)
        rows.append(_Row(f"{type(module).__name__}-{len(rows) + 1}", _output_shape(output, batch_size),
                         sum(p.numel() for p in new), shared=len(new) < len(own)))

    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    layers = [m for m in model.modules() if not isinstance(m, containers) and m is not model] or [model]
    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        with torch.no_grad():
            model(torch.zeros(2, *input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return rows


def _values_in(shape: list) -> int:
    """How many numbers an output of this shape holds (several outputs: all of them)."""
    if shape and isinstance(shape[0], list):
        return sum(_values_in(part) for part in shape)
    count = 1
    for size in shape:
        count *= abs(size)
    return count


def _table(rows: list[_Row], input_size: tuple[int, ...], batch_size: int, total: int, trainable: int) -> str:
    """The table, laid out as torchsummary prints it (sizes in MB assume 4 bytes a number)."""
    megabytes = 4 / 1024 ** 2
    input_mb = abs(_values_in(list(input_size)) * batch_size * megabytes)
    output_mb = abs(2 * sum(_values_in(row.shape) for row in rows) * megabytes)   # ×2: gradients too
    params_mb = abs(total * megabytes)
    lines = ["-" * 64, "{:>20}  {:>25} {:>15}".format("Layer (type)", "Output Shape", "Param #"), "=" * 64]
    lines += ["{:>20}  {:>25} {:>15}".format(row.name, str(row.shape), f"{row.parameters:,}") for row in rows]
    lines += ["=" * 64, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "-" * 64,
              f"Input size (MB): {input_mb:0.2f}", f"Forward/backward pass size (MB): {output_mb:0.2f}",
              f"Params size (MB): {params_mb:0.2f}",
              f"Estimated Total Size (MB): {input_mb + output_mb + params_mb:0.2f}", "-" * 64]
    in_rows = sum(row.parameters for row in rows)
    if in_rows != total:
        lines.append(f"Note: {total - in_rows:,} of the {total:,} parameters belong to no layer that ran "
                     "(e.g. an nn.Parameter of the model itself); the totals count every parameter once.")
    if any(row.shared for row in rows):
        lines.append("Note: a layer used more than once shows its parameters at its first use only.")
    return "\n".join(lines)


def summary(model: nn.Module, input_size: tuple[int, ...], *, batch_size: int = 2) -> ModelSummary:
    """A table of the model's layers with their output shapes and parameter counts.

    ``input_size`` is the shape of ONE input, without the batch dimension:
    ``(3, 32, 32)`` for a CIFAR-10 image. A zero batch runs through the model once,
    on the model's own device, and forward hooks record what each layer outputs (the
    table is laid out as the ``torchsummary`` package prints it). The model is left
    as it was: the pass runs in evaluation mode, and batch-normalization statistics,
    each layer's mode and the random number generators are restored. (Lazy layers
    such as ``nn.LazyLinear`` do get their parameters from this pass, as they would
    from the first real batch.) ``batch_size`` is only the number shown as the first
    dimension of each output shape. Lecture 03 first reads such a table (section 5).

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> result = summary(model, (3, 32, 32))
        >>> result.total_params
        30730
        >>> print(result)                   # doctest: +ELLIPSIS
        ----------------------------------------------------------------
                Layer (type)               Output Shape         Param #
        ================================================================
                   Flatten-1                  [2, 3072]               0
                    Linear-2                    [2, 10]          30,730
        ...
    """
    checks.arguments("summary", model=(model, checks.model), input_size=(input_size, one_input_shape),
                     batch_size=(batch_size, checks.positive_int))
    shape = tuple(input_size)
    if not any(nn.parameter.is_lazy(p) or p.numel() > 0 for p in model.parameters()):
        raise ValueError("summary: this model has no parameters, so there is nothing to summarize.")
    device = model_device(model)
    with _untouched(model):
        model.eval()  # dropout off, batch normalization uses (and does not update) running statistics
        _dummy_pass(model, shape, device)  # first, so that lazy layers know their sizes (and errors are clear)
        rows = _run_layers(model, shape, batch_size, device)
    total, trainable = count_parameters(model, trainable_only=False), count_parameters(model)
    return ModelSummary(_table(rows, shape, batch_size, total, trainable), total, trainable)


# --------------------------------------------------------------------------
# show_graph
# --------------------------------------------------------------------------


def _require_dot() -> None:
    """Fail early, with install instructions, when Graphviz's ``dot`` program is missing."""
    if shutil.which("dot") is None:
        raise RuntimeError(
            "show_graph needs the Graphviz program 'dot' to draw the graph, and it was not found. "
            "Install Graphviz:\n"
            "  Debian/Ubuntu: sudo apt-get install graphviz\n"
            "  conda:         conda install -c conda-forge graphviz\n"
            "  macOS:         brew install graphviz\n"
            "  Windows:       https://graphviz.org/download/ (add it to PATH)\n"
            "Colab already has it. Then restart the kernel."
        )


example_batch = checks.Rule("a batch of inputs (a tensor), e.g. X[:1]", lambda v: isinstance(v, torch.Tensor),
                            role="example input")


def show_graph(model: nn.Module, example_input: torch.Tensor):
    """Draw the graph of operations that autograd records for one forward pass.

    Blue boxes at the top are the model's parameters (named as in
    ``model.named_parameters()``, with their shapes); grey boxes are the
    operations whose gradients backpropagation computes; the green box at the
    bottom is the output, where backpropagation starts before it works its way
    up to the parameters. The model runs once on ``example_input`` (a batch, e.g. one
    image of shape 1 x 3 x 32 x 32) in its current mode; its batch-normalization
    statistics and the random number generators (CPU and CUDA) are restored afterwards.

    Returns a ``graphviz.Digraph``: a notebook cell ending with it shows the
    picture; ``.source`` holds the text description.

    Lecture 03 draws the graph of its logistic-regression model (section 5), before
    writing the training loop whose ``loss.backward()`` walks it.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> graph = show_graph(model, torch.zeros(1, 3, 32, 32))   # doctest: +SKIP
        >>> graph                                                 # doctest: +SKIP
    """
    checks.arguments("show_graph", model=(model, checks.model), example_input=(example_input, example_batch))
    _require_dot()
    try:
        import torchviz
    except ImportError as error:
        raise ImportError(
            "show_graph needs the torchviz package: install it with  pip install torchviz  "
            "(in a notebook: %pip install torchviz), then restart the kernel."
        ) from error
    try:
        with _untouched(model), torch.enable_grad():
            output = model(example_input.to(model_device(model)))
    except Exception as error:
        hint = ""
        if example_input.dim() == 3:
            hint = (f" example_input has shape {tuple(example_input.shape)}: one image without the batch "
                    f"dimension? Add it: x[None] (or pass X[:1] from a batch).")
        raise ValueError(f"The model could not process example_input of shape {tuple(example_input.shape)}: "
                         f"{error}.{hint}") from error
    return torchviz.make_dot(output, params=dict(model.named_parameters()))


# --------------------------------------------------------------------------
# capture_activations
# --------------------------------------------------------------------------


layer_names = checks.Rule(
    "layer NAMES as in model.named_modules() (e.g. ['conv1'] or ['features.0']), or a dict {name: layer}",
    lambda v: isinstance(v, (str, list, tuple, Mapping)), lambda v: len(v) > 0, role="layer names",
    fix="Name at least one layer, e.g. ['conv1'].")


def _find_layers(model: nn.Module, layers: Sequence[str] | Mapping[str, nn.Module] | str) -> dict[str, nn.Module]:
    """Turn layer names (dotted paths like "features.0") or a dict of modules into {name: module}."""
    layer_names.given(model=model)(layers, "layers", "capture_activations")
    if isinstance(layers, Mapping):
        for name, module in layers.items():
            checks.instance_of(nn.Module, "a layer (an nn.Module)")(module, f"layers[{name!r}]", "capture_activations")
        return dict(layers)
    available = dict(model.named_modules())
    found = {}
    for index, name in enumerate([layers] if isinstance(layers, str) else layers):
        checks.instance_of(str, "a layer name as in model.named_modules(), e.g. '0' or 'features.0'")(
            name, f"layers[{index}]", "capture_activations")
        if name not in available or name == "":
            names = ", ".join(repr(n) for n in available if n)
            raise ValueError(f"The model has no layer named {name!r}. Its layers are: {names}.")
        found[name] = available[name]
    return found


def _detached_copy(output: object) -> object:
    """A detached CPU copy of a layer's output (a copy, so in-place operations later do not change it)."""
    if isinstance(output, torch.Tensor):
        return output.detach().to("cpu", copy=True)
    if isinstance(output, (tuple, list)):
        return tuple(_detached_copy(item) for item in output)
    return output


class capture_activations:   # noqa: N801  (a class, but used like a function: with capture_activations(...))
    """Record what chosen layers output while the model runs inside a ``with`` block.

    ``layers`` names the layers as in ``model.named_modules()``: attribute
    names like ``"conv1"`` or dotted paths like ``"features.0"`` (layer 0 of
    the Sequential ``features``); or give a dict {name: module}. The block
    gets a dict that each forward pass fills with name -> output (detached,
    on the CPU): after several passes it holds the last one's (``cu.predict``
    and ``cu.evaluate`` may run the model several times, on slices of a batch,
    so record a batch by calling the model on it). It keeps its contents after the block. The hooks that do the
    recording are removed when the block ends, also after an error, so running
    the cell again never stacks them.

    The arguments are checked when it is called. It records only inside
    ``with``: using the call's result as the dict is a TypeError that says so.
    Lecture 06 writes the forward hook by hand (``register_forward_hook``, section 3)
    and sees why a cell run three times leaves three hooks behind.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
        >>> with capture_activations(model, ["0", "1"]) as activations:   # doctest: +SKIP
        ...     model(torch.zeros(1, 3, 32, 32))
        >>> activations["1"].shape                                         # doctest: +SKIP
        torch.Size([1, 8, 30, 30])
    """

    def __init__(self, model: nn.Module, layers: Sequence[str] | Mapping[str, nn.Module] | str) -> None:
        checks.model(model, "model", "capture_activations")
        self._layers = _find_layers(model, layers)
        self._handles: list = []

    def __enter__(self) -> dict[str, torch.Tensor]:
        activations: dict[str, torch.Tensor] = {}
        try:
            for name, module in self._layers.items():
                self._handles.append(module.register_forward_hook(_recorder(activations, name)))
        except BaseException:
            self._remove_hooks()
            raise
        return activations

    def __exit__(self, *error: object) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _not_in_with(self, *args: object) -> None:
        names = list(self._layers)
        raise TypeError(
            "capture_activations records only inside a with block; its result is not the dict of activations. "
            f"Write:\n    with cu.capture_activations(model, {names!r}) as acts:\n        model(X)\n"
            f"then use acts[{names[0]!r}]."
        )

    __getitem__ = __iter__ = __len__ = __contains__ = keys = values = items = get = _not_in_with

    def __bool__(self) -> bool:   # (defined, so that truth tests do not go through __len__)
        return True

    def __repr__(self) -> str:
        return f"capture_activations({list(self._layers)}) (use it in a with block)"


def _recorder(activations: dict, name: str):
    """A forward hook that stores a layer's output under ``name``."""

    def hook(module: nn.Module, inputs: tuple, output: object) -> None:
        activations[name] = _detached_copy(output)

    return hook
