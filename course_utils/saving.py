"""Keeping a trained network: ``save_model`` writes it to a file, ``load_model`` puts it back.

A trained network is two things: its *architecture* (the Python code of its class,
which stays in your notebook) and its *weights* (the numbers training found, the
``state_dict``). A saved model file holds the weights and what is needed to use them
again later, in another notebook or on another computer:

- the weights, on the CPU (a model trained on a GPU loads on a laptop);
- the architecture's fingerprint: the class name and every weight's name and shape,
  so that loading into a different network is refused with a clear message instead
  of failing deep inside PyTorch or, worse, half-loading;
- the class names, the input shape and the normalisation (mean and std) of the data
  it was trained on: to use the network on new images you must prepare them exactly
  as its training images were;
- your own notes (accuracy, epochs, anything: plain numbers and text).

The file is written atomically (to a temporary name, then renamed), so an
interrupted save never leaves a broken file, and it is read with
``torch.load(..., weights_only=True)``: only tensors and plain values, never code.
(A file made with ``torch.save(model)`` pickles the whole object and can run code when
loaded; PyTorch refuses to load such files by default since version 2.6.)

Example::

    import course_utils as cu
    cu.save_model(model, "models/resnet.pt", loader=train_loader, notes={"test accuracy": 0.891})

    # later, in another notebook (the class must be defined there too):
    model = cu.load_model("models/resnet.pt", res_net())      # checks the architecture, loads the weights
    info = cu.saving.saved_model_info("models/resnet.pt")             # classes, input shape, mean, std, notes
    print(info.classes, info.mean, info.std)
"""
from __future__ import annotations

import contextlib
import datetime
import os
import pickle
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

#: What ``save_model`` writes into the file's "format" entry (and ``load_model`` looks for).
MODEL_FORMAT = "course_utils.saved_model"
#: What ``cu.train(..., checkpoint=...)`` writes into a checkpoint's "format" entry.
CHECKPOINT_FORMAT = "course_utils.checkpoint"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------
# Writing a file so that it is either complete or not there at all
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def interrupts_held_back() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT, also Jupyter's "Interrupt the kernel") back while the block runs.

    If the interrupt comes during the block, the block still runs to its end and the
    interrupt is delivered right afterwards (as the usual ``KeyboardInterrupt``). Used
    around saving, so that an interrupt never cuts a save in half. Outside the main
    thread (where signals cannot be handled) the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)       # normally signal.default_int_handler: KeyboardInterrupt
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt


def write_atomically(data: Any, path: Path) -> None:
    """``torch.save(data, path)`` so that ``path`` is never half-written.

    The data go to a temporary file in the same folder, which is flushed to the disk
    and then renamed to ``path`` in one step (``os.replace``). Whatever happens —
    an error, a full disk, Ctrl-C, a killed process — ``path`` holds either its old
    content or the new one, never a mixture. Ctrl-C is held back until the save is done.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with interrupts_held_back():
        try:
            with open(temporary, "wb") as file:
                torch.save(data, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def read_torch_file(path: Path, what: str) -> Any:
    """``torch.load(path, weights_only=True)`` onto the CPU, with messages that say what went wrong.

    ``what`` names the kind of file expected ("saved model", "checkpoint") in the messages.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise ValueError(
                f"{path} holds Python objects, not only weights (it was probably saved with "
                f"torch.save(model), which pickles the whole object). Such a file can run code when it is "
                f"loaded, so it is refused. Save the model with cu.save_model(model, path) instead."
            ) from None
        raise ValueError(f"{path} is not a {what} file: PyTorch cannot read it ({error}).") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        if isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{path} is not a {what} file (or it is damaged): PyTorch cannot read it "
                         f"({str(error).splitlines()[0] if str(error) else type(error).__name__}).") from None


def file_kind(data: Any) -> str:
    """What a loaded torch file is, in words: "saved model", "checkpoint", "state dict" or "something else"."""
    if isinstance(data, Mapping):
        if data.get("format") == MODEL_FORMAT:
            return "saved model"
        if data.get("format") == CHECKPOINT_FORMAT:
            return "checkpoint"
        if data and all(isinstance(key, str) for key in data) and all(isinstance(v, torch.Tensor) for v in data.values()):
            return "state dict"
    return "something else"


