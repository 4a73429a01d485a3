"""Record what a lecture's blanks make, and run a live twin with its blanks filled in.

Both run a *filled twin*: the live twin of a checked lecture with every ``cu.blank(...)``
line replaced by the lecture's code for it (:func:`fill_twin`). That notebook is what a
student who writes exactly the lecture's code runs, check lines included.

* :func:`record_lecture` runs it in fast mode (``COURSE_FAST=1``) with
  ``COURSE_LIVE_RECORD`` set, so that every ``cu.check(...)`` line describes the names
  its blank made instead of checking them; the descriptions, with the fingerprint of
  the lecture code that produced them, become ``data/checks/<lecture>.json``
  (``python -m course_tools.live --record``).
* :func:`run_filled_twin` runs it with ``COURSE_LIVE_STRICT=1``: every check must pass.
  With ``replacements`` a blank gets other code than the lecture's -- a wrong fill, to
  see what a student would see.

Both need ``nbclient`` and a Jupyter kernel named ``python3`` (the dev install has them);
the kernel inherits the environment, so fast mode and the data folder reach it.

Example:
    >>> import nbformat
    >>> twin = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     '# make x — later cells use: x\\ncu.blank("01-demo", 1)')])
    >>> solutions = {"blanks": [{"number": 1, "kind": "cell", "code": "# make x — later cells use: x\\nx = 1"}]}
    >>> print(fill_twin(twin, solutions, "01-demo").cells[0].source)
    # make x — later cells use: x
    x = 1
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import textwrap
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_utils.config import FAST_ENV
from course_utils.live.packagedata import DATA_ENV, json_text, solutions_path, write_text_atomic
from course_utils.live.selfcheck import RECORD_ENV, STRICT_ENV

from .blanks import FORMAT, solutions_data
from .markers import is_nbval_comment
from .settings import ColabConfig
from .twin import lecture_stem, make_live_notebook


class RecordError(RuntimeError):
    """Running a filled live twin (to record or to test it) went wrong."""


def _blank_line(stem: str, number: int) -> re.Pattern[str]:
    return re.compile(rf'^(?P<indent>[ \t]*)cu\.blank\("{re.escape(stem)}", {number}\)[ \t]*$')


def fill_twin(twin: NotebookNode, solutions: dict, stem: str, replacements: dict[int, str] | None = None) -> NotebookNode:
    """The live twin with every blank filled: the lecture's code, or ``replacements[number]`` where given.

    A replacement for a region is indented like the blank line; for a whole cell it is the
    cell's new source. ``# NBVAL_...`` comment lines are removed (a twin has no outputs to compare).
    """
    replacements = replacements or {}
    unknown = set(replacements) - {blank["number"] for blank in solutions["blanks"]}
    if unknown:
        raise ValueError(f"replacements names blank(s) {sorted(unknown)}, which {stem} does not have.")
    new = nbformat.from_dict(json.loads(json.dumps(twin)))
    for solution in solutions["blanks"]:
        pattern = _blank_line(stem, solution["number"])
        for cell in new.cells:
            if cell.cell_type != "code" or not any(pattern.match(line) for line in cell.source.split("\n")):
                continue
            lines = cell.source.split("\n")
            if solution["kind"] == "cell":
                cell.source = replacements.get(solution["number"], solution["code"])
                continue
            out = []
            for line in lines:
                match = pattern.match(line)
                if not match:
                    out.append(line)
                elif solution["number"] in replacements:
                    out += textwrap.indent(textwrap.dedent(replacements[solution["number"]]), match.group("indent"),
                                           lambda _: True).split("\n")
                else:
                    out += solution["code"].split("\n")
            cell.source = "\n".join(out)
    for cell in new.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.split("\n") if not is_nbval_comment(line))
    return new


@contextlib.contextmanager
def environment(**values: str | None):
    """Set (or, with None, remove) environment variables for the duration of a ``with`` block."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_notebook(nb: NotebookNode, cwd: Path, timeout: int = 1800, allow_errors: bool = False) -> NotebookNode:
    """Execute ``nb`` top to bottom in a fresh ``python3`` kernel started in ``cwd``.

    An error stops the run with RecordError, unless ``allow_errors`` (then every cell runs,
    and :func:`first_error` tells where the first one was).
    """
    import nbclient  # noqa: PLC0415 - only the tool needs it
    from nbclient.exceptions import CellExecutionError  # noqa: PLC0415

    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                     resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as error:
        raise RecordError(str(error).strip()[-3000:]) from None
    return nb


