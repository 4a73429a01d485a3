"""The command line: ``python -m course_tools.live``.

::

    python -m course_tools.live                  # stamp lectures, (re)write live twins and solutions
    python -m course_tools.live --check          # change nothing; exit 1 and list every problem
    python -m course_tools.live --record         # also run every checked lecture (fast mode) and record its checks
    python -m course_tools.live --record 03-logistic-regression    # ... only this lecture
    python -m course_tools.live --fill /tmp/filled   # write each checked twin with its blanks filled in

Exit status: 0 when all is well, 1 when there are problems (each printed on its own line:
notebook, cell, reason), 2 for a wrong configuration or command line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from course_utils.live.packagedata import checks_path, json_text, write_text_atomic

from .course import RunReport, run
from .files import display, lecture_notebooks, write_notebook
from .settings import ColabConfig, LiveSettings, read_colab_config, read_live_settings

GUIDE = "see docs/instructors.md, 'Writing a lecture so its live twin comes out right'."


def find_repo_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder up from ``start`` (default: the working
    directory) that holds ``pyproject.toml`` and ``notebooks/``; otherwise the checkout
    this package was imported from."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_tools.live",
        description="Generate notebooks/live/NN-topic-live.ipynb from every lecture notebook "
        "notebooks/NN-topic.ipynb and stamp the Colab badge and install cell into both.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale or wrong")
    parser.add_argument("--record", nargs="*", metavar="LECTURE",
                        help="run the checked lectures (or only these, e.g. 03-logistic-regression) in fast mode "
                             "and record their self-checks")
    parser.add_argument("--full", action="store_true", help="with --record: run without fast mode")
    parser.add_argument("--timeout", type=int, default=1800, help="with --record: seconds per cell (default 1800)")
    parser.add_argument("--fill", type=Path, metavar="DIR",
                        help="write every checked lecture's live twin with its blanks filled in to DIR")
    parser.add_argument("--notebooks", type=Path, help="the lecture notebooks folder (default: notebooks/)")
    parser.add_argument("--config", type=Path, help="pyproject.toml with [tool.course_utils.colab]")
    parser.add_argument("--data", type=Path,
                        help="folder for solutions/ and checks/ (default: course_utils/live/data beside pyproject.toml)")
    return parser


def _print_report(report: RunReport, notebooks_dir: Path, check: bool, config: ColabConfig) -> int:
    for line in report.written:
        print(line if line.startswith("removed") else f"wrote {line}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    checked = f"{len(report.checked)} checked" if report.checked else "none checked yet"
    note = ""
    if report.warnings:
        note = (f" {len(report.warnings)} warning(s) from the dependency check of lectures that are not in "
                "[tool.course_utils.live] checked (they become problems once a lecture is).")
    if report.problems:
        print(f"{len(report.problems)} problem(s) in {display(notebooks_dir)}; {GUIDE}", file=sys.stderr)
        return 1
    if check:
        print(f"OK: {report.lectures} lecture notebook(s) in {display(notebooks_dir)} ({checked}): live twins and "
              f"Colab cells up to date, all {report.code_cells} live code cells parse.{note}")
    else:
        print(f"OK: {report.lectures} lecture notebook(s) ({checked}), {len(report.written)} file(s) written "
              f"(Colab: {config.repository}@{config.branch}).{note}")
    return 0


def _record(names: list[str], notebooks_dir: Path, config: ColabConfig, settings: LiveSettings, data_dir: Path,
            notebooks_path: str, full: bool, timeout: int) -> int:
    from .recording import RecordError, record_lecture  # noqa: PLC0415 - needs nbclient

    lectures = {path.stem: path for path in lecture_notebooks(notebooks_dir)}
    chosen = names or [stem for stem in lectures if settings.is_checked(stem)]
    for stem in chosen:
        if stem not in lectures:
            print(f"error: no lecture {stem}.ipynb in {display(notebooks_dir)}", file=sys.stderr)
            return 2
        if not settings.is_checked(stem):
            print(f"error: {stem} is not in [tool.course_utils.live] checked in pyproject.toml, so its live twin "
                  "has no self-checks to record; add it there first", file=sys.stderr)
            return 2
    if not chosen:
        print("Nothing to record: no lecture is in [tool.course_utils.live] checked in pyproject.toml.")
    status = 0
    for stem in chosen:
        mode = "a full run" if full else "fast mode"
        print(f"recording {stem} ({mode}: this runs the whole lecture) ...", flush=True)
        try:
            data = record_lecture(lectures[stem], config, notebooks_path, fast=not full, timeout=timeout)
        except RecordError as error:
            print(f"error: recording {stem} failed, nothing written:\n{error}", file=sys.stderr)
            status = 1
            continue
        path = checks_path(stem, data_dir)
        write_text_atomic(path, json_text(data))
        print(f"wrote {display(path)} ({len(data['blanks'])} self-check(s))")
    return status


def _fill(folder: Path, notebooks_dir: Path, config: ColabConfig, settings: LiveSettings, notebooks_path: str) -> int:
    from .recording import _filled  # noqa: PLC0415

    written = 0
    for path in lecture_notebooks(notebooks_dir):
        if settings.is_checked(path.stem):
            _, _, filled = _filled(path, config, notebooks_path)
            target = folder / f"{path.stem}-filled.ipynb"
            write_notebook(filled, target)
            print(f"wrote {display(target)}")
            written += 1
    print(f"OK: {written} filled live twin(s) in {display(folder)}; run them from {display(notebooks_dir)} "
          "(their kernel's working folder) with COURSE_FAST=1 COURSE_LIVE_STRICT=1.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring. Returns the exit status."""
    args = _parser().parse_args(argv)
    root = find_repo_root()
    notebooks_dir = args.notebooks or root / "notebooks"
    config_path = args.config
    if config_path is None:
        beside = notebooks_dir.parent / "pyproject.toml"
        config_path = beside if args.notebooks and beside.is_file() else root / "pyproject.toml"
    if not notebooks_dir.is_dir():
        print(f"error: no notebooks folder at {notebooks_dir}; pass --notebooks DIR", file=sys.stderr)
        return 2
    try:
        config = read_colab_config(config_path)
        settings = read_live_settings(config_path)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if sum([args.check, args.record is not None, args.fill is not None]) > 1:
        print("error: use one of --check, --record and --fill at a time", file=sys.stderr)
        return 2
    repo_root = config_path.parent
    data_dir = args.data or repo_root / "course_utils" / "live" / "data"
    options = {"repo_root": repo_root, "settings": settings, "data_dir": data_dir}
    from .files import repo_relative  # noqa: PLC0415
    notebooks_path = repo_relative(notebooks_dir, repo_root)

    if args.fill is not None:
        return _fill(args.fill, notebooks_dir, config, settings, notebooks_path)
    if args.record is not None:
        written = run(notebooks_dir, config, check=False, **options)
        for line in written.written:
            print(line if line.startswith("removed") else f"wrote {line}")
        status = _record(args.record, notebooks_dir, config, settings, data_dir, notebooks_path, args.full, args.timeout)
        if status == 2:
            return status
        final = _print_report(run(notebooks_dir, config, check=True, **options), notebooks_dir, True, config)
        return max(status, final)
    report = run(notebooks_dir, config, check=args.check, **options)
    return _print_report(report, notebooks_dir, args.check, config)
