"""Turning measurements into the benchmark's results: per-epoch records, time to target, ratios, JSON.

**Time to target.** Test accuracy is measured after every epoch, so a pipeline
"reaches" the target at the end of the first epoch whose test accuracy is at
least the target. Its time to target is the sum, over the epochs up to and
including that one, of the training time AND the test evaluation time (the
evaluations are what tells you the target was reached). Loading the data into
the pipeline's loaders (``setup_seconds``) is not included; it is reported
beside it. The same rule is used for both pipelines.

**Images per second** counts training only: the training images of all epochs
divided by the training seconds of all epochs (evaluation not included).

Example:
    >>> time_to_target([0.49, 0.56, 0.58], [90.0, 88.0, 87.0], 0.55)
    (2, 178.0)
    >>> time_to_target([0.49, 0.52], [90.0, 88.0], 0.55) is None
    True
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Changes whenever a key of the JSON file is renamed, removed or changes meaning.
SCHEMA = "course_tools.bench/1"

TIME_RULE = ("time to target = training + the test evaluation after each epoch, summed up to the first epoch "
             "whose test accuracy reaches the target; loading the data (setup) not included")

#: The keys every results file has (see ``check_result``).
TOP_KEYS = ("schema", "mode", "command", "started", "machine", "options", "peak", "model", "loading",
            "pipelines", "ratios", "target", "time_rule", "nbval", "notes", "load_average_end")
PIPELINE_KEYS = ("description", "batch_size", "setup_seconds", "epochs", "images", "train_seconds",
                 "images_per_second", "achieved_gflops", "share_of_float32_peak", "share_of_bfloat16_peak",
                 "time_to_target")
EPOCH_KEYS = ("epoch", "images", "train_seconds", "eval_seconds", "test_accuracy", "train_loss")


@dataclass
class EpochResult:
    """What one epoch of a pipeline took and reached (accuracy 0-1; None in quick mode)."""

    epoch: int
    images: int
    train_seconds: float
    eval_seconds: float | None = None
    test_accuracy: float | None = None
    train_loss: float | None = None

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in EPOCH_KEYS}


def time_to_target(accuracies: Sequence[float], seconds: Sequence[float], target: float) -> tuple[int, float] | None:
    """(epoch, cumulative seconds) at the first epoch whose accuracy is ≥ ``target``; None if none is.

    ``accuracies[i]`` is the test accuracy after epoch i + 1 and ``seconds[i]`` what
    that epoch took (training + evaluation).
    """
    if len(accuracies) != len(seconds):
        raise ValueError(f"need one time per accuracy: {len(accuracies)} accuracies, {len(seconds)} times.")
    total = 0.0
    for epoch, (accuracy, spent) in enumerate(zip(accuracies, seconds), start=1):
        total += spent
        if accuracy is not None and accuracy >= target:
            return epoch, total
    return None


def summarize_pipeline(description: str, batch_size: int, setup_seconds: float, epochs: list[EpochResult],
                       train_flops: int, peak: dict, target: float, **extra) -> dict:
    """One pipeline's entry in the results: its epochs, throughput, share of the peak, time to target."""
    images = sum(e.images for e in epochs)
    train_seconds = sum(e.train_seconds for e in epochs)
    per_second = images / train_seconds if train_seconds > 0 else math.nan
    achieved = train_flops * per_second / 1e9
    bf16 = peak.get("bfloat16_gflops")
    reached = None
    if all(e.test_accuracy is not None for e in epochs) and epochs:
        found = time_to_target([e.test_accuracy for e in epochs],
                               [e.train_seconds + (e.eval_seconds or 0.0) for e in epochs], target)
        reached = None if found is None else {"epoch": found[0], "seconds": found[1]}
    return {"description": description, "batch_size": batch_size, "setup_seconds": setup_seconds,
            "epochs": [e.as_dict() for e in epochs], "images": images, "train_seconds": train_seconds,
            "images_per_second": per_second, "achieved_gflops": achieved,
            "share_of_float32_peak": achieved / peak["float32_gflops"],
            "share_of_bfloat16_peak": achieved / bf16 if bf16 else None,
            "time_to_target": reached, **extra}


def compare(original: dict, course: dict, epochs_run: int) -> dict:
    """Ratios course / original: throughput, and time to target (original / course: how many times shorter)."""
    ratios = {"images_per_second": course["images_per_second"] / original["images_per_second"],
              "time_to_target": None, "time_to_target_text": "not measured (quick mode: no accuracy)"}
    slow, fast = original["time_to_target"], course["time_to_target"]
    if original["epochs"] and original["epochs"][0]["test_accuracy"] is None:
        return ratios
    if slow and fast:
        ratios["time_to_target"] = slow["seconds"] / fast["seconds"]
        ratios["time_to_target_text"] = f"{ratios['time_to_target']:.1f}× shorter"
    elif fast:   # the original did not get there: its time is more than all the epochs it ran
        spent = sum(e["train_seconds"] + e["eval_seconds"] for e in original["epochs"])
        ratios["time_to_target_text"] = (f"more than {spent / fast['seconds']:.1f}× shorter (the original did not "
                                         f"reach the target in {epochs_run} epochs)")
    else:
        ratios["time_to_target_text"] = f"the course path did not reach the target in {epochs_run} epochs"
    return ratios


def check_result(result: dict) -> None:
    """Raise ValueError naming what is missing or mistyped in a results dictionary (the JSON schema)."""
    missing = [key for key in TOP_KEYS if key not in result]
    if missing:
        raise ValueError(f"benchmark result is missing the keys {missing}.")
    if result["schema"] != SCHEMA:
        raise ValueError(f"benchmark result has schema {result['schema']!r}, expected {SCHEMA!r}.")
    if result["mode"] not in ("quick", "full"):
        raise ValueError(f"mode must be 'quick' or 'full', got {result['mode']!r}.")
    for name in ("original", "course"):
        pipeline = result["pipelines"].get(name)
        if pipeline is None:
            raise ValueError(f"benchmark result has no pipeline {name!r}.")
        absent = [key for key in PIPELINE_KEYS if key not in pipeline]
        if absent:
            raise ValueError(f"pipeline {name!r} is missing the keys {absent}.")
        if not pipeline["epochs"] or any(sorted(epoch) != sorted(EPOCH_KEYS) for epoch in pipeline["epochs"]):
            raise ValueError(f"pipeline {name!r}: every epoch needs exactly the keys {list(EPOCH_KEYS)}.")
        if not (isinstance(pipeline["images_per_second"], float) and pipeline["images_per_second"] > 0):
            raise ValueError(f"pipeline {name!r}: images_per_second must be a positive number, "
                             f"got {pipeline['images_per_second']!r}.")
    for key in ("first_seconds", "cached_seconds"):
        if not isinstance(result["loading"].get(key), float):
            raise ValueError(f"loading.{key} must be a number of seconds, got {result['loading'].get(key)!r}.")
    if not isinstance(result["peak"].get("float32_gflops"), float):
        raise ValueError("peak.float32_gflops must be a number.")


def write_json(result: dict, path: Path) -> None:
    """Write the results to ``path`` under a temporary name, then rename (never half-written)."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        temp.write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
