"""The whole course: process every lecture, write (or only check) its twin, Colab cells and package data.

For each lecture ``notebooks/NN-topic.ipynb`` the tool

1. stamps the lecture with its Colab badge and install cell (written back only when changed);
2. builds its live twin ``notebooks/live/NN-topic-live.ipynb``, compared with the file on
   disk by meaning (:func:`course_tools.live.files.same_notebook`), so that a twin JupyterLab
   opened and saved is not stale;
3. runs the dependency check (:mod:`course_tools.live.dependencies`): for a lecture in
   ``[tool.course_utils.live] checked`` its findings are problems, for the others warnings
   (a hint that shows students the self-check's calls is a warning for every lecture);
4. for a checked lecture, writes ``data/solutions/NN-topic.json`` and checks that
   ``data/checks/NN-topic.json`` holds a fresh recorded check for every blank that needs one.

In check mode nothing is written; anything stale becomes a problem instead.

A live twin that holds someone's work -- cells run in class, code typed into its blanks --
is never stale and never overwritten silently: ``--check`` says so, and writing leaves it
alone unless told to replace it (``replace_work=True``, ``--replace-work``), which first
copies it to ``class-work/`` beside the notebooks folder.

Example:
    >>> print(Problem("notebooks/03-x.ipynb", 7, "line 2: '# live-end' without a '# live-start' before it",
    ...               "for epoch in range(3):"))
    notebooks/03-x.ipynb, cell 7 (starts "for epoch in range(3):"): line 2: '# live-end' without a '# live-start' before it
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_utils.live.packagedata import checks_path, json_text, solutions_path, write_text_atomic

from .blanks import find_blanks, solutions_data
from .colab import is_stamped, stamp_colab
from .dependencies import block_bindings, hint_warnings, needs_problems, twin_trees
from .files import (
    WORK_DIR,
    display,
    first_difference,
    holds_work,
    is_generated,
    is_stamped_as,
    keep_a_copy,
    lecture_notebooks,
    live_path_for,
    repo_relative,
    same_notebook,
    stamp_generated,
    write_notebook,
)
from .markers import first_line, lint_notebook
from .settings import ColabConfig, LiveSettings
from .syntax import may_not_parse, parse_problem
from .twin import LIVE_DIR, LIVE_SUFFIX, lecture_stem, live_cell_id, make_live_notebook

FIX = "run python -m course_tools.live"


@dataclass(frozen=True)
class Problem:
    """Something ``--check`` reports: which notebook, which cell (from 1; None = whole notebook), why.

    ``snippet`` is the cell's first line, so that a person finds the cell quickly.
    """

    notebook: str
    cell: int | None
    message: str
    snippet: str = ""

    def __str__(self) -> str:
        where = self.notebook
        if self.cell is not None:
            where += f", cell {self.cell}"
            if self.snippet:
                where += f' (starts "{self.snippet}")'
        return f"{where}: {self.message}"


@dataclass
class LectureResult:
    """What processing one lecture gave: the stamped lecture, its live twin (if markers allow), findings."""

    lecture: Path
    stamped: NotebookNode | None
    stamp_changed: bool
    live: NotebookNode | None
    problems: list[Problem]
    warnings: list[Problem] = field(default_factory=list)
    checked: bool = False
    solutions: dict | None = None


def _cu_problem(lecture: NotebookNode) -> str | None:
    """Checked twins call ``cu.blank``: the lecture must ``import course_utils as cu`` before its first blank."""
    blanks = find_blanks(lecture)
    if not blanks:
        return None
    before = [tree for index, tree in twin_trees(lecture) if index < blanks[0].cell]
    if any("cu" in block_bindings(tree.body)[0] for tree in before):
        return None
    return ("its live twin's blank lines call cu.blank(...), but the lecture does not import course_utils as cu "
            "in a cell before its first blank; add `import course_utils as cu` there")


def process_lecture(path: Path, config: ColabConfig, notebooks_path: str = "notebooks",
                    settings: LiveSettings = LiveSettings()) -> LectureResult:
    """Read one lecture, stamp it, build its twin, and collect every problem (writes nothing).

    Problems found here: unreadable notebook, marker/tag errors, lecture cells or live
    cells that do not parse, and the dependency check (warnings for unchecked lectures).
    """
    shown = display(path)
    try:
        lecture = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - any reading error is reported, not raised
        return LectureResult(path, None, False, None, [Problem(shown, None, f"cannot read the notebook: {error}")])

    stamped = stamp_colab(lecture, config, f"{notebooks_path}/{path.name}")
    checked = settings.is_checked(lecture_stem(path.name))

    def problem(index: int, message: str) -> Problem:
        return Problem(shown, index + 1, message, first_line(lecture.cells[index]))

    marker_problems = [problem(index, message) for index, message in lint_notebook(lecture)]
    parse_problems = []
    for index, cell in enumerate(lecture.cells):
        if cell.cell_type == "code" and not may_not_parse(cell) and not is_stamped(cell):
            reason = parse_problem(cell.source)
            if reason:
                parse_problems.append(problem(index, f"does not parse: {reason}"))
    problems = marker_problems + parse_problems
    warnings: list[Problem] = []

    live = solutions = None
    if not marker_problems:  # markers decide what the twin looks like: no twin while they are wrong
        live = stamp_generated(make_live_notebook(lecture, path.name, config, notebooks_path, checked=checked))
        warnings += [Problem(shown, index + 1, message, first_line(stamped.cells[index]))
                     for index, message in hint_warnings(stamped)]
        origin = {live_cell_id(cell, index): index for index, cell in enumerate(lecture.cells)}
        broken_in_lecture = {p.cell - 1 for p in parse_problems if p.cell is not None}
        for live_index, cell in enumerate(live.cells):
            if cell.cell_type != "code" or may_not_parse(cell):
                continue
            reason = parse_problem(cell.source)
            index = origin.get(cell.id)
            if reason and index not in broken_in_lecture:
                message = f"its live version (live cell {live_index + 1}) does not parse: {reason}"
                problems.append(problem(index, message) if index is not None else Problem(shown, None, message))
        # cell numbers as in the stamped lecture: the file as it is (or will be) on disk
        found = [Problem(shown, index + 1, message, first_line(stamped.cells[index]))
                 for index, message in needs_problems(stamped)]
        if checked:
            problems += found
            missing_cu = _cu_problem(stamped)
            if missing_cu:
                problems.append(Problem(shown, None, missing_cu))
            solutions = solutions_data(stamped, lecture_stem(path.name))
        else:
            warnings += found
    return LectureResult(path, stamped, stamped != lecture, live, problems, warnings, checked, solutions)


# --------------------------------------------------------------------------------------
# The whole course
# --------------------------------------------------------------------------------------


@dataclass
class RunReport:
    """What a run did (``written``) and found (``problems``, ``warnings``) over all lecture notebooks."""

    lectures: int
    written: list[str]
    problems: list[Problem]
    code_cells: int
    warnings: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return {}


def record_problems(solutions: dict, data_dir: Path) -> list[str]:
    """What is missing or stale in a checked lecture's recorded checks (empty: all fresh)."""
    stem = solutions["lecture"]
    record = _read_json(checks_path(stem, data_dir)) or {}
    recorded = record.get("blanks", {})
    fix = f"run python -m course_tools.live --record {stem}"
    problems = []
    for blank in solutions["blanks"]:
        entry = recorded.get(str(blank["number"]))
        if not blank["check"]:
            continue
        if entry is None:
            problems.append(f"blank {blank['number']} (cell {blank['cell']}) has no recorded self-check; {fix}")
        elif entry.get("fingerprint") != blank["fingerprint"]:
            problems.append(f"the recorded self-check of blank {blank['number']} is stale (the lecture's code up to "
                            f"cell {blank['cell']} or to its check, or what the check compares, changed since it was "
                            f"recorded); {fix}")
    wanted = {str(blank["number"]) for blank in solutions["blanks"] if blank["check"]}
    extra = sorted(set(recorded) - wanted, key=int)
    if extra:
        problems.append(f"recorded self-checks for blank(s) {', '.join(extra)}, which need none now; {fix}")
    return problems