# ---------------------------------------------------------------------------
# The architecture's fingerprint
# ---------------------------------------------------------------------------


def architecture(model: nn.Module) -> dict:
    """The class name and every weight's (and buffer's) name and shape: what must match to load weights.

    Example:
        >>> architecture(nn.Linear(3, 2))
        {'class': 'Linear', 'weights': [['weight', [2, 3]], ['bias', [2]]]}
    """
    return {"class": type(model).__qualname__,
            "weights": [[name, list(tensor.shape)] for name, tensor in model.state_dict().items()]}


def architecture_differences(saved: dict, model: nn.Module, *, limit: int = 6) -> list[str]:
    """How ``model`` differs from the architecture ``saved`` describes, one sentence per difference."""
    current = architecture(model)
    found = []
    if saved.get("class") != current["class"]:
        found.append(f"it was saved from a {saved.get('class')}, this model is a {current['class']}")
    saved_weights = {name: tuple(shape) for name, shape in saved.get("weights", [])}
    model_weights = {name: tuple(shape) for name, shape in current["weights"]}
    missing = [name for name in model_weights if name not in saved_weights]
    extra = [name for name in saved_weights if name not in model_weights]
    reshaped = [name for name in model_weights if name in saved_weights and model_weights[name] != saved_weights[name]]
    if missing:
        found.append(f"{len(missing)} weight(s) of this model are not in the file: {', '.join(missing[:limit])}"
                     + (", ..." if len(missing) > limit else ""))
    if extra:
        found.append(f"{len(extra)} weight(s) in the file are not in this model: {', '.join(extra[:limit])}"
                     + (", ..." if len(extra) > limit else ""))
    for name in reshaped[:limit]:
        found.append(f"{name} has shape {_shape(saved_weights[name])} in the file, {_shape(model_weights[name])} in this model")
    if len(reshaped) > limit:
        found.append(f"... and {len(reshaped) - limit} more weights of other shapes")
    return found


def _shape(shape: Sequence[int]) -> str:
    return "×".join(str(size) for size in shape) if shape else "(a single number)"


# ---------------------------------------------------------------------------
# save_model, load_model, saved_model_info
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedModel:
    """What a saved model file says about the model, besides its weights (``cu.saving.saved_model_info``).

    ``classes``: the class names, indexed by the model's outputs; ``input_shape``: one
    input's shape, e.g. ``(3, 32, 32)``; ``mean``/``std``: the normalisation of the training
    images, per channel (prepare new images with the same: ``cu.normalize(images, mean, std)``);
    ``notes``: what you passed as ``notes=``; ``architecture``: the class name and the
    weights' names and shapes; ``saved_with``: torch version, date and device of the save.
    """

    path: Path
    architecture: dict
    classes: tuple[str, ...] | None = None
    input_shape: tuple[int, ...] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    notes: dict = field(default_factory=dict)
    saved_with: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = [f"{self.architecture.get('class')} ({len(self.architecture.get('weights', []))} weight tensors)"]
        if self.classes is not None:
            parts.append(f"{len(self.classes)} classes")
        if self.input_shape is not None:
            parts.append("input " + _shape(self.input_shape))
        if self.notes:
            parts.append(f"notes {self.notes}")
        return f"SavedModel({self.path}: " + ", ".join(parts) + ")"


def _model_path(path: Any, argument: str = "path") -> Path:
    if isinstance(path, str) and path.strip():
        return Path(path).expanduser()
    if isinstance(path, os.PathLike):
        return Path(path).expanduser()
    raise TypeError(f"{argument} must be a file name such as \"models/resnet.pt\" (a str or a pathlib.Path), "
                    f"got {path!r}.")


def _plain(value: Any, argument: str) -> Any:
    """``value`` as plain numbers, text, lists and dicts (what a weights-only file may hold)."""
    if isinstance(value, torch.Tensor):
        return value.tolist() if value.numel() <= 4096 else _refuse_value(value, argument)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):          # a NumPy array or number
        return value.tolist()
    if isinstance(value, str):
        return str(value)          # (not a subclass such as torch's TorchVersion: a weights-only file refuses those)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item, argument) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item, argument) for key, item in value.items()}
    return _refuse_value(value, argument)


