"""Looking inside a model: parameter counts, a layer table, the computation graph, activations.

- ``count_parameters(model)``: how many numbers training has to learn.
- ``summary(model, (3, 32, 32))``: a table of layers, output shapes and
  parameter counts (made by the ``torchsummary`` package).
- ``show_graph(model, x)``: the graph of operations autograd records for one
  forward pass (made by ``torchviz``; drawn by Graphviz).
- ``capture_activations(model, ["features.0"])``: what the chosen layers
  output, to look at feature maps.

None of them changes the model: weights, batch-normalization statistics and
train/eval mode are as they were before. (One exception: lazy layers such as
``nn.LazyLinear`` get their parameters from the first pass, as they would from
the first real batch.) The random number generators of the CPU and of the
model's CUDA GPU are restored too, so a dummy pass does not change later random
numbers; those of other devices (e.g. Apple's MPS) are not.

Example:
    >>> import course_utils as cu                             # doctest: +SKIP
    >>> cu.count_parameters(nn.Linear(3 * 32 * 32, 10))      # doctest: +SKIP
    30730
"""
from __future__ import annotations

import contextlib
import copy
import io
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torchsummary import summary as torchsummary_summary

from course_utils.devices import model_device


def _check_model(model: object, function: str) -> None:
    """``model`` must be an ``nn.Module`` (an instance): catch the class, a tensor, an optimizer ..."""
    if isinstance(model, nn.Module):
        return
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"{function} got the class {model.__name__}, not a model: create one first, "
                        f"model = {model.__name__}(), then call {function}(model, ...).")
    if isinstance(model, (torch.Tensor, tuple, list, torch.Size)):
        raise TypeError(f"{function} takes the model first, got a {type(model).__name__}. "
                        f"Are the arguments in the wrong order? {function}(model, ...).")
    raise TypeError(f"{function} takes a model (a torch.nn.Module), got {type(model).__name__}.")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """The number of parameters (weights and biases) in a model.

    With ``trainable_only=True`` (the default) frozen parameters
    (``requires_grad=False``) are left out. A parameter shared by two layers
    counts once.

    Lazy layers (``nn.LazyLinear``, ``nn.LazyConv2d``, ...) only know their
    size after the first batch has gone through the model, so count after a
    forward pass (``summary`` does such a pass for you).

    Example:
        >>> count_parameters(nn.Linear(3072, 10))   # 3072 * 10 weights + 10 biases
        30730
    """
    _check_model(model, "count_parameters")
    if not isinstance(trainable_only, bool):
        raise TypeError(f"trainable_only must be True or False, got {trainable_only!r}.")
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
    mean/var and num_batches_tracked), every layer's train/eval mode, forward
    hooks left behind by a failed pass, and the random number generators (so
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
    hook_ids = {module: set(module._forward_hooks) for module in model.modules()}
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
            _remove_new_hooks(hook_ids)


def _remove_new_hooks(hook_ids: dict[nn.Module, set[int]]) -> None:
    """Remove forward hooks added since ``hook_ids`` was recorded.

    torchsummary removes its hooks only when the forward pass succeeds; this
    cleans up after a failed one, so hooks never pile up on a model.
    """
    for module, old_ids in hook_ids.items():
        for hook_id in set(module._forward_hooks) - old_ids:
            del module._forward_hooks[hook_id]
            getattr(module, "_forward_hooks_with_kwargs", {}).pop(hook_id, None)
            getattr(module, "_forward_hooks_always_called", {}).pop(hook_id, None)


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


def _check_input_size(input_size: object) -> tuple[int, ...]:
    """input_size must be the shape of ONE example, e.g. (3, 32, 32): positive whole numbers."""
    if isinstance(input_size, torch.Tensor):
        raise ValueError(f"input_size must be the shape of one input, e.g. (3, 32, 32), not the tensor itself "
                         f"(shape {tuple(input_size.shape)}); for a batch X pass tuple(X.shape[1:]). It is a "
                         f"tuple of positive whole numbers.")
    if isinstance(input_size, torch.Size):
        input_size = tuple(input_size)
    if isinstance(input_size, list):
        input_size = tuple(input_size)
    ok = (
        isinstance(input_size, tuple)
        and len(input_size) > 0
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in input_size)
    )
    if not ok:
        raise ValueError(
            "input_size must be the shape of one input without the batch dimension, as a tuple of "
            f"positive whole numbers, e.g. (3, 32, 32) for a colour image; got {input_size!r}. "
            "(Models with several inputs are not supported.)"
        )
    return input_size


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


