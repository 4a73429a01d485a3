"""The command line: ``python -m course_tools.live``.

::

    python -m course_tools.live                  # stamp lectures, (re)write live twins and solutions
    python -m course_tools.live --check          # change nothing; exit 1 and list every problem
    python -m course_tools.live --record         # also run every checked lecture (fast mode) and record its checks
    python -m course_tools.live --record 03-logistic-regression    # ... only this lecture
    python -m course_tools.live --fill /tmp/filled   # write each checked twin with its blanks filled in
    python -m course_tools.live --replace-work   # also replace live twins that hold work (a copy goes to class-work/)

Exit status: 0 when all is well, 1 when there are problems (each printed on its own line:
notebook, cell, reason), 2 for a wrong configuration or command line. A wrong command line
or configuration (a misspelt lecture, a damaged pyproject.toml or lecture, a --fill folder
that is a file or cannot be written) is refused before anything is written, naming the file.
"""
from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import nbformat

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
    parser.add_argument("--replace-work", action="store_true",
                        help="also replace live twins that hold work done in them (run cells, filled blanks); "
                             "each is copied to class-work/ first")
    return parser


class UsageError(Exception):
    """A wrong command line or configuration: printed as "error: ...", exit status 2, nothing written."""


def _close(name: str, names: list[str]) -> str:
    """``; did you mean 03-logistic-regression?`` or nothing."""
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else ""


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
        note = (f" {len(report.warnings)} warning(s) from the dependency check above (hints that show students "
                "the self-check's calls, or lectures not yet in [tool.course_utils.live] checked: problems once they are).")
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


def _record_names(names: list[str], lectures: dict[str, Path], settings: LiveSettings, notebooks_dir: Path) -> list[str]:
    """The lectures to record, every name checked before anything is written."""
    for stem in names:
        if stem.endswith(".ipynb") or "/" in stem:
            raise UsageError(f"--record takes lecture names such as 03-logistic-regression (no folder, no .ipynb), "
                             f"got {stem!r}")
        if stem not in lectures:
            raise UsageError(f"no lecture {stem}.ipynb in {display(notebooks_dir)}{_close(stem, list(lectures))} "
                             "Nothing was written.")
        if not settings.is_checked(stem):
            raise UsageError(f"{stem} is not in [tool.course_utils.live] checked in pyproject.toml, so its live twin "
                             "has no self-checks to record; add it there first. Nothing was written.")
    return names or [stem for stem in lectures if settings.is_checked(stem)]


def _record(chosen: list[str], lectures: dict[str, Path], config: ColabConfig, data_dir: Path,
            notebooks_path: str, full: bool, timeout: int) -> int:
    from .recording import RecordError, record_lecture  # noqa: PLC0415 - needs nbclient

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


def _writable_folder(folder: Path, option: str) -> None:
    """``folder`` must be a folder (or not exist yet, below folders) that this user can write into."""
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                what = "is a file" if parent == folder else f"is below {parent}, which is a file"
                raise UsageError(f"{option} {folder}: {what}, not a folder. Give a folder (it is created if missing).")
            break
    existing = next(parent for parent in [folder, *folder.parents] if parent.exists())
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".course-live-write-test-"):
            pass
    except OSError as error:
        raise UsageError(f"{option} {folder}: cannot write into {existing} ({error.strerror or error}). Give a folder "
                         "you can write to.") from None


def _filled_notebooks(notebooks_dir: Path, config: ColabConfig, settings: LiveSettings,
                      notebooks_path: str) -> list[tuple[Path, nbformat.NotebookNode]]:
    """Every checked lecture's filled twin, made in memory: a lecture that cannot be read is named first."""
    from .recording import _filled  # noqa: PLC0415

    filled = []
    for path in lecture_notebooks(notebooks_dir):
        if settings.is_checked(path.stem):
            try:
                _, _, notebook = _filled(path, config, notebooks_path)
            except Exception as error:  # noqa: BLE001 - a damaged lecture: say which, write nothing
                first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise UsageError(f"cannot make the filled twin of {display(path)}: {first[:200]} "
                                 "(run python -m course_tools.live --check for details). Nothing was written.") from None
            filled.append((path, notebook))
    return filled