def _refuse_value(value: Any, argument: str) -> Any:
    raise TypeError(f"{argument} may hold only numbers, text, lists and dicts (what a saved model keeps "
                    f"safely), got {type(value).__name__} {value!r:.80}.")


def save_model(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    loader: Any = None,
    classes: Sequence[str] | None = None,
    input_shape: Sequence[int] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    notes: Mapping[str, Any] | None = None,
) -> Path:
    """Save a trained model's weights, with what is needed to check and use them later.

    Lecture 09 does this by hand first — ``torch.save(model.state_dict(), path)`` — and then
    with this function, whose file also says which classes the outputs are, the input shape
    and the normalisation, so that another process can check and use it.

    Args:
        model: the trained network (on any device; the file holds CPU tensors).
        path: the file to write, e.g. ``"models/resnet.pt"`` (folders are created; an
            earlier saved model of that name is replaced, any other file is not).
        loader: the training loader (a ``cu.TensorLoader``): the class names, the input
            shape and the normalisation are taken from it. Or give them yourself:
        classes, input_shape, mean, std: the class names (one per output of the model),
            one input's shape such as ``(3, 32, 32)``, the per-channel mean and std the
            inputs were normalised with.
        notes: anything else worth keeping, as numbers and text:
            ``notes={"test accuracy": 0.891, "epochs": 15}``.

    Returns:
        The path written.

    Example::

        cu.save_model(final_model, "models/08-resnet.pt", loader=train_loader,
                      notes={"test accuracy": final_test.accuracy})
    """
    from course_utils import checks

    checks.arguments("save_model", model=(model, checks.model))
    target = _model_path(path)
    if target.is_dir():
        raise IsADirectoryError(f"path={str(path)!r} is a folder; give a file name inside it, "
                                f"e.g. {str(target / 'model.pt')!r}.")
    if target.exists():
        kind = file_kind(_peek(target))
        if kind != "saved model":
            raise FileExistsError(f"{target} exists and is not a saved model (it holds {kind}); save_model does not "
                                  f"overwrite it. Choose another file name, or delete that file first.")
    if loader is not None:
        if classes is None:
            classes = checks.loader_classes(loader)
        dataset = getattr(loader, "dataset", None)
        images = getattr(dataset, "images", None)
        if input_shape is None and isinstance(images, torch.Tensor) and images.ndim >= 2:
            input_shape = tuple(images.shape[1:])
        mean = getattr(loader, "mean", None) if mean is None else mean
        std = getattr(loader, "std", None) if std is None else std
    data = {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "architecture": architecture(model),
        "state_dict": {name: tensor.detach().to("cpu", copy=True) for name, tensor in model.state_dict().items()},
        "classes": None if classes is None else [str(name) for name in classes],
        "input_shape": None if input_shape is None else [int(size) for size in input_shape],
        "mean": None if mean is None else [float(v) for v in _plain(mean, "mean")],
        "std": None if std is None else [float(v) for v in _plain(std, "std")],
        "notes": {} if notes is None else _plain(dict(notes), "notes"),
        "saved_with": saved_with(model),
    }
    if data["classes"] is not None:
        outputs = _outputs(model, data["input_shape"])
        if outputs is not None and outputs != len(data["classes"]):
            raise ValueError(f"The model outputs {outputs} scores per input, but {len(data['classes'])} class names "
                             f"were given; the names must match the outputs, one each.")
    write_atomically(data, target)
    return target


def saved_with(model: nn.Module | None = None) -> dict:
    """The torch version, the time (UTC) and the model's device: where a file came from."""
    from course_utils.devices import model_device

    device = model_device(model) if model is not None else torch.device("cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return {"torch": str(torch.__version__), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": name}


def _outputs(model: nn.Module, input_shape: list[int] | None) -> int | None:
    """How many scores the model gives for one input (None when that cannot be tried here)."""
    from course_utils.devices import eval_mode, model_device

    if input_shape is None:
        return None
    try:
        with torch.no_grad(), eval_mode(model):
            scores = model(torch.zeros(2, *input_shape, device=model_device(model)))
    except Exception:   # noqa: BLE001  (a model that needs other inputs: the count is not checked)
        return None
    return scores.shape[1] if isinstance(scores, torch.Tensor) and scores.ndim == 2 else None


