"""Training that survives a disconnect: the checkpoint file behind ``cu.train(..., checkpoint=...)``.

A long training run in a notebook can be lost in many ways: Colab disconnects, the
kernel restarts, someone presses Ctrl-C. With ``checkpoint="a-name"``, ``cu.train``
saves after every epoch everything needed to go on exactly where it was:

- the model's weights (and batch-norm statistics), the optimizer's state (Adam's
  running averages), the scheduler's position, and the gradient scaler of float16;
- the history so far, and the speed settings that were chosen (precision, layout);
- every random number generator the run uses: PyTorch's (CPU and GPU), NumPy's,
  Python's, and the loaders' own shuffling counters (``TensorLoader`` shuffles and
  augments each pass with a generator seeded from its seed and the pass number).

Run the same cell again and ``train`` resumes after the last complete epoch; the
result is the same as if nothing had happened (on a CPU, bit for bit). A checkpoint
that belongs to another model or another call (other epochs, optimizer, data ...) is
refused with the reasons, never mixed in. A finished run's checkpoint gives back its
history at once, with the trained weights, so that a notebook can be re-run cheaply.

Where the file goes: a *name* such as ``"08-final"`` means ``checkpoints/08-final.pt``
in the folder of ``COURSE_CHECKPOINT_DIR`` when it is set, else in ``./checkpoints``
(next to the notebook); a *path* (with a ``/`` or ending in ``.pt``) is used as it is.
In fast mode (``COURSE_FAST=1``) a name goes into the subfolder ``fast-mode/`` of that
folder: a quick try of a lecture and its full run are different runs, and neither
refuses or overwrites the other's checkpoints.
In Colab, ``./checkpoints`` is lost with the runtime: put the folder on Google Drive
(see ``docs/colab.md``).

Example::

    history = cu.train(model, train_loader, epochs=15, optimizer=optimizer, scheduler=scheduler,
                       validation=val_loader, checkpoint="08-final")
    # ... the connection drops during epoch 9; reconnect, run the notebook again:
    # resuming after epoch 8 of 15 from checkpoints/08-final.pt (saved 2026-12-04 10:12 UTC)
"""
from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from course_utils.checks import loader_classes
from course_utils.config import fast_mode
from course_utils.saving import (CHECKPOINT_FORMAT, FORMAT_VERSION, architecture, file_kind, read_torch_file,
                                 write_atomically)

#: The environment variable naming the folder where checkpoint *names* are saved.
CHECKPOINT_DIR_ENV = "COURSE_CHECKPOINT_DIR"

#: Where checkpoint names go in fast mode, inside ``checkpoint_dir()`` (fast and full runs are kept apart).
FAST_MODE_SUBFOLDER = "fast-mode"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. -]*$")


def checkpoint_dir() -> Path:
    """The folder that checkpoint names refer to: ``$COURSE_CHECKPOINT_DIR``, else ``./checkpoints``."""
    folder = os.environ.get(CHECKPOINT_DIR_ENV, "").strip()
    return Path(folder).expanduser() if folder else Path("checkpoints")


def checkpoint_path(checkpoint: Any) -> Path:
    """The file a ``checkpoint=`` argument means (see the module docstring), checked.

    Example:
        >>> checkpoint_path("/tmp/runs/final.pt")
        PosixPath('/tmp/runs/final.pt')
    """
    if isinstance(checkpoint, os.PathLike):
        path = Path(checkpoint).expanduser()
    elif isinstance(checkpoint, str):
        text = checkpoint.strip()
        if not text:
            raise ValueError('checkpoint is an empty string; give a name such as checkpoint="08-final", or a path.')
        if "/" in text or os.sep in text or text.endswith(".pt") or text.startswith("~"):
            path = Path(text).expanduser()
        elif _NAME.match(text):
            folder = checkpoint_dir() / FAST_MODE_SUBFOLDER if fast_mode() else checkpoint_dir()
            path = folder / f"{text}.pt"
        else:
            raise ValueError(f"checkpoint={checkpoint!r} is not a usable name: use letters, digits, '-', '_' and '.', "
                             f'such as checkpoint="08-final", or give a path ending in .pt.')
    else:
        raise TypeError(f'checkpoint must be a name such as "08-final" or a path (str or pathlib.Path), '
                        f"got {type(checkpoint).__name__} {checkpoint!r}.")
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint={str(checkpoint)!r} is a folder ({path}); give a file name, "
                                f"e.g. {str(path / 'run.pt')!r}.")
    return path


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint saved at ``path``, or None when there is none yet.

    A file that is not a checkpoint (or is damaged) is refused: ``ValueError``
    saying what it is and what to do, and the file is left alone.
    """
    if not path.exists():
        return None
    data = read_torch_file(path, "checkpoint")
    kind = file_kind(data)
    if kind != "checkpoint":
        raise ValueError(f"{path} is not a training checkpoint (it holds {kind}), so train will neither resume "
                         "from it nor overwrite it. Pass another checkpoint name, or move that file away.")
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} was written by another version of course_utils (checkpoint format "
                         f"{data.get('version')}, this one reads {FORMAT_VERSION}). Delete it to train afresh.")
    return data


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` (built by ``train``) to ``path``, completely or not at all (see ``write_atomically``)."""
    write_atomically({"format": CHECKPOINT_FORMAT, "version": FORMAT_VERSION, **state}, path)


