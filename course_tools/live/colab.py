"""Stamp notebooks with an "Open in Colab" badge and a Colab-only install cell.

Every lecture and live notebook gets

* a markdown cell tagged ``colab-badge`` right after the title cell, linking to the
  notebook in Colab, and
* a code cell tagged ``colab-install`` (and ``nbval-ignore-output``) before the first
  code cell, which installs ``course_utils`` from GitHub when -- and only when -- it runs
  in Colab.

The repository and branch come from ``[tool.course_utils.colab]`` in pyproject.toml
(:func:`course_tools.live.settings.read_colab_config`). Stamping twice changes nothing.

Example:
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
    ...                                      nbformat.v4.new_code_cell("x = 1")])
    >>> stamped = stamp_colab(nb, ColabConfig("me/course"), "notebooks/01-t.ipynb")
    >>> [cell.metadata.get("tags", []) for cell in stamped.cells]
    [[], ['colab-badge'], ['colab-install', 'nbval-ignore-output'], []]
"""
from __future__ import annotations

import copy

import nbformat
from nbformat import NotebookNode

from .markers import cell_tags, has_tag
from .settings import ColabConfig

BADGE_TAG = "colab-badge"
"""Tag of the stamped "Open in Colab" badge (a markdown cell)."""

INSTALL_TAG = "colab-install"
"""Tag of the stamped Colab install cell (a code cell)."""

NBVAL_IGNORE_OUTPUT_TAG = "nbval-ignore-output"
"""nbval's tag for "run this cell but do not compare its output"."""

STAMPED_TAGS = (BADGE_TAG, INSTALL_TAG)

PACKAGE_DISTRIBUTION = "course-utils"
"""The name pip knows the course package by (``[project] name`` in pyproject.toml)."""


def colab_url(config: ColabConfig, repo_path: str) -> str:
    """The Colab address that opens ``repo_path`` (a path inside the repository) from GitHub.

    Example:
        >>> colab_url(ColabConfig("me/course", "dev"), "notebooks/live/01-ethics-live.ipynb")
        'https://colab.research.google.com/github/me/course/blob/dev/notebooks/live/01-ethics-live.ipynb'
    """
    return f"https://colab.research.google.com/github/{config.repository}/blob/{config.branch}/{repo_path}"


def badge_source(url: str) -> str:
    """Markdown for the "Open in Colab" badge that links to ``url``."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def install_source(config: ColabConfig) -> str:
    """Source of the Colab install cell: installs course_utils in Colab, does nothing elsewhere.

    Example:
        >>> print(install_source(ColabConfig("me/course", "main")))
        # In Google Colab, install the course's helper package course_utils first.
        # Anywhere else it is already installed, and this cell does nothing.
        import sys
        <BLANKLINE>
        if "google.colab" in sys.modules:
            %pip install -q "course-utils @ git+https://github.com/me/course@main"
    """
    requirement = f"{PACKAGE_DISTRIBUTION} @ git+https://github.com/{config.repository}@{config.branch}"
    return (
        "# In Google Colab, install the course's helper package course_utils first.\n"
        "# Anywhere else it is already installed, and this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "{requirement}"'
    )


def is_stamped(cell: NotebookNode | dict) -> bool:
    """True for a stamped badge or install cell."""
    return any(has_tag(cell, tag) for tag in STAMPED_TAGS)


def strip_stamped_cells(nb: NotebookNode) -> NotebookNode:
    """Remove the stamped Colab badge and install cells (tags ``colab-badge``/``colab-install``)."""
    new = copy.deepcopy(nb)
    new.cells = [cell for cell in new.cells if not is_stamped(cell)]
    return new


def uses_cell_ids(nb: NotebookNode) -> bool:
    """Cell ids exist from nbformat 4.5 on; older notebooks must not get any."""
    return (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)


def _stamped_cell(nb: NotebookNode, tag: str, cell: NotebookNode) -> NotebookNode:
    """The notebook's existing ``tag`` cell when it already says the same thing, else ``cell``.

    Keeping the existing cell keeps its outputs and any metadata a person added, so that
    stamping an up-to-date notebook changes nothing at all.
    """
    for existing in nb.cells:
        if (
            has_tag(existing, tag)
            and existing.cell_type == cell.cell_type
            and existing.source == cell.source
            and all(has_tag(existing, wanted) for wanted in cell_tags(cell))
        ):
            return existing
    if uses_cell_ids(nb):
        cell.id = tag
    else:
        cell.pop("id", None)
    return cell
def stamp_badge(nb: NotebookNode, url: str) -> NotebookNode:
    """Put the "Open in Colab" badge (tag ``colab-badge``) after the title cell.

    The title is the first cell when it is markdown; otherwise the badge comes first.
    An old badge is replaced, so running this again (or with a new URL) leaves one badge.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
        >>> [cell.metadata.get("tags") for cell in stamp_badge(nb, "https://x").cells]
        [None, ['colab-badge']]
    """
    new = copy.deepcopy(nb)
    cell = nbformat.v4.new_markdown_cell(badge_source(url), metadata={"tags": [BADGE_TAG]})
    cell = _stamped_cell(new, BADGE_TAG, cell)
    new.cells = [c for c in new.cells if not has_tag(c, BADGE_TAG)]
    position = 1 if new.cells and new.cells[0].cell_type == "markdown" else 0
    new.cells.insert(position, cell)
    return new


def stamp_install_cell(nb: NotebookNode, config: ColabConfig) -> NotebookNode:
    """Put the Colab install cell (tags ``colab-install``, ``nbval-ignore-output``) before the first code cell.

    In a notebook without other code cells it goes right after the badge (or first).
    An old install cell is replaced, so running this again leaves exactly one.
    """
    new = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(
        install_source(config), metadata={"tags": [INSTALL_TAG, NBVAL_IGNORE_OUTPUT_TAG]}
    )
    cell = _stamped_cell(new, INSTALL_TAG, cell)
    new.cells = [c for c in new.cells if not has_tag(c, INSTALL_TAG)]
    code = [index for index, c in enumerate(new.cells) if c.cell_type == "code"]
    if code:
        position = code[0]
    else:
        badges = [index for index, c in enumerate(new.cells) if has_tag(c, BADGE_TAG)]
        position = badges[0] + 1 if badges else 0
    new.cells.insert(position, cell)
    return new


def stamp_colab(nb: NotebookNode, config: ColabConfig, repo_path: str) -> NotebookNode:
    """Stamp both the badge (opening ``repo_path`` in Colab) and the install cell."""
    return stamp_install_cell(stamp_badge(nb, colab_url(config, repo_path)), config)