def _fill(folder: Path, notebooks_dir: Path, config: ColabConfig, settings: LiveSettings, notebooks_path: str) -> int:
    filled = _filled_notebooks(notebooks_dir, config, settings, notebooks_path)
    _writable_folder(folder, "--fill")
    for path, notebook in filled:
        target = folder / f"{path.stem}-filled.ipynb"
        try:
            write_notebook(notebook, target)
        except OSError as error:
            raise UsageError(f"--fill {folder}: cannot write {target.name} there ({error.strerror or error}).") from None
        print(f"wrote {display(target)}")
    print(f"OK: {len(filled)} filled live twin(s) in {display(folder)}; run them from {display(notebooks_dir)} "
          "(their kernel's working folder) with COURSE_FAST=1 COURSE_LIVE_STRICT=1.")
    return 0


def _options_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of options, if anything."""
    if sum([args.check, args.record is not None, args.fill is not None]) > 1:
        return "use one of --check, --record and --fill at a time"
    if args.full and args.record is None:
        return "--full only goes with --record (it records from a full run instead of fast mode)"
    if args.timeout != 1800 and args.record is None:
        return "--timeout only goes with --record (seconds per cell while recording)"
    if args.timeout <= 0:
        return f"--timeout must be a positive number of seconds per cell, got {args.timeout}"
    if args.replace_work and (args.check or args.fill is not None):
        return "--replace-work goes with writing the twins (python -m course_tools.live --replace-work), not with " \
               + ("--check" if args.check else "--fill")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring. Returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    problem = _options_problem(args)
    if problem:
        raise UsageError(problem)
    root = find_repo_root()
    notebooks_dir = args.notebooks or root / "notebooks"
    config_path = args.config
    if config_path is None:
        beside = notebooks_dir.parent / "pyproject.toml"
        config_path = beside if args.notebooks and beside.is_file() else root / "pyproject.toml"
    if not notebooks_dir.is_dir():
        what = "is a file, not a folder" if notebooks_dir.exists() else "does not exist"
        raise UsageError(f"the notebooks folder {notebooks_dir} {what}; pass --notebooks DIR")
    try:
        config = read_colab_config(config_path)
        settings = read_live_settings(config_path)
    except (OSError, ValueError, RuntimeError) as error:
        raise UsageError(str(error)) from None
    repo_root = config_path.parent
    data_dir = args.data or repo_root / "course_utils" / "live" / "data"
    if data_dir.exists() and not data_dir.is_dir():
        raise UsageError(f"--data {data_dir} is a file; it should be the folder that holds solutions/ and checks/")
    options = {"repo_root": repo_root, "settings": settings, "data_dir": data_dir}
    from .files import repo_relative  # noqa: PLC0415
    notebooks_path = repo_relative(notebooks_dir, repo_root)

    if args.fill is not None:
        return _fill(args.fill, notebooks_dir, config, settings, notebooks_path)
    if args.record is not None:
        lectures = {path.stem: path for path in lecture_notebooks(notebooks_dir)}
        chosen = _record_names(args.record, lectures, settings, notebooks_dir)
        written = run(notebooks_dir, config, check=False, replace_work=args.replace_work, **options)
        for line in written.written:
            print(line if line.startswith("removed") else f"wrote {line}")
        for problem in written.problems:
            print(problem, file=sys.stderr)
        status = _record(chosen, lectures, config, data_dir, notebooks_path, args.full, args.timeout)
        final = _print_report(run(notebooks_dir, config, check=True, **options), notebooks_dir, True, config)
        return max(status, final)
    report = run(notebooks_dir, config, check=args.check, replace_work=args.replace_work, **options)
    return _print_report(report, notebooks_dir, args.check, config)
