"""Making training fast without changing what it computes: number formats and memory layouts.

``cu.train`` uses two optional speed-ups. Neither changes the model or the
lecture code; each is switched on only where a quick measurement shows that it
helps for *this* model on *this* machine, and each can be switched off.

- **Mixed precision** (``precision=``). The matrix products inside convolutions
  and linear layers run in a 16-bit format, while the weights, the optimizer
  and the loss stay in float32 (``torch.autocast``). ``bfloat16`` keeps
  float32's range (so no overflow) with fewer digits; ``float16`` has more
  digits but a small range, so its gradients are scaled up first
  (``torch.amp.GradScaler``) to keep small values from rounding to zero.
  Candidates: on a CUDA GPU bfloat16 where the GPU supports it, else float16;
  on a CPU bfloat16 where the CPU has native bfloat16 instructions.
- **channels_last** (``channels_last=``). Images are normally stored channel by
  channel (N×C×H×W: all red values, then all green ...). "Channels last" stores
  the C values of each pixel next to each other (the layout N×H×W×C in memory,
  the same shape to PyTorch), which many convolution kernels read faster. Only
  for models with 2-D convolutions and 4-D image batches.

With ``"auto"`` (the default) ``choose_settings`` times a few training steps on
the first batch in each candidate setting — forward and backward only, no
optimizer step; weights, gradients, batch-norm statistics and random number
generators are put back — and keeps the fastest candidate in which each change
from float32 and the standard layout is clearly faster than the same candidate
without that change (see ``SPEED_UP_NEEDED``). The choice is remembered for the rest of the
session (per model class, input shape and device), so it is measured once.
``precision="float32"`` and ``channels_last=False`` turn the speed-ups off, for
example to show in a lecture what they change.

Example:
    >>> settings = Settings(torch.device("cpu"), "float32", False)
    >>> settings.describe()
    'cpu, float32, standard memory layout'
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

#: The precisions ``train`` accepts ("auto" = measure, see ``choose_settings``).
PRECISIONS = ("auto", "float32", "bfloat16", "float16")

#: A change (to channels_last, to 16 bits) is kept only if it makes a step at least this many times faster.
SPEED_UP_NEEDED = {"channels_last": 1.10, "precision": 1.20}

#: Steps timed per candidate, in turns with the other candidates (after one warm-up step); the fastest counts.
TIMED_STEPS = 3

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
_remembered: dict[tuple, "Settings"] = {}


@dataclass(frozen=True)
class Settings:
    """How ``train`` runs: on which device, in which precision, in which memory layout.

    ``speed_ups`` records, for each setting that was measured, how many times faster
    a training step was with it (e.g. ``{"channels_last": 1.3}``).
    """

    device: torch.device
    precision: str              # "float32", "bfloat16" or "float16"
    channels_last: bool
    speed_ups: tuple[tuple[str, float], ...] = ()

    def autocast(self) -> contextlib.AbstractContextManager:
        """The ``with`` block in which the model's forward pass (and the loss) run."""
        if self.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_DTYPES[self.precision])

    def prepare(self, X: torch.Tensor) -> torch.Tensor:
        """Put one batch of inputs in the chosen memory layout (a no-op when it already is)."""
        if self.channels_last and X.ndim == 4:
            return X.contiguous(memory_format=torch.channels_last)
        return X

    def needs_grad_scaler(self) -> bool:
        """float16 gradients are scaled during backward so that small ones do not become 0."""
        return self.precision == "float16"

    def describe(self) -> str:
        layout = "channels_last" if self.channels_last else "standard memory layout"
        text = f"{self.device.type}, {self.precision}, {layout}"
        if self.speed_ups:
            text += " (" + ", ".join(f"{name} {ratio:.2f}× faster" for name, ratio in self.speed_ups) + ")"
        return text

    def as_dict(self) -> dict:
        """The settings as plain values, for ``history.attrs["settings"]``."""
        return {"device": str(self.device), "precision": self.precision,
                "channels_last": self.channels_last, "speed_ups": dict(self.speed_ups)}


# --------------------------------------------------------------------------
# What this machine offers
# --------------------------------------------------------------------------


def low_precision_candidate(device: torch.device) -> str | None:
    """The 16-bit format worth trying on ``device``, or None where there is none.

    CUDA: bfloat16 when the GPU supports it (Ampere and newer), else float16.
    CPU: bfloat16 only when the CPU has native bfloat16 instructions (AVX-512 BF16
    or AMX); emulating it would be slower than float32. Apple's MPS: none.
    """
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device.type == "cpu":
        native = getattr(torch.backends.mkldnn, "is_available", lambda: False)()
        try:
            native = native and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            native = False
        return "bfloat16" if native else None
    return None


def has_conv2d(model: nn.Module) -> bool:
    """True when the model contains a 2-D convolution (channels_last matters only then)."""
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