def matching_checkpoint(path: Path | None, description: dict) -> dict | None:
    """The checkpoint at ``path`` when it fits the run ``description`` (``describe_run``); None when there is none.

    One that belongs to another run is refused with the reasons (``ValueError``), before
    anything changes: the file, the model and the loaders are left as they are.
    """
    if path is None:
        return None
    saved = read_checkpoint(path)
    if saved is None:
        return None
    problems = differences(saved["plan"], description)
    if problems:
        raise ValueError(
            f"The checkpoint {path} was made by a different training run, so train will not resume "
            f"from it (nothing was changed):\n  - " + "\n  - ".join(problems)
            + "\nTo resume, run the same code as then. To start afresh, delete the file or pass another "
            "checkpoint name.")
    return saved


# ---------------------------------------------------------------------------
# What a checkpoint keeps of the call that made it: the description of a run
# ---------------------------------------------------------------------------


def describe_run(*, model: nn.Module, epochs: int, log_every: int, optimizer: torch.optim.Optimizer | None, lr: float,
                 scheduler: Any, loss_fn: Any, loader: Any, validation: Any, precision: str,
                 channels_last: bool | str) -> dict:
    """What must be the same for a checkpoint to continue a ``train`` call, as plain values.

    Taken at the start of the call (a scheduler's or an optimizer's state moves later);
    ``differences`` compares two of them and says what changed, in words.
    """
    return {
        "model": architecture(model),
        "epochs": epochs,
        "log_every": log_every,
        "optimizer": _describe_optimizer(optimizer, lr),
        "scheduler": _describe_scheduler(scheduler),
        "loss_fn": _describe_object(loss_fn) if loss_fn is not None else "CrossEntropyLoss (the default)",
        "loader": _describe_loader(loader),
        "validation": _describe_loader(validation),
        "precision": precision,
        "channels_last": channels_last,
    }


def _plain(value: Any) -> Any:
    """Numbers, text, None and lists/tuples of them, as they are; anything else as its type's name."""
    if isinstance(value, str):
        return str(value)          # (not a subclass: a weights-only checkpoint refuses those)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return [str(v) if isinstance(v, str) else v for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return type(value).__name__


def _describe_object(obj: Any) -> dict:
    """An object's class and its public settings (``nn.CrossEntropyLoss(label_smoothing=0.1)``: the 0.1)."""
    settings = {key: _plain(value) for key, value in sorted(vars(obj).items())
                if not key.startswith("_") and key != "training"} if hasattr(obj, "__dict__") else {}
    name = getattr(obj, "__qualname__", None) if callable(obj) and not isinstance(obj, nn.Module) else None
    return {"class": name or type(obj).__name__, **settings}


def _describe_optimizer(optimizer: torch.optim.Optimizer | None, lr: float) -> dict:
    if optimizer is None:
        return {"class": "Adam (train's default)", "lr": lr}
    description = {"class": type(optimizer).__name__,
                   "parameters per group": [len(group["params"]) for group in optimizer.param_groups]}
    description.update({key: _plain(value) for key, value in sorted(optimizer.defaults.items())})
    return description


def _describe_scheduler(scheduler: Any) -> dict | None:
    """The scheduler's class and configuration (total steps, base rates ...), not its position."""
    if scheduler is None:
        return None
    state = scheduler.state_dict() if callable(getattr(scheduler, "state_dict", None)) else {}
    return {"class": type(scheduler).__name__,
            **{key: _plain(value) for key, value in sorted(state.items())
               if not key.startswith("_") and key not in ("last_epoch", "verbose")}}


def _describe_loader(loader: Any) -> dict | None:
    """The loader's size and the settings that decide its batches."""
    if loader is None:
        return None
    dataset = getattr(loader, "dataset", None)
    description = {"type": type(loader).__name__,
                   "batches": len(loader) if hasattr(loader, "__len__") else None,
                   "images": len(dataset) if hasattr(dataset, "__len__") else None,
                   "classes": list(loader_classes(loader) or []) or None}
    for name in ("batch_size", "shuffle", "seed", "drop_last"):
        if isinstance(getattr(loader, name, None), (bool, int)):
            description[name] = getattr(loader, name)
    if getattr(loader, "augment", None) is not None:
        description["augment"] = repr(loader.augment)
    return description