def _run_torchsummary(model: nn.Module, input_size: tuple[int, ...], batch_size: int, device: torch.device) -> str:
    """Call torchsummary on the model's device and return what it prints."""
    # torchsummary leaves out the model itself, so a single layer would give an empty
    # table: wrap it in a Sequential to get one row for it.
    shown = model if list(model.children()) else nn.Sequential(model)
    printed = io.StringIO()
    # torchsummary makes its dummy batch on the *current* CUDA device: make that the model's.
    device_context = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with device_context, contextlib.redirect_stdout(printed), torch.no_grad():
        torchsummary_summary(shown, input_size, batch_size=batch_size, device=device.type)
    return printed.getvalue()


def _counted_by_torchsummary(text: str, label: str) -> int:
    """Read a number such as "Total params: 1,234" back from torchsummary's text."""
    for line in text.splitlines():
        if line.startswith(label):
            return int(line.split(":")[1].strip().replace(",", ""))
    raise RuntimeError(f"torchsummary's output has no line starting with {label!r}:\n{text}")


def _with_true_totals(text: str, total: int, trainable: int) -> str:
    """Replace torchsummary's totals by the true counts, with a note when they differed.

    torchsummary only counts tensors named ``weight`` and ``bias`` of layers it
    sees running, once per call; it misses other parameters and counts a layer
    used twice twice.
    """
    counted = _counted_by_torchsummary(text, "Total params:")
    counted_trainable = _counted_by_torchsummary(text, "Trainable params:")
    true_lines = {
        "Total params:": f"Total params: {total:,}",
        "Trainable params:": f"Trainable params: {trainable:,}",
        "Non-trainable params:": f"Non-trainable params: {total - trainable:,}",
    }
    lines = []
    for line in text.splitlines():
        for start, replacement in true_lines.items():
            if line.startswith(start):
                line = replacement
        lines.append(line)
    if (counted, counted_trainable) != (total, trainable):
        lines.append(
            f"Note: the rows above add up to {counted:,} parameters; the totals count each parameter "
            "of the model once (torchsummary sees only layers' weight and bias, once per use)."
        )
    return "\n".join(lines)


def _model_to_summarize(model: nn.Module) -> tuple[nn.Module, torch.device]:
    """The model that ``summary`` runs, and its device.

    torchsummary works on the CPU and on CUDA GPUs only. A model there is
    summarized where it is; a model on any other device (e.g. Apple's MPS) is
    summarized as a CPU copy, so the model itself is not touched at all.
    """
    device = model_device(model)
    if device.type in ("cpu", "cuda"):
        return model, device
    return copy.deepcopy(model).cpu(), torch.device("cpu")


