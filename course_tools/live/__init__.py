"""The live-twin tool: ``python -m course_tools.live`` writes and checks the lectures' live twins.

A lecture notebook ``notebooks/NN-topic.ipynb`` is the only source. Its live twin
``notebooks/live/NN-topic-live.ipynb`` is the same lecture with the code the class writes
together left blank. This tool writes the twins, the solutions that ``cu.catch_up`` shows,
and the self-checks that ``cu.check`` compares with (recorded by running the lecture), and
checks that all of them are up to date; ``docs/instructors.md`` tells instructors how to
mark a lecture. What the twins call
in a student's notebook (``cu.blank``, ``cu.check``, ``cu.catch_up``) is the small runtime
in ``course_utils/live``, which ships with the students' package together with the
solutions and recorded checks (``course_utils/live/data``).

Each module holds one part (read them in this order):

- ``markers``       the tags and ``# live-start`` / ``# live-end`` markers, the hint's ``later cells use:`` list
- ``syntax``        does a cell parse as Python (magics aside)?
- ``settings``      ``[tool.course_utils.colab]`` and ``[tool.course_utils.live]`` in pyproject.toml
- ``colab``         the "Open in Colab" badge and the Colab install cell
- ``blanks``        numbering the blanks, the ``cu.blank`` / ``cu.check`` lines of a checked twin, solutions
- ``twin``          building a live twin from a lecture
- ``scopes``        which names a block of Python binds and reads (used by ``dependencies``)
- ``dependencies``  which names a blank makes that later cells need (the dependency check)
- ``files``         notebook files, and staleness that survives JupyterLab
- ``course``        every lecture at once: write, or ``--check``
- ``recording``     run a lecture to record its self-checks; run a twin with its blanks filled in
- ``cli``           the command line (``__main__`` runs it)

Example:
    >>> from course_tools import live
    >>> live.live_name("03-logistic-regression.ipynb")
    '03-logistic-regression-live.ipynb'
"""
from __future__ import annotations

from .blanks import Blank, find_blanks, solutions_data
from .cli import find_repo_root, main
from .colab import (
    BADGE_TAG,
    INSTALL_TAG,
    NBVAL_IGNORE_OUTPUT_TAG,
    PACKAGE_DISTRIBUTION,
    STAMPED_TAGS,
    badge_source,
    colab_url,
    install_source,
    stamp_badge,
    stamp_colab,
    stamp_install_cell,
    strip_stamped_cells,
)
from .course import LectureResult, Problem, RunReport, process_lecture, run
from .dependencies import BlankNeeds, Need, blank_needs, needs_problems
from .files import lecture_notebooks, live_path_for, meaningful, notebook_text, same_notebook, write_notebook
from .markers import (
    BLANK_TAG,
    CHECK_TAG,
    DEFAULT_HINT,
    DROP_TAG,
    LIVE_TAGS,
    NOTE_TAG,
    MarkerError,
    Region,
    UsesList,
    blank_cell,
    blank_regions,
    cell_tags,
    find_regions,
    has_tag,
    item_name,
    leading_hint,
    lint_cell,
    lint_notebook,
    parse_uses,
)
from .recording import RecordError, check_lines, fill_twin, first_error, record_lecture, run_filled_twin
from .settings import ColabConfig, LiveSettings, read_colab_config, read_live_settings
from .syntax import parse_problem, python_source
from .twin import (
    KERNELSPEC,
    LECTURE_NAME,
    add_live_note,
    blank_cells,
    blank_cells_checked,
    clear_outputs,
    drop_cells,
    lecture_stem,
    live_cell_id,
    live_name,
    live_note_source,
    make_live_notebook,
)
