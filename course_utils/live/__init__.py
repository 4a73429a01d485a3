"""Live notebooks: the lecture notebooks' twins that the instructor teaches from, and their helpers.

A lecture notebook ``notebooks/NN-topic.ipynb`` is the only source. Its live twin
``notebooks/live/NN-topic-live.ipynb`` is the same lecture with the code the class writes
together left blank. The tool (``python -m course_utils.live``) writes the twins and
checks them; the README's section "Writing a lecture so its live twin comes out right"
tells instructors how to mark a lecture.

Each module holds one part (read them in this order):

- ``markers``       the tags and ``# live-start`` / ``# live-end`` markers, the hint's ``later cells use:`` list
- ``syntax``        does a cell parse as Python (magics aside)?
- ``settings``      ``[tool.course_utils.colab]`` and ``[tool.course_utils.live]`` in pyproject.toml
- ``colab``         the "Open in Colab" badge and the Colab install cell
- ``blanks``        numbering the blanks, the ``cu.blank`` / ``cu.check`` lines of a checked twin, solutions
- ``twin``          building a live twin from a lecture
- ``dependencies``  which names a blank makes that later cells need (the dependency check)
- ``files``         notebook files, and staleness that survives JupyterLab
- ``course``        every lecture at once: write, or ``--check``
- ``recording``     run a lecture to record its self-checks; run a twin with its blanks filled in
- ``cli``           the command line (``__main__`` runs it)

and, used from students' notebooks (standard library only, exported as ``cu.blank``,
``cu.check``, ``cu.catch_up``):

- ``placeholders``  ``blank``: blanks that fail well (``BlankNotFilled``)
- ``selfcheck``     ``check``: one line saying whether a blank made what the lecture's does
- ``describe``      what ``check`` compares, per kind of value
- ``catchup``       ``catch_up``: run (and show) the lecture's code for a blank
- ``packagedata``   where solutions and recorded checks are stored

Importing this package imports only the student helpers (fast, standard library); the
tool's names (``main``, ``make_live_notebook``, ``ColabConfig`` ...) load on first use.

Example:
    >>> from course_utils import live
    >>> live.live_name("03-logistic-regression.ipynb")
    '03-logistic-regression-live.ipynb'
"""
from __future__ import annotations

import importlib

from .catchup import catch_up
from .placeholders import BlankNotFilled, Unfilled, blank
from .selfcheck import SelfCheckFailed, check

# The tool's public names, and the module each lives in (loaded when first used: they need nbformat).
_TOOL = {
    "markers": ["BLANK_TAG", "DROP_TAG", "LIVE_TAGS", "NOTE_TAG", "CHECK_TAG", "DEFAULT_HINT", "MarkerError",
                "Region", "UsesList", "find_regions", "blank_regions", "leading_hint", "blank_cell", "cell_tags",
                "has_tag", "lint_cell", "lint_notebook", "parse_uses", "item_name"],
    "syntax": ["python_source", "parse_problem"],
    "settings": ["ColabConfig", "LiveSettings", "read_colab_config", "read_live_settings"],
    "colab": ["BADGE_TAG", "INSTALL_TAG", "NBVAL_IGNORE_OUTPUT_TAG", "STAMPED_TAGS", "PACKAGE_DISTRIBUTION",
              "colab_url", "badge_source", "install_source", "stamp_badge", "stamp_install_cell", "stamp_colab",
              "strip_stamped_cells"],
    "blanks": ["Blank", "find_blanks", "solutions_data"],
    "twin": ["KERNELSPEC", "LECTURE_NAME", "drop_cells", "blank_cells", "blank_cells_checked", "clear_outputs",
             "add_live_note", "live_note_source", "live_cell_id", "live_name", "lecture_stem", "make_live_notebook"],
    "dependencies": ["BlankNeeds", "Need", "blank_needs", "needs_problems"],
    "files": ["notebook_text", "write_notebook", "lecture_notebooks", "live_path_for", "meaningful", "same_notebook"],
    "course": ["Problem", "LectureResult", "RunReport", "process_lecture", "run"],
    "recording": ["RecordError", "fill_twin", "record_lecture", "run_filled_twin", "check_lines", "first_error"],
    "cli": ["main", "find_repo_root"],
}
_WHERE = {name: module for module, names in _TOOL.items() for name in names}

__all__ = ["blank", "check", "catch_up", "BlankNotFilled", "SelfCheckFailed", "Unfilled", *_WHERE]


def __getattr__(name: str):
    """Load a tool name (``live.main``, ``live.make_live_notebook`` ...) from its module on first use."""
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