def _peek(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:   # noqa: BLE001  (anything unreadable is "something else")
        return None


def _read_saved_model(path: Any, caller: str) -> tuple[Path, dict]:
    source = _model_path(path)
    if not source.exists():
        folder = source.parent if str(source.parent) else Path(".")
        nearby = sorted(p.name for p in folder.glob("*.pt"))[:8] if folder.is_dir() else []
        hint = (f" Saved models in {folder}: {', '.join(nearby)}." if nearby else
                f" The folder {folder} {'holds no .pt files' if folder.is_dir() else 'does not exist'}.")
        raise FileNotFoundError(f"{caller}: there is no file {source} (full path: {source.resolve()}).{hint} "
                                "Save one with cu.save_model(model, path) first. (In Colab, files in /content are "
                                "lost when the runtime is recycled: keep them on Google Drive.)")
    if source.is_dir():
        raise IsADirectoryError(f"{caller}: {source} is a folder, not a saved model file.")
    data = read_torch_file(source, "saved model")
    kind = file_kind(data)
    if kind == "saved model":
        return source, data
    if kind == "checkpoint":
        raise ValueError(f"{source} is a training checkpoint of cu.train, not a saved model. Resume the training "
                         "with the same cu.train(..., checkpoint=...) call, or, once it has finished, save the "
                         "model with cu.save_model(model, path).")
    if kind == "state dict":
        raise ValueError(f"{source} holds a plain state dict (saved with torch.save(model.state_dict(), ...)), not a "
                         "cu.save_model file. Load it with model.load_state_dict(torch.load(path, weights_only=True)), "
                         "or save it again with cu.save_model.")
    raise ValueError(f"{source} is not a saved model: it holds {type(data).__name__} data, not what "
                     "cu.save_model writes.")


def saved_model_info(path: str | os.PathLike) -> SavedModel:
    """What a saved model file says: class names, input shape, normalisation, notes, architecture.

    Reads the file without needing the model's class (so you can look before you build it).

    Example::

        info = cu.saving.saved_model_info("models/08-resnet.pt")
        info.classes          # ('airplane', 'automobile', ...)
        info.notes            # {'test accuracy': 0.891}
    """
    source, data = _read_saved_model(path, "saved_model_info")
    as_tuple = (lambda values: None if values is None else tuple(values))
    return SavedModel(path=source, architecture=data["architecture"], classes=as_tuple(data.get("classes")),
                      input_shape=as_tuple(data.get("input_shape")), mean=as_tuple(data.get("mean")),
                      std=as_tuple(data.get("std")), notes=dict(data.get("notes") or {}),
                      saved_with=dict(data.get("saved_with") or {}))


def load_model(path: str | os.PathLike, model: nn.Module, *, device: str | torch.device | None = None) -> nn.Module:
    """Load saved weights into ``model`` (a new, untrained instance of the same class) and return it.

    Lecture 09 writes the bare version by hand —
    ``model.load_state_dict(torch.load(path, weights_only=True))`` — and loads its pretrained
    network with this function in a fresh Python process.

    The file's architecture must match the model's exactly — the class name and every
    weight's name and shape — or nothing is loaded and a ``ValueError`` says what
    differs. The weights go to the model's device (or ``device``), wherever they were
    saved: a model trained on a GPU loads on a CPU. The model's mode (training or
    evaluation) is not changed; ``cu.evaluate`` and ``cu.predict`` switch to evaluation
    mode by themselves, and for your own predictions call ``model.eval()`` first.

    To reuse a trained network for a new task, load it whole first, then replace
    what must change (for example the last layer, for other classes).

    Example::

        model = cu.load_model("models/08-resnet.pt", res_net())
        info = cu.saving.saved_model_info("models/08-resnet.pt")      # classes, mean, std
    """
    from course_utils import checks
    from course_utils.devices import use_device

    checks.arguments("load_model", model=(model, checks.model))
    source, data = _read_saved_model(path, "load_model")
    differences = architecture_differences(data["architecture"], model)
    if differences:
        raise ValueError(f"{source} does not fit this model, so nothing was loaded:\n  - " + "\n  - ".join(differences)
                         + "\nCreate the model exactly as it was when it was saved (same class, same arguments such "
                         "as width or number of classes).")
    use_device(model, device)
    model.load_state_dict(data["state_dict"])
    return model