# ---------------------------------------------------------------------------
# Does a checkpoint fit this call?
# ---------------------------------------------------------------------------

#: How each part of the description is named in a refusal.
_LABELS = {
    "model": "the model", "epochs": "epochs", "log_every": "log_every", "optimizer": "the optimizer",
    "scheduler": "the scheduler", "loss_fn": "loss_fn", "loader": "the training loader",
    "validation": "the validation loader", "precision": "precision", "channels_last": "channels_last",
}


def differences(saved: dict, current: dict) -> list[str]:
    """How the call described by ``current`` differs from the one that wrote ``saved``, in sentences.

    Both are ``TrainingPlan.describe()`` dictionaries.
    """
    found = []
    for key in sorted(set(saved) | set(current), key=lambda k: list(_LABELS).index(k) if k in _LABELS else 99):
        then, now = saved.get(key), current.get(key)
        if then == now:
            continue
        label = _LABELS.get(key, key)
        if key == "model":
            found += _model_differences(then or {}, now or {})
        elif isinstance(then, dict) and isinstance(now, dict):
            changed = [f"{part} {_show(then.get(part))} then, {_show(now.get(part))} now"
                       for part in sorted(set(then) | set(now), key=str) if then.get(part) != now.get(part)]
            found.append(f"{label}: " + "; ".join(changed))
        else:
            found.append(f"{label}: {_show(then)} then, {_show(now)} now")
    return found


def _model_differences(then: dict, now: dict) -> list[str]:
    found = []
    if then.get("class") != now.get("class"):
        found.append(f"the model: a {then.get('class')} then, a {now.get('class')} now")
    saved = {name: tuple(shape) for name, shape in then.get("weights", [])}
    current = {name: tuple(shape) for name, shape in now.get("weights", [])}
    if saved != current:
        changed = [name for name in current if name in saved and saved[name] != current[name]]
        missing = [name for name in current if name not in saved]
        extra = [name for name in saved if name not in current]
        details = []
        if changed:
            details.append("other shapes: " + ", ".join(
                f"{name} {'×'.join(map(str, saved[name]))} then, {'×'.join(map(str, current[name]))} now" for name in changed[:4]))
        if missing:
            details.append("new weights: " + ", ".join(missing[:4]))
        if extra:
            details.append("weights that are gone: " + ", ".join(extra[:4]))
        found.append("the model's weights differ (" + "; ".join(details) + ")")
    return found


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return repr(value)


# ---------------------------------------------------------------------------
# Random number generators
# ---------------------------------------------------------------------------


def rng_state() -> dict:
    """Every global random number generator's state, as tensors and plain values (weights-only safe)."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": random.getstate(),
    }


def restore_rng_state(state: dict) -> list[str]:
    """Put the generators back as ``rng_state`` found them; returns what could not be restored (in words)."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    random.setstate(_as_tuples(state["python"]))
    saved_cuda = state.get("cuda") or []
    if not saved_cuda:
        return []
    if torch.cuda.is_available() and torch.cuda.device_count() == len(saved_cuda):
        torch.cuda.set_rng_state_all(saved_cuda)
        return []
    return ["the GPU's random number generator (the checkpoint was made on a GPU; there is none like it here)"]


def _as_tuples(value: Any) -> Any:
    """Python's ``random.setstate`` wants tuples where the state had tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(item) for item in value)
    return value


def loader_state(loader: Any) -> dict | None:
    """The loader's own random state: a ``TensorLoader``'s pass counter, a ``DataLoader``'s generator.

    (A ``TensorLoader`` counts its passes since it was made or since ``cu.seed_everything``
    last ran; restoring the count makes the next pass the one the checkpoint expects.)
    """
    if isinstance(getattr(loader, "epoch", None), int) and hasattr(loader, "seed"):
        return {"epoch": loader.epoch}
    generator = getattr(loader, "generator", None)
    if isinstance(generator, torch.Generator):
        return {"generator": generator.get_state()}
    return None


def restore_loader_state(loader: Any, state: dict | None) -> None:
    """Undo what the passes since ``loader_state`` changed in the loader's random state."""
    if not state:
        return
    if "epoch" in state:
        loader.epoch = state["epoch"]
    if "generator" in state and isinstance(getattr(loader, "generator", None), torch.Generator):
        loader.generator.set_state(state["generator"])
