"""Benchmark: how long does ``cu.evaluate`` take on CIFAR-10's test set on a CPU, sliced or not?

On a CPU ``cu.evaluate`` (and ``cu.predict``) give the model each batch in
slices of at most ``course_utils.evaluation.CPU_SLICE`` images, because a big
batch's activations do not fit in the processor's cache. This measures, in one
run, the lecture ConvNet (untrained: the time does not depend on the weights)
on the 10,000 test images in loaders of ``--batch-size`` (default 512, what
``cu.make_loaders`` gives the validation and test loaders):

- **sliced**: ``cu.evaluate`` as it is;
- **whole batches** (the baseline): ``cu.evaluate`` with slicing switched off
  (``CPU_SLICE`` set to the batch size for the measurement);

each in the standard memory layout and in channels-last (the model after
``cu.train`` has chosen it). The two ways take turns, ``--repeats`` times; the
best time of each counts. The ratio baseline / sliced says how many times faster
slicing is; the accuracies must agree (to one image: rounding), which the script checks.

Run it from the repository root::

    python -m course_tools.bench.evaluation_slices [--data-dir DIR] [--repeats N] [--batch-size N]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import time
from pathlib import Path

import torch

import course_utils as cu
from course_utils import evaluation
from course_tools.bench.model import LectureConvNet


def timed_evaluate(model: torch.nn.Module, loader, slice_size: int) -> tuple[float, float]:
    """(seconds, accuracy) of one ``cu.evaluate`` call with ``CPU_SLICE`` set to ``slice_size``."""
    kept = evaluation.CPU_SLICE
    evaluation.CPU_SLICE = slice_size
    try:
        start = time.perf_counter()
        result = cu.evaluate(model, loader)
        return time.perf_counter() - start, result.accuracy
    finally:
        evaluation.CPU_SLICE = kept


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m course_tools.bench.evaluation_slices", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding cifar-10-batches-py (default: the course data dir)")
    parser.add_argument("--repeats", type=int, default=3, help="tries per measurement; the best counts")
    parser.add_argument("--batch-size", type=int, default=512, help="the test loader's batch size")
    args = parser.parse_args()
    if args.repeats < 1 or args.batch_size < 1:
        parser.error(f"--repeats and --batch-size must be at least 1, got {args.repeats} and {args.batch_size}.")
    root = args.data_dir or cu.data.data_dir()
    if not (root / "cifar-10-batches-py").is_dir():
        parser.error(f"{root / 'cifar-10-batches-py'} does not exist: pass --data-dir, the folder that holds it.")

    with contextlib.redirect_stdout(io.StringIO()):
        test = cu.load_dataset("cifar10", "test", root=root, download=False, fast=False)
    loader = cu.TensorLoader(test, args.batch_size)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs | "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads | best of {args.repeats} | "
          f"{len(test):,} test images in batches of {args.batch_size}, slices of {evaluation.CPU_SLICE}")

    torch.manual_seed(0)
    print(f"\n{'layout':<16} {'whole batches s':>16} {'sliced s':>9}  ratio")
    for layout in ("standard", "channels_last"):
        model = LectureConvNet()
        if layout == "channels_last":
            model = model.to(memory_format=torch.channels_last)
        whole, sliced = [], []
        for _ in range(args.repeats):
            seconds, whole_accuracy = timed_evaluate(model, loader, slice_size=args.batch_size)
            whole.append(seconds)
            seconds, sliced_accuracy = timed_evaluate(model, loader, slice_size=evaluation.CPU_SLICE)
            sliced.append(seconds)
            differ = round(abs(whole_accuracy - sliced_accuracy) * len(test))   # images predicted differently
            if differ > 1:   # rounding may tip one borderline image, not more
                raise SystemExit(f"the accuracies differ: {whole_accuracy:.4%} whole, {sliced_accuracy:.4%} sliced")
        print(f"{layout:<16} {min(whole):>16.2f} {min(sliced):>9.2f}  whole/sliced = {min(whole) / min(sliced):.2f}x")


if __name__ == "__main__":
    main()
