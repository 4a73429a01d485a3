"""The live tool's settings, read from ``pyproject.toml``.

Two tables steer the tool:

``[tool.course_utils.colab]``
    ``repository = "owner/name"`` and ``branch = "main"``: where the Colab badges and
    install cells point to.

``[tool.course_utils.live]``
    ``checked = [...]``: the lectures (file names without ``.ipynb``, or ``"all"``)
    whose live twins use *checked blanks*: the dependency check is an error instead of
    a warning, blanks raise :class:`BlankNotFilled` instead of being ``...``, a
    self-check line follows each blank that makes names, and their solutions and
    recorded checks ship as package data (see docs/instructors.md, "Writing a lecture so
    its live twin comes out right").

Example:
    >>> settings = LiveSettings(checked=("03-logistic-regression",))
    >>> settings.is_checked("03-logistic-regression"), settings.is_checked("01-ethics")
    (True, False)
    >>> LiveSettings(checked="all").is_checked("01-ethics")
    True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^[A-Za-z0-9_./-]+$")
_STEM = re.compile(r"^\d\d-[^/\\]+$")


@dataclass(frozen=True)
class ColabConfig:
    """The public GitHub repository and branch the Colab badges and install cells point to.

    Example:
        >>> from course_tools.live.colab import colab_url
        >>> config = ColabConfig("owner/course", "main")
        >>> colab_url(config, "notebooks/03-logistic-regression.ipynb")
        'https://colab.research.google.com/github/owner/course/blob/main/notebooks/03-logistic-regression.ipynb'
    """

    repository: str
    branch: str = "main"


@dataclass(frozen=True)
class LiveSettings:
    """Which lectures use checked blanks: a tuple of lecture stems, or the string ``"all"``."""

    checked: tuple[str, ...] | str = ()

    def is_checked(self, stem: str) -> bool:
        """True when the lecture ``stem`` (``03-logistic-regression``) uses checked blanks."""
        return self.checked == "all" or stem in self.checked


def _toml_loads(text: str) -> dict:
    """Parse TOML with ``tomllib`` (Python 3.11+) or, on Python 3.10, the ``tomli`` package."""
    try:
        import tomllib  # noqa: PLC0415 - optional on 3.10
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]  # noqa: PLC0415
        except ImportError:
            raise RuntimeError(
                "Reading pyproject.toml needs Python 3.11+ (which has tomllib), or on Python 3.10 "
                "the 'tomli' package: pip install tomli"
            ) from None
    return tomllib.loads(text)


def _read_tool_table(pyproject: str | Path) -> tuple[Path, dict]:
    """The ``[tool.course_utils]`` table of ``pyproject`` (empty when absent), and its path."""
    path = Path(pyproject)
    if not path.is_file():
        raise FileNotFoundError(
            f"Expected the course configuration at {path}, but there is no such file. "
            "Run from the repository root or pass --config path/to/pyproject.toml."
        )
    try:
        data = _toml_loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a text file in UTF-8 ({error.reason} at byte {error.start}); "
                         "nothing was written.") from None
    except ValueError as error:                            # tomllib.TOMLDecodeError is a ValueError
        raise ValueError(f"{path} is not valid TOML: {error}. Fix it there (the place is in the parentheses); "
                         "nothing was written.") from None
    return path, data.get("tool", {}).get("course_utils", {})


def read_colab_config(pyproject: str | Path) -> ColabConfig:
    """Read ``[tool.course_utils.colab]`` (``repository = "owner/name"``, ``branch``) from pyproject.toml.

    Example:
        >>> read_colab_config("pyproject.toml")            # doctest: +SKIP
        ColabConfig(repository='deep-image-course/course-kit', branch='main')
    """
    path, tool = _read_tool_table(pyproject)
    table = tool.get("colab")
    if not isinstance(table, dict):
        raise ValueError(
            f"{path} has no [tool.course_utils.colab] table. Add:\n"
            '[tool.course_utils.colab]\nrepository = "owner/name"\nbranch = "main"'
        )
    repository = table.get("repository")
    branch = table.get("branch", "main")
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise ValueError(
            f"[tool.course_utils.colab] repository in {path} should look like \"owner/name\" "
            f"(the GitHub repository, without https://github.com/), got {repository!r}."
        )
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise ValueError(
            f"[tool.course_utils.colab] branch in {path} should be a branch name such as \"main\", got {branch!r}."
        )
    return ColabConfig(repository=repository, branch=branch)


def read_live_settings(pyproject: str | Path) -> LiveSettings:
    """Read ``[tool.course_utils.live]`` from pyproject.toml; no table means no checked lectures.

    ``checked`` is a list of lecture stems such as ``["03-logistic-regression"]``, or ``"all"``.

    Example:
        >>> read_live_settings("pyproject.toml")           # doctest: +SKIP
        LiveSettings(checked=())
    """
    path, tool = _read_tool_table(pyproject)
    table = tool.get("live", {})
    if not isinstance(table, dict):
        raise ValueError(f"[tool.course_utils.live] in {path} should be a table, got {table!r}.")
    unknown = sorted(set(table) - {"checked"})
    if unknown:
        raise ValueError(
            f"[tool.course_utils.live] in {path} has unknown setting(s) {', '.join(unknown)}; "
            'the only setting is checked = ["03-topic", ...] or checked = "all".'
        )
    checked = table.get("checked", [])
    if checked == "all":
        return LiveSettings(checked="all")
    if not isinstance(checked, list) or not all(isinstance(s, str) and _STEM.match(s) for s in checked):
        raise ValueError(
            f"[tool.course_utils.live] checked in {path} should be \"all\" or a list of lecture names "
            f'without .ipynb, such as ["03-logistic-regression"]; got {checked!r}.'
        )
    return LiveSettings(checked=tuple(checked))