def run(notebooks_dir: Path, config: ColabConfig, *, check: bool, repo_root: Path | None = None,
        settings: LiveSettings = LiveSettings(), data_dir: Path | None = None, replace_work: bool = False) -> RunReport:
    """Stamp the lectures, write their live twins and package data -- or, with ``check=True``, only look.

    In check mode nothing is written; stale files become problems instead. In write mode
    a lecture with marker errors gets no new twin (its old twin is left alone), and a
    generated twin whose lecture is gone is removed. ``data_dir`` is where solutions and
    checks are stored (default: ``course_utils/live/data`` of the repository). A twin that
    holds work is replaced only with ``replace_work`` (after a copy to ``class-work/``).
    """
    notebooks_dir = Path(notebooks_dir)
    notebooks_path = repo_relative(notebooks_dir, repo_root) if repo_root else notebooks_dir.name
    data_dir = Path(data_dir) if data_dir else (repo_root or notebooks_dir.parent) / "course_utils" / "live" / "data"
    lectures = lecture_notebooks(notebooks_dir)
    report = RunReport(len(lectures), [], [], 0)
    for path in lectures:
        result = process_lecture(path, config, notebooks_path, settings)
        report.problems.extend(result.problems)
        report.warnings.extend(result.warnings)
        if result.stamped is not None and result.stamp_changed:
            if check:
                report.problems.append(Problem(
                    display(path), None,
                    "its Colab badge or install cell is missing or out of date "
                    f"(repository {config.repository}, branch {config.branch}); {FIX}",
                ))
            else:
                write_notebook(result.stamped, path)
                report.written.append(display(path))
        if result.checked:
            report.checked.append(path.stem)
        if result.live is None:
            continue
        report.code_cells += sum(cell.cell_type == "code" for cell in result.live.cells)
        _twin(result, path, check, report, replace_work, (repo_root or notebooks_dir.parent) / WORK_DIR)
        if result.solutions is not None:
            _solutions(result.solutions, data_dir, check, report)
            for message in record_problems(result.solutions, data_dir):
                report.problems.append(Problem(display(path), None, message))
    _orphans(notebooks_dir, lectures, check, report)
    _stale_package_data(lectures, settings, data_dir, check, report)
    return report