def summary(model: nn.Module, input_size: tuple[int, ...], *, batch_size: int = 2) -> ModelSummary:
    """A table of the model's layers with their output shapes and parameter counts.

    ``input_size`` is the shape of ONE input, without the batch dimension:
    ``(3, 32, 32)`` for a CIFAR-10 image. The table comes from the
    ``torchsummary`` package, which runs a dummy batch through the model on the
    model's own device when that is the CPU or a CUDA GPU; a model on another
    device (e.g. Apple's MPS) is summarized as a copy on the CPU. The model is
    left as it was: the pass runs in evaluation mode, and batch-normalization
    statistics, each layer's mode and the random number generators are
    restored. (Lazy layers such as ``nn.LazyLinear`` do get their parameters
    from this pass, as they would from the first real batch.) ``batch_size``
    is only the number shown as the first dimension of each output shape.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> result = summary(model, (3, 32, 32))
        >>> result.total_params
        30730
        >>> print(result)                   # doctest: +ELLIPSIS
        ----------------------------------------------------------------
                Layer (type)               Output Shape         Param #
        ...
    """
    _check_model(model, "summary")
    input_size = _check_input_size(input_size)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number, at least 1; got {batch_size!r}.")
    target, device = _model_to_summarize(model)   # the model itself, or a CPU copy
    if not any(nn.parameter.is_lazy(p) or p.numel() > 0 for p in target.parameters()):
        raise ValueError("This model has no parameters, so there is nothing to summarize.")
    with _untouched(target):
        target.eval()  # dropout off, batch normalization uses (and does not update) running statistics
        _dummy_pass(target, input_size, device)  # first, so that lazy layers know their sizes
        total = count_parameters(target, trainable_only=False)
        text = _run_torchsummary(target, input_size, batch_size, device)
    trainable = count_parameters(target)
    return ModelSummary(_with_true_totals(text, total, trainable), total, trainable)


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

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        >>> graph = show_graph(model, torch.zeros(1, 3, 32, 32))   # doctest: +SKIP
        >>> graph                                                 # doctest: +SKIP
    """
    _check_model(model, "show_graph")
    if (isinstance(example_input, (tuple, list)) and len(example_input) == 2
            and all(isinstance(part, torch.Tensor) for part in example_input)):
        raise TypeError("show_graph takes a batch of inputs, got a pair (inputs, labels): a batch from a loader. "
                        "Use X, y = batch, then show_graph(model, X[:1]).")
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor (a batch of inputs), got {type(example_input).__name__}.")
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


def _find_layers(model: nn.Module, layers: Sequence[str] | Mapping[str, nn.Module] | str) -> dict[str, nn.Module]:
    """Turn layer names (dotted paths like "features.0") or a dict of modules into {name: module}."""
    if isinstance(layers, Mapping):
        for name, module in layers.items():
            if not isinstance(module, nn.Module):
                raise TypeError(f"layers[{name!r}] must be an nn.Module, got {type(module).__name__}.")
        if not layers:
            raise ValueError("capture_activations got no layers: name at least one, e.g. ['conv1'].")
        return dict(layers)
    available = dict(model.named_modules())
    if isinstance(layers, nn.Module) or (isinstance(layers, (list, tuple)) and any(isinstance(x, nn.Module) for x in layers)):
        given = [layers] if isinstance(layers, nn.Module) else [x for x in layers if isinstance(x, nn.Module)]
        names_of = {id(module): name for name, module in available.items() if name}
        found = [names_of.get(id(module)) for module in given]
        if all(found):
            raise TypeError(f"capture_activations takes layer NAMES, got a layer object ({type(given[0]).__name__}). "
                            f"In this model it is called {found[0]!r}: use capture_activations(model, {found!r}). "
                            f"(Or give a dict {{name: layer}}.)")
        raise TypeError(f"capture_activations takes layer NAMES, got a layer object ({type(given[0]).__name__}) "
                        f"that is not part of this model. Use the names from model.named_modules(), e.g. "
                        f"capture_activations(model, ['conv1']).")
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a list of layer names such as ['conv1', 'conv2'], got "
                        f"{type(layers).__name__}.")
    if not layers:
        raise ValueError("capture_activations got no layers: name at least one, e.g. ['conv1'].")
    found = {}
    for name in layers:
        if not isinstance(name, str):
            raise TypeError(f"layer names are strings as in model.named_modules(), e.g. '0' or 'features.0'; "
                            f"got {type(name).__name__} {name!r}.")
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

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
        >>> with capture_activations(model, ["0", "1"]) as activations:   # doctest: +SKIP
        ...     model(torch.zeros(1, 3, 32, 32))
        >>> activations["1"].shape                                         # doctest: +SKIP
        torch.Size([1, 8, 30, 30])
    """

    def __init__(self, model: nn.Module, layers: Sequence[str] | Mapping[str, nn.Module] | str) -> None:
        _check_model(model, "capture_activations")
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