def first_error(nb: NotebookNode) -> tuple[int, str, str] | None:
    """``(cell index, exception name, message)`` of the first error in an executed notebook, or None."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, output.get("ename", ""), output.get("evalue", "")
    return None


def check_lines(nb: NotebookNode) -> list[str]:
    """Every line an executed notebook printed that comes from ``cu.check`` (``✓``, ``✗`` or ``·``)."""
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines += [line for line in output.get("text", "").splitlines() if line and line[0] in "✓✗·"]
    return lines


def _filled(lecture_path: Path, config: ColabConfig, notebooks_path: str, replacements=None):
    lecture = nbformat.read(lecture_path, as_version=4)
    stem = lecture_stem(lecture_path.name)
    twin = make_live_notebook(lecture, lecture_path.name, config, notebooks_path, checked=True)
    solutions = solutions_data(lecture, stem)
    return stem, solutions, fill_twin(twin, solutions, stem, replacements)


def record_lecture(lecture_path: Path, config: ColabConfig, notebooks_path: str = "notebooks", *,
                   fast: bool = True, timeout: int = 1800) -> dict:
    """Run the lecture's filled twin and return the checks to store for it (see the module docstring)."""
    stem, solutions, filled = _filled(lecture_path, config, notebooks_path)
    wanted = [blank["number"] for blank in solutions["blanks"] if blank["check"]]
    with tempfile.TemporaryDirectory(prefix="course-live-record-") as folder:
        data = Path(folder) / "data"
        write_text_atomic(solutions_path(stem, data), json_text(solutions))
        record_file = Path(folder) / "record.jsonl"
        record_file.touch()
        with environment(**{DATA_ENV: str(data), RECORD_ENV: str(record_file), STRICT_ENV: None,
                            FAST_ENV: "1" if fast else None}):
            run_notebook(filled, lecture_path.parent, timeout)
        lines = [json.loads(line) for line in record_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    recorded = {line["blank"]: line for line in lines}
    missing = [number for number in wanted if number not in recorded]
    if missing:
        raise RecordError(f"{stem}: the check line of blank(s) {missing} did not run; nothing was recorded.")
    fingerprints = {blank["number"]: blank["fingerprint"] for blank in solutions["blanks"]}
    return {
        "format": FORMAT,
        "lecture": stem,
        "generated_by": "python -m course_tools.live --record",
        "recorded_with": {"fast_mode": fast, "torch": lines[0]["torch"] if lines else None,
                          "cuda": any(line["cuda"] for line in lines)},
        "blanks": {
            str(number): {"fingerprint": fingerprints[number], "items": recorded[number]["items"],
                          "values": recorded[number]["values"]}
            for number in wanted
        },
    }


def run_filled_twin(lecture_path: Path, config: ColabConfig, notebooks_path: str = "notebooks", *,
                    replacements: dict[int, str] | None = None, data: Path | None = None, strict: bool = True,
                    fast: bool = True, timeout: int = 1800,
                    until_blank: int | None = None) -> tuple[NotebookNode, list[str]]:
    """Run the live twin with its blanks filled (the lecture's code, or ``replacements``) and collect the check lines.

    ``data`` is the folder with the solutions and checks (default: the package's). With
    ``strict`` a check that does not pass stops the run (RecordError naming it); without,
    every cell runs and errors stay in the outputs (see :func:`first_error`). With
    ``until_blank=N`` the run stops after the cell holding blank N's check line (the cells
    after it cannot change what that check prints).
    """
    stem, _, filled = _filled(lecture_path, config, notebooks_path, replacements)
    if until_blank is not None:
        call = f'cu.check("{stem}", {until_blank})'
        last = next((i for i, cell in enumerate(filled.cells) if call in cell.get("source", "")), None)
        if last is None:
            raise RecordError(f"{stem}: blank {until_blank} has no check line ({call}) in the live twin.")
        filled.cells = filled.cells[:last + 1]
    with environment(**{DATA_ENV: str(data) if data else os.environ.get(DATA_ENV), RECORD_ENV: None,
                        STRICT_ENV: "1" if strict else None, FAST_ENV: "1" if fast else None}):
        executed = run_notebook(filled, lecture_path.parent, timeout, allow_errors=not strict)
    return executed, check_lines(executed)
