"""Which settings make the lecture ConvNet train fastest here? Measured interleaved, in one run.

``python -m course_tools.bench.sweep`` times training steps of ``LectureConvNet``
on real CIFAR-10 batches for a list of cases that each change one thing from a
baseline (batch 64, standard memory layout, float32, torch's threads, ReLU not in
place, torch's default Adam), plus a few combinations:

- batch size 32 / 64 / 128 / 256;
- ``channels_last`` memory layout against the standard one, at each batch size;
- bfloat16 autocast (``torch.autocast("cpu", torch.bfloat16)``), alone and with channels_last;
- ``torch.set_num_threads(1)`` against the default;
- in-place ReLU;
- Adam's ``foreach=True`` and ``fused=True`` implementations.

A step is what ``cu.train`` does per batch: gather the batch from normalised
tensors, (lay it out), forward, loss, zero the gradients, backward, optimizer
step. Each measurement trains a fresh model for 2 untimed warm-up steps, then
times steps covering about ``--images`` images, each step on its own; the median
step time gives the measurement's images/s. The cases run in a new random
order in every round (``--rounds``), so that a machine that gets busier or
quieter during the run affects all of them alike; the report gives the median
images/s per case over the rounds, the range, the ratio to the baseline's median,
and the ratio of the best rounds (the least disturbed).

``--accuracy`` also trains a few course-path settings (``cu.train`` +
``cu.evaluate``, interleaved epoch by epoch) for ``--accuracy-epochs`` epochs and
reports test accuracy per epoch and the time to 55 %, to show whether bfloat16
or bigger batches cost accuracy.

Example::

    python -m course_tools.bench.sweep --rounds 3
    python -m course_tools.bench.sweep --accuracy --accuracy-epochs 2
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

import course_utils as cu
from course_tools.bench import course, machine
from course_tools.bench.model import LectureConvNet
from course_tools.bench.results import time_to_target


@dataclass(frozen=True)
class Case:
    """One way of running a training step."""

    name: str
    batch: int = 64
    channels_last: bool = False
    bf16: bool = False
    threads: int | None = None      # None: torch's default
    inplace_relu: bool = False
    adam: str = "default"


BASE = Case("base: batch 64, fp32, standard layout")


def default_cases() -> list[Case]:
    """One change at a time from ``BASE``, then combinations of the changes that help."""
    cases = [BASE]
    for batch in (32, 128, 256):
        cases.append(replace(BASE, name=f"batch {batch}", batch=batch))
    for batch in (32, 64, 128, 256):
        cases.append(replace(BASE, name=f"batch {batch} channels_last", batch=batch, channels_last=True))
    for batch in (32, 64, 128, 256):
        cases.append(replace(BASE, name=f"batch {batch} bf16", batch=batch, bf16=True))
        cases.append(replace(BASE, name=f"batch {batch} bf16 channels_last", batch=batch, bf16=True,
                             channels_last=True))
    cases += [replace(BASE, name="1 thread", threads=1),
              replace(BASE, name="in-place ReLU", inplace_relu=True),
              replace(BASE, name="Adam foreach", adam="foreach"),
              replace(BASE, name="Adam fused", adam="fused")]
    for batch in (32, 64, 128, 256):
        cases.append(Case(f"batch {batch} bf16 channels_last in-place fused", batch, True, True, None, True, "fused"))
    return cases


@contextlib.contextmanager
def torch_threads(threads: int | None):
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def images_per_second(case: Case, X: torch.Tensor, y: torch.Tensor, images: int, seed: int = 0) -> float:
    """Train a fresh model ``case``'s way for about ``images`` images (after 2 warm-up steps); images/s.

    Every step is timed on its own and the MEDIAN step time counts: on a shared
    machine another program now and then takes a core away for a moment, which
    makes a few steps very slow; the median ignores them.
    """
    cu.seed_everything(seed)
    layout = torch.channels_last if case.channels_last else torch.contiguous_format
    model = LectureConvNet(inplace_relu=case.inplace_relu).to(memory_format=layout)
    optimizer = course.make_optimizer(model, 1e-3, case.adam)
    loss_fn = nn.CrossEntropyLoss()
    steps = max(images // case.batch, 5)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if case.bf16 else contextlib.nullcontext
    times = []
    with torch_threads(case.threads):
        for step in range(2 + steps):
            start = time.perf_counter()
            index = order[(step * case.batch) % (len(y) - case.batch):][:case.batch]
            xb, yb = X[index].contiguous(memory_format=layout), y[index]
            with autocast():
                loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= 2:
                times.append(time.perf_counter() - start)
    return case.batch / statistics.median(times)


def throughput_sweep(cases: list[Case], X: torch.Tensor, y: torch.Tensor, rounds: int, images: int) -> list[dict]:
    """Every case once per round, in a new random order each round; median images/s and ratio to the first case."""
    measured: dict[str, list[float]] = {case.name: [] for case in cases}
    for round_number in range(rounds):
        order = list(cases)
        random.Random(round_number).shuffle(order)
        for case in order:
            measured[case.name].append(images_per_second(case, X, y, images))
    base = statistics.median(measured[cases[0].name])
    best = max(measured[cases[0].name])
    return [{**asdict(case), "median": statistics.median(measured[case.name]), "min": min(measured[case.name]),
             "max": max(measured[case.name]), "all": measured[case.name],
             "ratio": statistics.median(measured[case.name]) / base,
             "best_ratio": max(measured[case.name]) / best} for case in cases]


@dataclass(frozen=True)
class TrainingCase:
    """A course-path setting to train to accuracy: ``cu.train``'s options and the batch size."""

    batch: int
    precision: str
    channels_last: bool | str
    lr: float = 1e-3
    adam: str = "default"

    @property
    def name(self) -> str:
        layout = {True: "channels_last", False: "standard", "auto": "auto layout"}[self.channels_last]
        return f"batch {self.batch} {self.precision} {layout} lr {self.lr:g} Adam {self.adam}"


