"""Benchmark: how fast does course_utils get CIFAR-10 into mini-batches?

What is measured, in one run, on the real CIFAR-10 data (times are the best of
``--repeats`` tries, measured with ``time.perf_counter``):

1. Loading train + test into uint8 tensors with ``course_utils.load_dataset``:
   - first load: decode the pickled batches and write the cache, in a fresh
     temporary data directory that holds a symlink to ``cifar-10-batches-py``
     (the cache is deleted before each try);
   - cached load: the same two calls again, now reading the cache.
   The ratio decode / cached says how much the cache saves.

2. One epoch of shuffled mini-batches of 64 training images, every batch
   touched (summed) so that no work is skipped:
   - ``course_utils.TensorLoader``: slices batches of uint8 images and
     normalises each batch as it hands it out (its setup is printed separately);
   - baseline "normalise once, slice float32": what TensorLoader did before,
     normalising the whole split to float32 up front (that one-time cost is
     printed too) and slicing batches from it;
   - baseline ``DataLoader(TensorDataset(normalized images, labels))``:
     indexes one example at a time and collates them into a batch;
   - baseline torchvision-style pipeline: a small Dataset that converts and
     normalises each uint8 image when it is asked for
     (``v2.Compose([v2.ToDtype(float32, scale=True), v2.Normalize(...)])``),
     in a ``DataLoader`` with ``num_workers=0``.
   The ratio baseline / TensorLoader says how many times faster TensorLoader is.

Run it from the repository root::

    python -m course_tools.bench.data_path [--data-dir DIR] [--repeats N]

``--data-dir`` is the folder that holds ``cifar-10-batches-py`` (default: the
course data directory, see ``course_utils.data.data_dir``).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision.transforms import v2

import course_utils as cu

BATCH_SIZE = 64


def best_time(function, repeats: int, before=None) -> float:
    """The shortest of ``repeats`` timed calls of ``function`` (``before`` runs untimed first)."""
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def load_both(root: Path) -> None:
    """Load CIFAR-10 train and test, hiding the "Decoding ..." messages."""
    with contextlib.redirect_stdout(io.StringIO()):
        for split in ("train", "test"):
            cu.load_dataset("cifar10", split, root=root, download=False, fast=False)


def one_epoch(loader) -> None:
    """Go through every batch once, summing each so that nothing is skipped."""
    seen, total = 0, 0.0
    for X, y in loader:
        total += float(X.sum()) + float(y.sum())
        seen += len(y)
    assert seen == len(loader.dataset), (seen, len(loader.dataset))


class OnTheFly(Dataset):
    """torchvision-style: keep uint8 images, convert and normalise each one when asked for it."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), self.labels[i]


class PreNormalized:
    """Shuffled batches sliced from a float32 copy of the split normalised up front (TensorLoader before)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        self.X, self.y, self.batch_size, self.dataset = X, y, batch_size, y

    def __iter__(self):
        order = torch.randperm(len(self.y))
        for start in range(0, len(self.y), self.batch_size):
            index = order[start:start + self.batch_size]
            yield self.X[index], self.y[index]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m course_tools.bench.data_path", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding cifar-10-batches-py (default: the course data dir)")
    parser.add_argument("--repeats", type=int, default=3, help="tries per measurement; the best counts")
    args = parser.parse_args()
    raw = (args.data_dir or cu.data.data_dir()) / "cifar-10-batches-py"
    if not raw.is_dir():
        parser.error(f"{raw} does not exist: pass --data-dir, the folder that holds cifar-10-batches-py.")

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs | "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads | "
          f"best of {args.repeats} | data: {raw}")
    rows = []   # (what, seconds, ratio text)

    # 1. Loading: decode + write the cache, versus reading the cache.
    with tempfile.TemporaryDirectory(prefix="bench_data-") as tmp:
        root = Path(tmp)
        (root / "cifar-10-batches-py").symlink_to(raw.resolve(), target_is_directory=True)
        decode = best_time(lambda: load_both(root), args.repeats,
                           before=lambda: shutil.rmtree(root / "cache", ignore_errors=True))
        cached = best_time(lambda: load_both(root), args.repeats)
        train = cu.load_dataset("cifar10", "train", root=root, download=False, fast=False)
    rows += [("load train+test: decode + write cache", decode, ""),
             ("load train+test: from cache", cached, f"decode/cached = {decode / cached:.1f}x")]

    # 2. One epoch of batches of 64 shuffled training images.
    start = time.perf_counter()
    tensor_loader = cu.TensorLoader(train, batch_size=BATCH_SIZE, shuffle=True)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    normalized = train.normalized()   # the whole split as float32, for the first two baselines
    normalize_once = time.perf_counter() - start
    to_float = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(train.mean, train.std)])
    baselines = {
        "normalise once, slice float32": PreNormalized(normalized, train.labels, BATCH_SIZE),
        "DataLoader(TensorDataset), per example": DataLoader(
            TensorDataset(normalized, train.labels), batch_size=BATCH_SIZE, shuffle=True),
        "DataLoader, per-item ToDtype+Normalize": DataLoader(
            OnTheFly(train.images, train.labels, to_float), batch_size=BATCH_SIZE, shuffle=True, num_workers=0),
    }
    fast = best_time(lambda: one_epoch(tensor_loader), args.repeats)
    rows += [("TensorLoader setup (uint8 kept)", setup, ""),
             ("normalise the whole split once (float32)", normalize_once, f"vs TensorLoader setup = "
              f"{normalize_once / setup:.0f}x"),
             ("epoch: TensorLoader", fast, "")]
    for name, loader in baselines.items():
        seconds = best_time(lambda: one_epoch(loader), args.repeats)
        rows.append((f"epoch: {name}", seconds, f"baseline/TensorLoader = {seconds / fast:.1f}x"))

    print(f"\n{'measurement':<46} {'seconds':>9}  ratio")
    for what, seconds, ratio in rows:
        print(f"{what:<46} {seconds:>9.3f}  {ratio}")
    print(f"\n({len(train):,} training images, {len(tensor_loader)} batches of {BATCH_SIZE} per epoch)")


if __name__ == "__main__":
    main()
