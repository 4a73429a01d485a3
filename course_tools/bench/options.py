"""The benchmark's options: the command-line flags, their defaults, and the checks made before anything runs.

Example:
    >>> options = parse_args(["--quick", "--batch-size", "128"])
    >>> options.quick, options.batch_size, options.target
    (True, 128, 0.55)
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from course_tools.bench.course import ADAM_VARIANTS
from course_utils import checks
from course_utils.config import data_dir, fast_mode
from course_utils.data import DatasetInfo, dataset_info

#: The files a cifar-10-batches-py folder must hold.
CIFAR_FILES = ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")

#: The course path's default batch size (what ``cu.make_loaders`` uses by default).
DEFAULT_BATCH_SIZE = 64


@dataclass
class BenchOptions:
    """Everything one benchmark run needs (``parse_args`` fills it from the command line)."""

    quick: bool = False
    epochs: int = 3
    batch_size: int = DEFAULT_BATCH_SIZE
    target: float = 0.55
    device: str = "auto"
    threads: int | None = None
    precision: str = "auto"
    channels_last: bool | str = "auto"
    adam: str = "default"
    lr: float = 1e-3
    seed: int = 0
    data_dir: Path | None = None
    json: Path = Path("bench-results.json")
    nbval: bool = False
    quick_batches: int = 100
    quick_original_batches: int = 500
    warmup_batches: int = 10
    load_repeats: int = 3
    matmul_size: int = 2048
    matmul_repeats: int = 10
    original_workers: int = 2          # the lecture's num_workers (not a flag)
    info: DatasetInfo | None = None    # another registry entry, for tests on tiny data (not a flag)

    @property
    def raw_folder(self) -> Path:
        """The ``cifar-10-batches-py`` folder both pipelines read."""
        return (self.data_dir if self.data_dir is not None else data_dir()) / "cifar-10-batches-py"

    @property
    def dataset(self) -> DatasetInfo:
        return self.info if self.info is not None else dataset_info("cifar10")


def _on_off_auto(text: str) -> bool | str:
    choices = {"auto": "auto", "on": True, "off": False}
    if text not in choices:
        raise argparse.ArgumentTypeError(f"expected auto, on or off, got {text!r}")
    return choices[text]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_tools.bench",
        description="The original lecture's CIFAR-10 pipeline against the course's default path, in one run.")
    add = parser.add_argument
    add("--quick", action="store_true",
        help="throughput only: a fixed number of batches per pipeline, no accuracy (under a minute on 2 cores)")
    add("--epochs", type=int, default=3, help="epochs per pipeline in a full run (the cap for time to target)")
    add("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="the course path's batch size (default %(default)s)")
    add("--target", type=float, default=55.0, help="test accuracy to reach, in percent (default %(default)s)")
    add("--device", default="auto", help="cpu, cuda, cuda:N or auto (cu.get_device(): cuda if there is one)")
    add("--threads", type=int, default=None, help="torch.set_num_threads for the whole run (default: torch's)")
    add("--precision", default="auto", choices=("auto", "float32", "bfloat16", "float16"),
        help="cu.train's precision= (default auto: chosen by measurement)")
    add("--channels-last", type=_on_off_auto, default="auto", metavar="{auto,on,off}",
        help="cu.train's channels_last= (default auto)")
    add("--adam", default="default", choices=ADAM_VARIANTS,
        help="the course path's Adam: torch's default implementation (what cu.train makes), foreach or fused")
    add("--lr", type=float, default=1e-3, help="the course path's learning rate (the original uses 1e-3)")
    add("--seed", type=int, default=0, help="seed for both models' weights and both shuffles")
    add("--data-dir", type=Path, default=None,
        help="folder that holds cifar-10-batches-py (default: the course data directory)")
    add("--json", type=Path, default=Path("bench-results.json"), help="where to write the results (default %(default)s)")
    add("--nbval", action="store_true", help="also time the fast-mode nbval run of every lecture notebook")
    add("--quick-batches", type=int, default=100, help="timed batches of the course path in --quick")
    add("--quick-original-batches", type=int, default=500, help="timed batches (of 4) of the original in --quick")
    add("--warmup-batches", type=int, default=10, help="untimed batches before the clock starts in --quick")
    add("--load-repeats", type=int, default=3, help="tries per load-time measurement; the best counts")
    return parser


def parse_args(argv: list[str] | None = None) -> BenchOptions:
    """The options from the command line (``argv``; default ``sys.argv[1:]``), not yet checked."""
    args = build_parser().parse_args(argv)
    return BenchOptions(quick=args.quick, epochs=args.epochs, batch_size=args.batch_size, target=args.target / 100,
                        device=args.device, threads=args.threads, precision=args.precision,
                        channels_last=args.channels_last, adam=args.adam, lr=args.lr, seed=args.seed,
                        data_dir=args.data_dir, json=args.json, nbval=args.nbval, quick_batches=args.quick_batches,
                        quick_original_batches=args.quick_original_batches, warmup_batches=args.warmup_batches,
                        load_repeats=args.load_repeats)


PROGRAM = "python -m course_tools.bench"


def _writable_file(path: Path, flag: str) -> None:
    """``path`` must be a file that can be written: not a folder, in a folder that exists and takes new files.

    Checked by writing (and removing) a small file beside it, which is what counts (a read-only
    folder refuses it even to root where ``os.access`` would say yes).
    """
    path = Path(path)
    if path.is_dir():
        raise checks.refusal(ValueError, PROGRAM, flag, "a file name such as bench-results.json",
                             f"{str(path)!r}, which is a folder", f"Write into it: {flag} {path / 'bench-results.json'}.")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise checks.refusal(ValueError, PROGRAM, flag, "a file in a folder that exists",
                             f"{str(path)!r} (the folder {parent} does not exist)", "Create the folder or pick another path.")
    probe = parent / f".{path.name}.{os.getpid()}.probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise checks.refusal(ValueError, PROGRAM, flag, "a file in a folder you can write to",
                             f"{str(path)!r} ({error.strerror or error} in {parent})",
                             "Pick a folder of your own, e.g. --json ~/bench-results.json.") from None


def check_options(options: BenchOptions) -> torch.device:
    """Check every option before any data is read or anything is trained; return the device to use.

    A wrong option is a ``ValueError`` in the one message format, naming the flag as typed:
    ``python -m course_tools.bench: --lr must be a positive number such as 1e-3 (the learning rate), got inf.``
    """
    try:
        checks.arguments(
            PROGRAM, **{"--epochs": (options.epochs, checks.positive_int),
                        "--batch-size": (options.batch_size, checks.positive_int),
                        "--quick-batches": (options.quick_batches, checks.positive_int),
                        "--quick-original-batches": (options.quick_original_batches, checks.positive_int),
                        "--warmup-batches": (options.warmup_batches, checks.positive_int),
                        "--load-repeats": (options.load_repeats, checks.positive_int),
                        "matmul_size": (options.matmul_size, checks.positive_int),
                        "matmul_repeats": (options.matmul_repeats, checks.positive_int),
                        "--threads": (1 if options.threads is None else options.threads, checks.positive_int),
                        "--lr": (options.lr, checks.learning_rate),
                        "--seed": (options.seed, checks.seed)})
    except TypeError as error:
        raise ValueError(str(error)) from None
    if not (isinstance(options.target, (int, float)) and 0 < options.target <= 1):
        raise checks.refusal(ValueError, PROGRAM, "--target", "a test accuracy in percent, above 0 and at most 100",
                             f"{options.target * 100:g}", "For 55 % write --target 55.")
    if fast_mode():
        raise ValueError("COURSE_FAST is set: fast mode shrinks the data and caps the epochs, so the benchmark "
                         "would not measure the real thing. Unset it (env -u COURSE_FAST ...).")
    if options.data_dir is not None and Path(options.data_dir).exists() and not Path(options.data_dir).is_dir():
        raise checks.refusal(ValueError, PROGRAM, "--data-dir", "the folder that holds cifar-10-batches-py",
                             f"{str(options.data_dir)!r}, which is a file")
    missing = [name for name in CIFAR_FILES if not (options.raw_folder / name).is_file()]
    if missing:
        raise ValueError(f"data_dir: {options.raw_folder} lacks {', '.join(missing)}. Pass --data-dir, the folder "
                         f"that holds cifar-10-batches-py (see data/README.md).")
    _writable_file(options.json, "--json")
    if options.nbval and not any((repository_root() / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        raise ValueError(f"nbval: no lecture notebooks in {repository_root() / 'notebooks'}; --nbval needs a "
                         f"checkout of the course repository.")
    from course_utils.devices import get_device   # checks the name and that the device exists here
    try:
        return get_device(None if options.device == "auto" else options.device)
    except ValueError as error:
        raise ValueError(f"device (--device {options.device}): {error}") from None


def repository_root() -> Path:
    """The checkout this package lives in (course_tools/bench/options.py -> three levels up)."""
    return Path(__file__).resolve().parents[2]