def _twin(result: LectureResult, path: Path, check: bool, report: RunReport, replace_work: bool = False,
          work_dir: Path | None = None) -> None:
    twin = live_path_for(path)
    unreadable = None
    try:
        on_disk = nbformat.read(twin, as_version=4) if twin.exists() else None
    except Exception as error:  # noqa: BLE001 - a damaged file may still hold work: never overwrite it silently
        on_disk, unreadable = None, f"cannot be read ({str(error).splitlines()[0][:120]})"
    if on_disk is not None and same_notebook(on_disk, result.live) and is_stamped_as(on_disk, result.live):
        return
    work = unreadable or (holds_work(on_disk) if on_disk is not None else None)
    if work and not (replace_work and not check):
        what = (f"{unreadable}: it may hold work, so the tool does not replace it" if unreadable else
                f"holds work done in it ({work}): it is not stale, and the tool does not replace it")
        report.problems.append(Problem(display(twin), None, (
            f"{what}. To keep it, move it out of {display(twin.parent)}/ (a notebook of your own can live "
            "anywhere else); to replace it by the generated twin, run python -m course_tools.live --replace-work "
            f"(it copies the file to {WORK_DIR}/ first)")))
        return
    if check:
        if on_disk is None:
            reason = "is missing"
        elif same_notebook(on_disk, result.live):
            reason = "lacks the tool's stamp (an older version of the tool wrote it)"
        else:
            reason = f"is stale ({first_difference(on_disk, result.live)})"
        report.problems.append(Problem(display(twin), None, f"{reason}; {FIX}"))
        return
    kept = keep_a_copy(twin, work_dir or twin.parent.parent.parent / WORK_DIR) if work else None
    write_notebook(result.live, twin)
    report.written.append(display(twin) + (f" (the work in it was kept as {display(kept)})" if kept else ""))


def _solutions(solutions: dict, data_dir: Path, check: bool, report: RunReport) -> None:
    path = solutions_path(solutions["lecture"], data_dir)
    on_disk = _read_json(path)
    if on_disk == json.loads(json_text(solutions)):
        return
    if check:
        reason = "is missing" if on_disk is None else "is stale"
        report.problems.append(Problem(display(path), None, f"{reason} (the solutions catch-up uses); {FIX}"))
    else:
        write_text_atomic(path, json_text(solutions))
        report.written.append(display(path))


def _orphans(notebooks_dir: Path, lectures: list[Path], check: bool, report: RunReport) -> None:
    wanted = {live_path_for(path).name for path in lectures}
    live_dir = notebooks_dir / LIVE_DIR
    for twin in sorted(live_dir.glob("*.ipynb")) if live_dir.is_dir() else []:
        if twin.name in wanted:
            continue
        work = _work_in(twin)
        if not check and is_generated(twin) and not work:
            twin.unlink()
            report.written.append(f"removed {display(twin)}")
        elif work:
            report.problems.append(Problem(
                display(twin), None,
                f"has no lecture notebook any more, but holds work done in it ({work}); move it out of "
                f"{display(live_dir)}/ to keep it, or delete it yourself",
            ))
        else:
            report.problems.append(Problem(
                display(twin), None,
                "has no lecture notebook (expected "
                f"{display(notebooks_dir / (twin.stem.removesuffix(LIVE_SUFFIX) + '.ipynb'))}); "
                + (f"{FIX} to remove it" if is_generated(twin) else
                   "live notebooks are generated - move hand-written notebooks out of notebooks/live/"),
            ))


def _work_in(path: Path) -> str | None:
    try:
        return holds_work(nbformat.read(path, as_version=4))
    except Exception:  # noqa: BLE001 - unreadable: not ours to judge, and not removed (is_generated is False)
        return None


def _stale_package_data(lectures: list[Path], settings: LiveSettings, data_dir: Path, check: bool,
                        report: RunReport) -> None:
    stems = {path.stem for path in lectures}
    if settings.checked != "all":
        for stem in settings.checked:
            if stem not in stems:
                report.problems.append(Problem(
                    "pyproject.toml", None,
                    f"[tool.course_utils.live] checked names {stem!r}, but there is no lecture {stem}.ipynb",
                ))
    for path in sorted((data_dir / "solutions").glob("*.json")):
        if path.stem in stems and settings.is_checked(path.stem):
            continue
        if check:
            report.problems.append(Problem(display(path), None, f"belongs to no checked lecture; {FIX} to remove it"))
        else:
            path.unlink()
            report.written.append(f"removed {display(path)}")
    for path in sorted((data_dir / "checks").glob("*.json")):
        if not (path.stem in stems and settings.is_checked(path.stem)):
            report.warnings.append(Problem(display(path), None, "belongs to no checked lecture and is not used"))
