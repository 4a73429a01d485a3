"""Settings that come from the environment: where the data lives and fast mode.

Three environment variables steer the course helpers:

- ``COURSE_DATA_DIR``: the folder that holds the data sets (see ``data_dir``).
- ``COURSE_FAST=1``: fast mode. Data sets shrink to a fixed, class-balanced
  subset and training runs at most one epoch, so that the notebooks run in
  seconds (used by the test suite and handy on a slow laptop).
- ``COURSE_SYNTHETIC_FALLBACK=1``: for test suites only. A data set whose real
  files are missing is replaced by a small, clearly labelled synthetic stand-in
  instead of being downloaded (only Sign-Language MNIST has one).

Two more tune downloads (see ``download_timeout`` and ``download_stall_limit``):

- ``COURSE_DOWNLOAD_TIMEOUT``: seconds to wait for a server to connect or to
  send the next bytes (default 30);
- ``COURSE_DOWNLOAD_STALL``: seconds a download may go on while it receives
  almost nothing (less than 64 KiB) before it is stopped (default 120).

This module imports nothing from the rest of the package, so any module may
import it.

Example:
    >>> import course_utils as cu
    >>> cu.data_dir()            # doctest: +SKIP
    PosixPath('/home/me/course-kit/data')
    >>> cu.num_epochs(10)        # 10, or 1 when COURSE_FAST=1  # doctest: +SKIP
    10
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "COURSE_DATA_DIR"
FAST_ENV = "COURSE_FAST"
SYNTHETIC_ENV = "COURSE_SYNTHETIC_FALLBACK"
DOWNLOAD_TIMEOUT_ENV = "COURSE_DOWNLOAD_TIMEOUT"
DOWNLOAD_STALL_ENV = "COURSE_DOWNLOAD_STALL"

#: Seconds a download waits for the server: to connect, for the headers, for the next bytes.
DOWNLOAD_TIMEOUT = 30.0
#: Seconds a download may go on receiving almost nothing (a server that trickles) before it stops.
DOWNLOAD_STALL_LIMIT = 120.0

#: The columns of the history table that ``train`` returns and ``plot_history`` draws:
#: one row per log point, with the epoch, the batch within it, how many examples
#: training has seen so far, the seconds since training started, the learning rate,
#: the mean loss and accuracy since the last row, and (at the last row of each epoch,
#: when ``train`` was given validation data) the validation loss and accuracy.
#: (Kept here so that ``train``, which writes them, and the plots, which read them, share one definition.)
HISTORY_COLUMNS = ["epoch", "batch", "examples", "seconds", "lr", "loss", "accuracy", "val_loss", "val_accuracy"]

#: The columns every history must have to be plotted (a hand-written loop may record only these).
CORE_HISTORY_COLUMNS = ["epoch", "batch", "examples", "loss", "accuracy"]

#: In fast mode each class keeps this many training images ...
FAST_TRAIN_PER_CLASS = 100
#: ... and this many test images (fewer if the class has fewer).
FAST_TEST_PER_CLASS = 40
#: ... and, when a validation set is held out (``make_loaders(..., validation=...)``), this many
#: validation images per class.
FAST_VALIDATION_PER_CLASS = 20

_TRUE_WORDS = {"1", "true", "yes", "on"}


def _env_flag(name: str) -> bool:
    """True when the environment variable ``name`` reads 1/true/yes/on (any case)."""
    return os.environ.get(name, "").strip().lower() in _TRUE_WORDS


#: ``COURSE_LIVE_OUTPUT=0`` (or false/no/off) turns off outputs that redraw in place
#: (live training curves, progress lines): only plain text is printed. ``make test`` sets it.
LIVE_OUTPUT_ENV = "COURSE_LIVE_OUTPUT"


def live_output_allowed() -> bool:
    """False when ``COURSE_LIVE_OUTPUT`` reads 0/false/no/off (any case); True otherwise, also when unset."""
    return os.environ.get(LIVE_OUTPUT_ENV, "").strip().lower() not in {"0", "false", "no", "off"}


def repo_data_dir() -> Path | None:
    """The ``data/`` folder of the course repository, or None outside a checkout.

    When ``course_utils`` is imported from a clone of the course repository,
    the folder next to the package, ``<repo>/data``, holds a README.md; that is
    how we recognise it. (After ``pip install`` into site-packages there is no
    such folder, and None is returned.)
    """
    candidate = Path(__file__).resolve().parents[1] / "data"
    if (candidate / "README.md").is_file():
        return candidate
    return None


def data_dir(root: str | Path | None = None) -> Path:
    """Return the data directory, creating it if it does not exist yet.

    The first of these that is given wins:

    1. the argument ``root``;
    2. the environment variable ``COURSE_DATA_DIR``;
    3. the repository's ``data/`` folder, when course_utils runs from a checkout;
    4. ``./data`` in the current working directory (the Colab case).

    A path that is a file, or that runs through a file, gives a
    ``NotADirectoryError``; a folder that cannot be created, a
    ``PermissionError``; both say which setting to change.

    Example:
        >>> data_dir("/tmp/my-data")      # doctest: +SKIP
        PosixPath('/tmp/my-data')
    """
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder (a str or a pathlib.Path), got {type(root).__name__} {root!r}. "
                        f"Leave it out to use {DATA_DIR_ENV} or the default data folder.")
    if isinstance(root, str) and not root.strip():
        raise ValueError("root is an empty string; pass a folder such as root=\"data\", or leave it out.")
    if root is not None:
        folder, origin = Path(root), f"the root= argument ({root})"
    elif os.environ.get(DATA_DIR_ENV, "").strip():
        folder = Path(os.environ[DATA_DIR_ENV].strip())
        origin = f"the environment variable {DATA_DIR_ENV}={folder}"
    elif repo_data_dir() is not None:
        folder, origin = repo_data_dir(), "the default (the repository's data/ folder)"
    else:
        folder, origin = Path.cwd() / "data", "the default (./data)"
    folder = folder.expanduser()
    if folder.is_dir():
        return folder
    fix = f"Pass another root= or set {DATA_DIR_ENV} to a folder you can write to."
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"The data directory {folder} is a file, not a folder (it comes from {origin}). {fix}")
    blocker = _file_on_the_way(folder)
    if blocker is not None:
        raise NotADirectoryError(
            f"The data directory {folder} cannot exist: {blocker} is a file, not a folder "
            f"(the path comes from {origin}). {fix}"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        problem = "you may not create it there" if isinstance(error, PermissionError) else error.strerror
        cls = PermissionError if isinstance(error, PermissionError) else OSError
        new = cls(f"The data directory {folder} does not exist and cannot be created ({problem}; "
                  f"the path comes from {origin}). {fix}")
        new.errno = error.errno   # (no .filename: str(error) stays the message above)
        raise new from None
    return folder


def _file_on_the_way(folder: Path) -> Path | None:
    """The first parent of ``folder`` that is a file (so the folder cannot exist), or None."""
    for parent in reversed(folder.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def fast_mode() -> bool:
    """True when ``COURSE_FAST`` is set to 1, true, yes or on (any case).

    Every lecture's first cell prints it; lecture 01's set-up explains fast mode.

    Example:
        >>> import os
        >>> os.environ["COURSE_FAST"] = "1"
        >>> fast_mode()
        True
        >>> del os.environ["COURSE_FAST"]
    """
    return _env_flag(FAST_ENV)


def synthetic_fallback() -> bool:
    """True when ``COURSE_SYNTHETIC_FALLBACK`` asks for synthetic stand-ins (tests only)."""
    return _env_flag(SYNTHETIC_ENV)


def num_epochs(epochs: int) -> int:
    """How many epochs to train: ``epochs``, or at most 1 in fast mode.

    Lecture 03 passes ``cu.num_epochs(3)`` to its hand-written training loop (section 6).

    Example:
        >>> num_epochs(5)          # with COURSE_FAST unset  # doctest: +SKIP
        5
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError(f"epochs must be a whole number, got {epochs!r}.")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    return min(epochs, 1) if fast_mode() else epochs


def _seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name``, or ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"The environment variable {name} must be a positive number of seconds, such as 30; "
                         f"it is {text!r}. Fix or unset it.")
    return seconds


def download_timeout() -> float:
    """Seconds a download waits for the server (to connect, or for its next bytes) before giving up.

    ``COURSE_DOWNLOAD_TIMEOUT`` overrides the default ``DOWNLOAD_TIMEOUT`` (30 s).

    Example:
        >>> download_timeout()      # with COURSE_DOWNLOAD_TIMEOUT unset  # doctest: +SKIP
        30.0
    """
    return _seconds_from_env(DOWNLOAD_TIMEOUT_ENV, DOWNLOAD_TIMEOUT)


def download_stall_limit() -> float:
    """Seconds a download may receive almost nothing before it stops (a server that trickles).

    ``COURSE_DOWNLOAD_STALL`` overrides the default ``DOWNLOAD_STALL_LIMIT`` (120 s).
    """
    return _seconds_from_env(DOWNLOAD_STALL_ENV, DOWNLOAD_STALL_LIMIT)
