"""One benchmark run: check the options, measure everything, print the report, write the JSON file.

The order of a run:

1. machine facts, the matmul peak and the model's FLOPs per training image;
2. CIFAR-10 load times, in a fresh temporary data directory holding a symlink
   to the raw folder (so the course's own ``data/cache`` is never touched);
3. both pipelines set up with the same seed (same initial weights for the same
   model class);
4. a full run alternates the pipelines epoch by epoch (original epoch 1, course
   epoch 1, original epoch 2, ...), so that a machine that gets busier or quieter
   during the run affects both alike; ``--quick`` times a fixed number of
   batches of each after a few warm-up batches;
5. with ``--nbval``, the notebooks' fast-mode nbval run.

Example:
    >>> result = run_benchmark(parse_args(["--quick"]))     # doctest: +SKIP
    >>> result["ratios"]["images_per_second"]              # doctest: +SKIP
    4.1
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

import torch

import course_utils as cu
from course_tools.bench import course, machine, original, results
from course_tools.bench.model import LectureConvNet, count_flops
from course_tools.bench.nbval import run_nbval
from course_tools.bench.options import PROGRAM, BenchOptions, check_options, parse_args, repository_root
from course_tools.bench.report import format_report


def _model(seed: int) -> LectureConvNet:
    cu.seed_everything(seed)
    return LectureConvNet()


def _course_description(options: BenchOptions, settings: dict) -> str:
    chosen = (f"{settings.get('precision')}, "
              f"{'channels_last' if settings.get('channels_last') else 'standard layout'}") if settings else "?"
    return (f"cu.make_loaders('cifar10', batch_size={options.batch_size}) + cu.train(epochs=1 per call, "
            f"precision={options.precision!r}, channels_last={options.channels_last!r}; chose {chosen}) "
            f"+ cu.evaluate after each epoch; Adam lr {options.lr:g} ({options.adam} implementation)")


ORIGINAL_DESCRIPTION = ("torchvision CIFAR10 + Compose([ToTensor(), Normalize(0.5, 0.5)]) per image, "
                        "DataLoader(batch_size=4, shuffle=True, num_workers=2), Adam lr 1e-3, the lecture's loop "
                        "(loss.item() every batch), test loop with batch 4 after each epoch")


def run_benchmark(options: BenchOptions, command: str = "run_benchmark()") -> dict:
    """Measure everything ``options`` asks for and return the results (see ``results.SCHEMA``).

    ``command`` is recorded in the results (how the run was started).
    """
    device = check_options(options)
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    started = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    facts = machine.machine_facts(device)
    peak = machine.matmul_peak(device, options.matmul_size, options.matmul_repeats)
    flops = count_flops(LectureConvNet(), (3, 32, 32))
    model_facts = {"name": "LectureConvNet", "parameters": sum(p.numel() for p in LectureConvNet().parameters()),
                   **flops.as_dict()}

    with course.fresh_data_dir(options.raw_folder) as root:
        loading = course.load_times(root, options.batch_size, device, options.load_repeats, options.info)
        train_loader, test_loader, course_setup = course.course_loaders(root, options.batch_size, device, options.info)
        ours = course.CoursePipeline(_model(options.seed), train_loader, test_loader, device, lr=options.lr,
                                     precision=options.precision, channels_last=options.channels_last,
                                     adam=options.adam)
        start = time.perf_counter()
        lecture_train, lecture_test = original.lecture_loaders(options.raw_folder.parent, options.original_workers,
                                                               options.seed)
        original_setup = time.perf_counter() - start
        theirs = original.OriginalPipeline(_model(options.seed), lecture_train, lecture_test, device)

        if options.quick:
            images, seconds, loss = theirs.train_batches(options.quick_original_batches, options.warmup_batches)
            original_epochs = [results.EpochResult(1, images, seconds, train_loss=loss)]
            course_epochs = [ours.quick(options.quick_batches, options.warmup_batches)]
        else:
            original_epochs, course_epochs = [], []
            for _ in range(options.epochs):
                original_epochs.append(theirs.epoch())
                course_epochs.append(ours.epoch())

    pipelines = {
        "original": results.summarize_pipeline(ORIGINAL_DESCRIPTION, original.LECTURE_BATCH_SIZE, original_setup,
                                               original_epochs, flops.train_flops, peak, options.target),
        "course": results.summarize_pipeline(_course_description(options, ours.settings), options.batch_size,
                                             course_setup, course_epochs, flops.train_flops, peak, options.target,
                                             settings=ours.settings),
    }
    notes = [original.OFFLINE_NOTE, results.TIME_RULE,
             "images/s: training images / training seconds (evaluation not included)",
             "share of peak: (training FLOPs per image × images/s) / the matmul peak"]
    if device.type == "cuda":
        notes.append("CUDA: clocks read after torch.cuda.synchronize; the course loaders' move of the data to "
                     "the GPU is part of setup and of the load times; the original moves each batch")
    result = {
        "schema": results.SCHEMA, "mode": "quick" if options.quick else "full",
        "command": command, "started": started, "machine": facts, "options": _options_dict(options), "peak": peak,
        "model": model_facts, "loading": loading, "pipelines": pipelines,
        "ratios": results.compare(pipelines["original"], pipelines["course"], options.epochs),
        "target": options.target, "time_rule": results.TIME_RULE,
        "nbval": run_nbval(repository_root()) if options.nbval else None,
        "notes": notes, "load_average_end": machine.machine_facts(device)["load_average"],
    }
    results.check_result(result)
    return result


def _options_dict(options: BenchOptions) -> dict:
    values = {key: value for key, value in vars(options).items() if key != "info"}
    values["data_dir"] = str(options.raw_folder.parent)
    values["json"] = str(options.json)
    values["dataset"] = options.dataset.name if options.info is None else f"{options.info.name} (custom entry)"
    return values


def main(argv: list[str] | None = None) -> int:
    """The command line: run, print the report, write the JSON file. Exit status 2 for a wrong option."""
    argv = sys.argv[1:] if argv is None else list(argv)
    options = parse_args(argv)
    try:
        check_options(options)
    except ValueError as error:
        text = str(error)
        print(text if text.startswith(PROGRAM) else f"{PROGRAM}: {text}", file=sys.stderr)
        return 2
    result = run_benchmark(options, " ".join(["python -m course_tools.bench", *argv]))
    print(format_report(result))
    results.write_json(result, options.json)
    print(f"\nresults written to {options.json}")
    return 0