DEFAULT_TRAINING_CASES = (TrainingCase(64, "float32", False), TrainingCase(64, "bfloat16", True),
                          TrainingCase(128, "bfloat16", True), TrainingCase(128, "bfloat16", True, lr=2e-3),
                          TrainingCase(256, "bfloat16", True, lr=2e-3))


def accuracy_sweep(cases, train: cu.data.ImageSet, test_loader: cu.TensorLoader, epochs: int, target: float) -> list[dict]:
    """Train each case with the course path, interleaved epoch by epoch; accuracy, time to target, images/s."""
    pipelines = []
    for case in cases:
        cu.seed_everything(0)
        loader = cu.TensorLoader(train, case.batch, shuffle=True, seed=0)
        pipelines.append(course.CoursePipeline(LectureConvNet(), loader, test_loader, torch.device("cpu"),
                                               lr=case.lr, precision=case.precision,
                                               channels_last=case.channels_last, adam=case.adam))
    done = [[] for _ in cases]
    for _ in range(epochs):
        for pipeline, epochs_so_far in zip(pipelines, done):
            epochs_so_far.append(pipeline.epoch())
    rows = []
    for case, pipeline, epochs_run in zip(cases, pipelines, done):
        reached = time_to_target([e.test_accuracy for e in epochs_run],
                                 [e.train_seconds + e.eval_seconds for e in epochs_run], target)
        rows.append({"name": case.name, **asdict(case), "settings": pipeline.settings,
                     "accuracy": [e.test_accuracy for e in epochs_run],
                     "train_seconds": [e.train_seconds for e in epochs_run],
                     "eval_seconds": [e.eval_seconds for e in epochs_run],
                     "images_per_second": sum(e.images for e in epochs_run) / sum(e.train_seconds for e in epochs_run),
                     "time_to_target": reached})
    return rows


def _print_throughput(rows: list[dict]) -> None:
    print(f"\n{'case':<48} {'median img/s':>12} {'range':>15} {'× base':>7} {'best × best':>12}")
    for row in rows:
        print(f"{row['name']:<48} {row['median']:>12,.0f} {row['min']:>7,.0f}-{row['max']:<7,.0f} "
              f"{row['ratio']:>7.2f} {row['best_ratio']:>12.2f}")


def _print_accuracy(rows: list[dict], target: float) -> None:
    print(f"\n{'course path (cu.train + cu.evaluate)':<52} {'img/s':>6}  {'accuracy by epoch':<20} "
          f"time to {100 * target:g} %")
    for row in rows:
        accuracy = ", ".join(f"{100 * a:.1f}" for a in row["accuracy"]) + " %"
        reached = "not reached" if row["time_to_target"] is None else \
            f"{row['time_to_target'][1]:.1f} s (epoch {row['time_to_target'][0]})"
        print(f"{row['name']:<52} {row['images_per_second']:>6,.0f}  {accuracy:<20} {reached}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.bench.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times every case is measured (interleaved)")
    parser.add_argument("--images", type=int, default=2048, help="timed images per measurement")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder holding cifar-10-batches-py")
    parser.add_argument("--accuracy", action="store_true", help="also train a few course-path settings to accuracy")
    parser.add_argument("--accuracy-epochs", type=int, default=2, help="epochs per setting with --accuracy")
    parser.add_argument("--no-throughput", action="store_true", help="skip the step-time sweep")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    for name in ("rounds", "images", "accuracy_epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    root = args.data_dir if args.data_dir is not None else cu.data.data_dir()
    if not (root / "cifar-10-batches-py" / "data_batch_1").is_file():
        parser.error(f"{root / 'cifar-10-batches-py'} has no CIFAR-10 files: pass --data-dir.")

    facts = machine.machine_facts(torch.device("cpu"))
    print(f"machine: {facts['cpu']}, {facts['cpu_count']} CPUs ({', '.join(facts['cpu_flags'])}) | torch "
          f"{facts['torch']}, {facts['torch_threads']} threads | load average {facts['load_average'][0]:.1f}")
    with course.quiet():
        train_loader, test_loader = cu.make_loaders("cifar10", 64, root=root, fast=False)
    report = {"machine": facts}
    if not args.no_throughput:
        normalized = train_loader.dataset.normalized()   # the sweep slices its own batches from these
        rows = throughput_sweep(default_cases(), normalized, train_loader.y, args.rounds, args.images)
        print(f"training steps, {args.rounds} rounds in shuffled order, ~{args.images} images per measurement")
        _print_throughput(rows)
        report["throughput"] = rows
    if args.accuracy:
        rows = accuracy_sweep(DEFAULT_TRAINING_CASES, train_loader.dataset, test_loader, args.accuracy_epochs, 0.55)
        _print_accuracy(rows, 0.55)
        report["accuracy"] = rows
    report["load_average_end"] = machine.machine_facts(torch.device("cpu"))["load_average"]
    print(f"\nload average at the end: {report['load_average_end'][0]:.1f}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