# --------------------------------------------------------------------------
# Timing a few steps without changing anything
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _model_restored(model: nn.Module) -> Iterator[None]:
    """Run trial steps, then put back buffers (batch-norm statistics), gradients, modes and RNGs."""
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    grads = {p: (None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()}
    modes = {module: module.training for module in model.modules()}
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices, device_type="cuda"):
        try:
            yield
        finally:
            with torch.no_grad():
                for name, buffer in model.named_buffers():
                    if name in buffers:
                        buffer.copy_(buffers[name])
            for parameter, grad in grads.items():
                parameter.grad = grad
            for module, mode in modes.items():
                module.training = mode


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
              settings: Settings) -> float:
    """Seconds for one forward + backward pass on (X, y) in ``settings`` (gradients are dropped again)."""
    model.to(memory_format=torch.channels_last if settings.channels_last else torch.contiguous_format)
    X = settings.prepare(X)
    _synchronize(settings.device)
    start = time.perf_counter()
    with settings.autocast():
        loss = loss_fn(model(X), y)
    loss.backward()
    _synchronize(settings.device)
    seconds = time.perf_counter() - start
    for parameter in model.parameters():
        parameter.grad = None
    return seconds


def time_candidates(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
                    candidates: list[Settings]) -> list[float]:
    """The best time of a step for each candidate, measured in turns (A, B, A, B, ...).

    Taking turns means that a burst of other work on the machine slows all
    candidates alike, instead of making whichever ran during it look slow. Each
    candidate gets one untimed warm-up step first.
    """
    for settings in candidates:
        time_step(model, X, y, loss_fn, settings)
    best = [float("inf")] * len(candidates)
    for _ in range(TIMED_STEPS):
        for k, settings in enumerate(candidates):
            best[k] = min(best[k], time_step(model, X, y, loss_fn, settings))
    return best


def choose_settings(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
                    device: torch.device, precision: str = "auto",
                    channels_last: bool | str = "auto") -> Settings:
    """Decide the precision and memory layout for training ``model`` on batches like ``X``.

    "auto" settings are measured on (X, y) — see the module's docstring — unless
    the same model class, input shape and device were measured before in this
    session. An explicit ``precision`` ("float32", "bfloat16", "float16") or
    ``channels_last`` (True/False) is used as given. The model ends up in the
    chosen memory layout.
    """
    can_use_channels_last = has_conv2d(model) and X.ndim == 4
    low = low_precision_candidate(device)
    if precision in _DTYPES and device.type == "mps":
        raise ValueError(f"precision={precision!r} is not supported on Apple's MPS here; use 'float32'.")
    key = (type(model).__qualname__, sum(p.numel() for p in model.parameters()), tuple(X.shape),
           X.dtype, str(device), precision, channels_last)
    if key in _remembered:
        settings = _remembered[key]
    else:
        settings = _measure(model, X, y, loss_fn, device, precision, channels_last, can_use_channels_last, low)
        _remembered[key] = settings
    model.to(memory_format=torch.channels_last if settings.channels_last else torch.contiguous_format)
    return settings


def _measure(model, X, y, loss_fn, device, precision, channels_last, can_use_channels_last, low) -> Settings:
    """Time the candidates that "auto" leaves open and return the fastest acceptable one."""
    fixed_precision = precision if precision != "auto" else None
    fixed_layout = channels_last if channels_last != "auto" else None
    if fixed_layout and not can_use_channels_last:
        fixed_layout = False   # nothing to lay out differently: no 2-D convolutions or no image batches
    if fixed_precision is not None and fixed_layout is not None:
        return Settings(device, fixed_precision, fixed_layout)

    precisions = [fixed_precision] if fixed_precision else ["float32"] + ([low] if low else [])
    layouts = [fixed_layout] if fixed_layout is not None else [False] + ([True] if can_use_channels_last else [])
    if len(precisions) == 1 and len(layouts) == 1:
        return Settings(device, precisions[0], layouts[0])

    candidates = [Settings(device, p, layout) for p in precisions for layout in layouts]
    with _model_restored(model):
        seconds = time_candidates(model, X, y, loss_fn, candidates)
    times = {(c.precision, c.channels_last): t for c, t in zip(candidates, seconds)}
    base = (precisions[0], layouts[0])

    def undo(choice: tuple[str, bool], feature: str) -> tuple[str, bool]:
        """The same choice with one of its changes taken back."""
        return (base[0], choice[1]) if feature == "precision" else (choice[0], base[1])

    def changes(choice: tuple[str, bool]) -> list[str]:
        return [feature for feature, k in (("precision", 0), ("channels_last", 1)) if choice[k] != base[k]]

    def pays_for_itself(choice: tuple[str, bool]) -> bool:
        """Every change in ``choice`` is clearly faster than the same choice without it.

        Judging each change alone would miss that they can work together:
        on some CPUs bfloat16 barely helps in the standard layout and
        channels_last barely helps in float32, but both together are twice as
        fast. Judging only the combination would keep a change that adds nothing.
        """
        return all(times[undo(choice, f)] / times[choice] >= SPEED_UP_NEEDED[f] for f in changes(choice))

    best = min((choice for choice in times if pays_for_itself(choice)), key=lambda choice: times[choice])
    speed_ups = []   # how much each setting speeds up a step, the other one as chosen
    if len(layouts) > 1:
        speed_ups.append(("channels_last", times[(best[0], False)] / times[(best[0], True)]))
    if len(precisions) > 1:
        speed_ups.append((precisions[1], times[(precisions[0], best[1])] / times[(precisions[1], best[1])]))
    return Settings(device, best[0], best[1], tuple(speed_ups))


def forget_measurements() -> None:
    """Forget every remembered choice, so the next ``train`` call measures again."""
    _remembered.clear()
