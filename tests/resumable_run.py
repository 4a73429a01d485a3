"""A small but complete training run for the checkpoint tests: importable, and runnable as a script.

Everything a lecture-08 run has that a resume could get wrong is in it: a ConvNet with
batch normalisation (running statistics) and dropout (random numbers), AdamW (running
averages), a one-cycle schedule (its position), label smoothing, a TensorLoader that
shuffles AND augments (its own per-pass generator) and that was used once before
(so its pass counter is not 0), and a validation loader. Labelled tiny images made here
(8×8, three classes), no data set needed.

As a script (the SIGKILL test runs it in child processes)::

    python tests/resumable_run.py OUT.pt [--checkpoint PATH] [--stall-after N --marker FILE]

trains and saves the final weights, the history (without its clock column) and a few
random draws made after training to OUT.pt. ``--stall-after N`` makes the N-th
training step's forward pass create FILE and then sleep, so that the parent can kill
the process in the middle of an epoch, at a known point.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import course_utils as cu

EPOCHS = 5
BATCHES_PER_EPOCH = 6          # 96 images in batches of 16
CLASSES = ("circle", "square", "cross")


def image_set(n: int, seed: int, split: str) -> "cu.data.ImageSet":
    """``n`` labelled 3×8×8 uint8 images: each class brightens its own channel in the middle."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, len(CLASSES), (n,), generator=generator)
    images = (torch.rand(n, 3, 8, 8, generator=generator) * 60).to(torch.uint8)
    for i, label in enumerate(labels.tolist()):
        images[i, label, 2:6, 2:6] += 120
    return cu.data.ImageSet(images, labels, CLASSES, mean=(0.3, 0.3, 0.3), std=(0.25, 0.25, 0.25), name="tiny",
                       split=split, dataset_title="tiny test images (made by the test)")


def make_model(width: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.Dropout(0.2),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(width * 16, len(CLASSES)))


def run(checkpoint=None, *, epochs: int = EPOCHS, width: int = 4, lr: float = 0.01, hook=None,
        precision: str = "float32", channels_last: bool = False, log_every: int = 2, **train_arguments):
    """Build everything from the seeds, train, and return (model, history, random draws after training)."""
    cu.seed_everything(0)
    train_loader = cu.TensorLoader(image_set(96, 1, "train"), 16, shuffle=True, seed=3,
                                   augment=cu.Augment(padding=1, flip=True))
    val_loader = cu.TensorLoader(image_set(32, 2, "test"), 32)
    for _ in train_loader:      # used once before, as lecture 08 uses its loader for several runs
        pass
    model = make_model(width)
    if hook is not None:
        model.register_forward_hook(hook)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr,
                                                    total_steps=cu.num_epochs(epochs) * len(train_loader))
    history = cu.train(model, train_loader, epochs=epochs, optimizer=optimizer, scheduler=scheduler,
                       loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1), validation=val_loader, log_every=log_every,
                       precision=precision, channels_last=channels_last, progress=False, checkpoint=checkpoint,
                       **train_arguments)
    after = {"torch": torch.rand(4), "numpy": torch.from_numpy(np.random.rand(4)),
             "python": torch.tensor([random.random()]), "loader passes": torch.tensor([train_loader.epoch])}
    return model, history, after


def on_training_step(step: int, action):
    """A forward hook that counts training steps (forward passes in training mode) and calls ``action`` at ``step``."""
    count = 0

    def hook(module, inputs, output):
        nonlocal count
        if module.training:
            count += 1
            if count == step:
                action()

    return hook


def stall_after(steps: int, marker: Path):
    """At training step ``steps``: write ``marker``, then wait to be killed."""
    def stall():
        marker.write_text(f"stalled in training step {steps}\n")
        time.sleep(600)

    return on_training_step(steps, stall)


def interrupt_at(step: int):
    """Press Ctrl-C in training step ``step`` (counted over the whole run)."""
    def interrupt():
        raise KeyboardInterrupt

    return on_training_step(step, interrupt)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--checkpoint")
    parser.add_argument("--stall-after", type=int)
    parser.add_argument("--marker", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    hook = stall_after(args.stall_after, args.marker) if args.stall_after else None
    model, history, after = run(args.checkpoint, hook=hook)
    torch.save({"weights": model.state_dict(), "history": torch.tensor(history.drop(columns="seconds").to_numpy()),
                "after": after}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
