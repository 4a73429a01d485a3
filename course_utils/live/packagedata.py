"""The files the live tool ships inside the package: each checked lecture's solutions and checks.

``course_utils/live/data/solutions/<lecture>.json``
    written by ``python -m course_tools.live`` from the lecture alone: every blank's hint,
    the names its hint lists, the lecture's code for it (for ``cu.catch_up``), and a
    fingerprint of the lecture code up to it.
``course_utils/live/data/checks/<lecture>.json``
    written by ``python -m course_tools.live --record`` from an executed lecture: a
    description of every listed name right after its blank (for ``cu.check``), with the
    fingerprint it was recorded at, so that ``--check`` sees when it is stale.

Because they are package data (``[tool.setuptools.package-data]`` in pyproject.toml),
``pip install`` from git -- as the Colab install cell does -- brings them along. The
environment variable ``COURSE_LIVE_DATA`` points the helpers to another folder with the
same layout (the tool uses it while recording, tests use it for their own lectures).


Example:
    >>> data_folder().name
    'data'
    >>> solutions_path("03-logistic-regression").relative_to(data_folder()).as_posix()
    'solutions/03-logistic-regression.json'
"""
from __future__ import annotations

import difflib
import json
import os
import re
import shutil
from pathlib import Path

from course_utils import checks

DATA_ENV = "COURSE_LIVE_DATA"
"""Environment variable: a folder to read (and record) solutions and checks in, instead of the package's."""

_STEM = re.compile(r"^\d\d-[A-Za-z0-9_.-]+$")


def data_folder() -> Path:
    """The folder with ``solutions/`` and ``checks/``: ``$COURSE_LIVE_DATA`` or the package's ``data/``."""
    override = os.environ.get(DATA_ENV, "").strip()
    return Path(override) if override else Path(__file__).resolve().parent / "data"


lecture_name = checks.Rule(
    'a lecture notebook\'s name without .ipynb, such as "03-logistic-regression" (as in the live notebook\'s line)',
    lambda v: isinstance(v, str), lambda v: bool(_STEM.match(v)) and not v.endswith(".ipynb"))
blank_number = checks.Rule("a blank's number: a whole number, 1 for the first blank", checks.positive_int.is_kind,
                           checks.positive_int.is_valid)


def installed_lectures() -> list[str]:
    """The lectures whose solutions are installed (``data/solutions/*.json``), sorted."""
    folder = data_folder() / "solutions"
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []


def check_lecture_and_blank(lecture: object, blank: object, function: str) -> dict:
    """Refuse, before anything runs, a lecture or blank that does not exist; return the lecture's solutions.

    ``lecture`` must be a lecture's name such as ``"03-logistic-regression"`` whose solutions
    are installed (a misspelt name gets "did you mean ...?"), and ``blank`` one of its blanks.

    Example:
        >>> check_lecture_and_blank("03-logistic-regresion", 2, "cu.check")
        Traceback (most recent call last):
        ...
        ValueError: cu.check: lecture must be the name of one of the course's lectures, got '03-logistic-regresion': no lecture named 03-logistic-regresion. Did you mean 03-logistic-regression? Write cu.check("03-logistic-regression", 2).
    """
    checks.arguments(function, lecture=(lecture, lecture_name), blank=(blank, blank_number))
    data = load_solutions(lecture)  # type: ignore[arg-type]
    if data is None:
        known = installed_lectures()
        close = difflib.get_close_matches(lecture, known, n=1, cutoff=0.75)  # type: ignore[arg-type]
        got = f"{lecture!r}: no lecture named {lecture}"
        if close:
            fix = f'Did you mean {close[0]}? Write {function}("{close[0]}", {blank}).'
        elif known:
            fix = (f"The course's lectures are {', '.join(known)}. In Colab, if the lecture is new, run the install "
                   "cell at the top again to get the current course_utils.")
        else:
            fix = "No lecture's solutions are installed: reinstall course_utils (in Colab, run the install cell again)."
        raise checks.refusal(ValueError, function, "lecture", "the name of one of the course's lectures", got, fix)
    numbers = [entry.get("number") for entry in data.get("blanks", [])]
    if blank not in numbers:
        which = f"1 to {max(numbers)}" if numbers == list(range(1, len(numbers) + 1)) and numbers else \
            ", ".join(str(n) for n in numbers) or "none"
        raise checks.refusal(ValueError, function, "blank", f"one of the blanks of {lecture} ({which})", repr(blank),
                             f"Copy the number from the line in the live notebook, e.g. "
                             f'{function}("{lecture}", {numbers[0] if numbers else 1}).')
    return data


def solutions_path(lecture: str, folder: Path | None = None) -> Path:
    """Where the solutions of ``lecture`` are stored."""
    return (folder or data_folder()) / "solutions" / f"{lecture}.json"


def checks_path(lecture: str, folder: Path | None = None) -> Path:
    """Where the recorded checks of ``lecture`` are stored."""
    return (folder or data_folder()) / "checks" / f"{lecture}.json"


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def load_solutions(lecture: str) -> dict | None:
    """The stored solutions of ``lecture`` (see :func:`course_tools.live.blanks.solutions_data`), or None."""
    return _load(solutions_path(lecture))


def load_checks(lecture: str) -> dict | None:
    """The recorded checks of ``lecture``, or None when none are recorded."""
    return _load(checks_path(lecture))


def solution_for(lecture: str, number: int) -> dict | None:
    """The stored facts about blank ``number`` of ``lecture``, or None when unknown."""
    data = load_solutions(lecture)
    if data is None:
        return None
    return next((blank for blank in data.get("blanks", []) if blank.get("number") == number), None)


def json_text(data: dict) -> str:
    """JSON as the tool writes it: sorted keys, one-space indent, final newline (stable diffs)."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``: never half a file.

    The temporary file sits beside ``path`` and is removed if anything fails; the file's
    permissions are kept when it already exists.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        temp.write_bytes(text.encode("utf-8"))
        if path.exists():
            shutil.copymode(path, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
