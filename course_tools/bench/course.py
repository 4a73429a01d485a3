"""The course's default path, as a lecture uses it: ``cu.make_loaders`` + ``cu.train`` + ``cu.evaluate``.

``CoursePipeline`` trains one epoch per ``cu.train`` call and measures the test
set with ``cu.evaluate`` after each, like the original pipeline, so the two are
timed by the same rule. One Adam optimizer is passed to every call, so that its
state carries over from epoch to epoch as it would inside one
``cu.train(..., epochs=N)``; it is made as ``cu.train`` makes its default one
(``torch.optim.Adam(parameters, lr=lr)``) unless ``adam=`` asks for torch's
"foreach" or "fused" implementation.

``load_times`` measures CIFAR-10 from local files to ready loaders, as
``make_loaders`` delivers them (the uint8 images on the device; each batch is
normalised as it is handed out, which the training throughput includes): the
first load in a fresh data directory (decode the pickled batches, write the
cache) and a cached load.

Example:
    >>> pipeline = CoursePipeline(model, train_loader, test_loader, torch.device("cpu"))  # doctest: +SKIP
    >>> pipeline.epoch().test_accuracy                                                   # doctest: +SKIP
    0.512
"""
from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

import course_utils as cu
from course_tools.bench.machine import now
from course_tools.bench.results import EpochResult

#: Adam implementations to choose from: torch's default for the device, or one asked for.
ADAM_VARIANTS = ("default", "foreach", "fused")


def make_optimizer(model: nn.Module, lr: float, adam: str = "default") -> torch.optim.Optimizer:
    """Adam for ``model``: "default" is what ``cu.train`` creates; "foreach"/"fused" are torch's faster kernels."""
    if adam not in ADAM_VARIANTS:
        raise ValueError(f"adam must be one of {ADAM_VARIANTS}, got {adam!r}.")
    options = {"foreach": {"foreach": True}, "fused": {"fused": True}}.get(adam, {})
    return torch.optim.Adam(model.parameters(), lr=lr, **options)


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Collect what the course functions print (progress lines, "Decoding ...") instead of showing it."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


@dataclass
class CoursePipeline:
    """``cu.train`` one epoch at a time with ``cu.evaluate`` after each, on loaders from ``cu.make_loaders``."""

    model: nn.Module
    train_loader: cu.TensorLoader
    test_loader: cu.TensorLoader
    device: torch.device
    lr: float = 1e-3
    precision: str = "auto"
    channels_last: bool | str = "auto"
    adam: str = "default"
    epochs_done: int = 0
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model, self.lr, self.adam)

    def _train(self, loader, log_every: int):
        with quiet():
            history = cu.train(self.model, loader, epochs=1, optimizer=self.optimizer, progress=False,
                               log_every=log_every, precision=self.precision, channels_last=self.channels_last)
        self.settings = dict(history.attrs.get("settings", {}))
        return history

    def train_epoch(self) -> tuple[int, float, float]:
        """One epoch of ``cu.train``: (images, seconds, mean training loss of the epoch)."""
        start = now(self.device)
        history = self._train(self.train_loader, log_every=50)
        seconds = now(self.device) - start
        images = int(history["examples"].iloc[-1])   # examples seen so far, in this one-epoch call
        weights = history["examples"].diff().fillna(history["examples"].iloc[0])
        loss = float((history["loss"] * weights).sum() / weights.sum())
        return images, seconds, loss

    def test_accuracy(self) -> tuple[float, float]:
        """``cu.evaluate`` on the test loader: (accuracy 0-1, seconds)."""
        start = now(self.device)
        result = cu.evaluate(self.model, self.test_loader)
        return float(result.accuracy), now(self.device) - start

    def epoch(self) -> EpochResult:
        images, seconds, loss = self.train_epoch()
        accuracy, eval_seconds = self.test_accuracy()
        self.epochs_done += 1
        return EpochResult(self.epochs_done, images, seconds, eval_seconds, accuracy, loss)

    def quick(self, batches: int, warmup: int) -> EpochResult:
        """Throughput only: ``warmup + batches`` batches of ``cu.train``; the first ``warmup`` are not timed.

        The training images are cut to that many batches (a TensorLoader over the
        first images, shuffled); the clock is read from the history rows, which
        ``cu.train`` writes after waiting for the device: the first row after the
        warm-up batches (which include ``cu.train``'s one-time speed measurement),
        the last at the end.
        """
        size = self.train_loader.batch_size
        data = self.train_loader.dataset
        count = min(len(data), (warmup + batches) * size)
        if count <= warmup * size:
            raise ValueError(f"the training set has {len(data)} images: not more than the {warmup} warm-up "
                             f"batches of {size}; use fewer warm-up batches or a smaller batch size.")
        loader = cu.TensorLoader(data.subset(range(count)), size, shuffle=True, device=self.device)
        history = self._train(loader, log_every=warmup)
        first, last = history.iloc[0], history.iloc[-1]
        return EpochResult(1, int(last["examples"] - first["examples"]), float(last["seconds"] - first["seconds"]),
                           train_loss=float(last["loss"]))


def _load(root: Path, batch_size: int, device: torch.device, info) -> tuple[cu.TensorLoader, cu.TensorLoader]:
    with quiet():
        loaders = cu.make_loaders("cifar10", batch_size, root=root, device=device, download=False,
                                  fast=False, info=info)
    return loaders


def fresh_data_dir(raw_folder: Path, parent: str | None = None) -> tempfile.TemporaryDirectory:
    """A temporary data directory whose ``cifar-10-batches-py`` is a symlink to ``raw_folder``."""
    folder = tempfile.TemporaryDirectory(prefix="course-bench-", dir=parent)
    (Path(folder.name) / "cifar-10-batches-py").symlink_to(Path(raw_folder).resolve(), target_is_directory=True)
    return folder


def load_times(root: Path, batch_size: int, device: torch.device, repeats: int = 3, info=None) -> dict:
    """Best-of-``repeats`` seconds from files to ready loaders: first load (cache deleted before each) and cached.

    ``root`` is a data directory such as ``fresh_data_dir`` makes; its cache is
    left in place afterwards (the cached loads need it).
    """
    def timed() -> float:
        start = now(device)
        _load(root, batch_size, device, info)
        return now(device) - start

    first = []
    for _ in range(repeats):
        shutil.rmtree(Path(root) / "cache", ignore_errors=True)
        first.append(timed())
    cached = [timed() for _ in range(repeats)]
    return {"first_seconds": min(first), "cached_seconds": min(cached), "repeats": repeats,
            "all_first_seconds": first, "all_cached_seconds": cached,
            "what": (f"cu.make_loaders('cifar10', batch_size={batch_size}, device='{device}'): train + test "
                     f"decoded (first) or read from the cache (cached), uint8 on the device, ready to hand out "
                     f"normalised batches")}


def course_loaders(root: Path, batch_size: int, device: torch.device, info=None
                   ) -> tuple[cu.TensorLoader, cu.TensorLoader, float]:
    """The course path's loaders and the seconds they took (the pipeline's setup)."""
    start = now(device)
    train, test = _load(root, batch_size, device, info)
    return train, test, now(device) - start
