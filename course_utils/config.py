"""Settings that come from the environment: where the data live, fast mode, downloads.

The course helpers read these environment variables (this module is the one
place that reads the data and fast-mode ones; ``course_utils.live`` reads its own
``COURSE_LIVE_*`` variables):

- ``COURSE_DATA_DIR``: the folder that holds the data sets (see ``data_dir``). It
  may be a shared, read-only folder: then decoded arrays are cached per user, in
  ``user_cache_dir()``, and nothing is written into it.
- ``COURSE_FAST=1``: fast mode. Data sets shrink to a fixed, class-balanced
  subset and training runs at most one epoch, so that the notebooks run in
  seconds (used by the test suite and handy on a slow laptop).
- ``COURSE_SYNTHETIC_FALLBACK=1``: for test suites only. A data set whose real
  files are missing is replaced by a small, clearly labelled synthetic stand-in
  instead of being downloaded (only Sign-Language MNIST has one).
- ``COURSE_MIRRORS``: your own copies of the data files, tried before the
  registry's sources: URL prefixes and/or folders, separated by ``;`` (see
  ``user_mirrors``). Their files must match the same checksums.
- ``COURSE_DOWNLOAD_TIMEOUT``: seconds to wait for a server to connect or to
  send the next bytes (default 30).
- ``COURSE_DOWNLOAD_STALL``: seconds a download may go on while it receives
  almost nothing (less than 64 KiB) before it is stopped (default 120).
- ``COURSE_SPEED_FLOOR`` and ``COURSE_SPEED_WINDOW``: a source that delivers
  less than the floor (bytes per second, default 1,000,000; 0 turns it off)
  over the window (seconds, default 10) is left for the next source, while
  there is one (see ``speed_floor``).
- ``COURSE_LIVE_OUTPUT=0``: no outputs that redraw in place (see
  ``live_output_allowed``).
- ``XDG_CACHE_HOME``: the standard place for per-user caches (default
  ``~/.cache``); see ``user_cache_dir``.

This module imports only ``checks`` (the one message format for a refused
argument) from the rest of the package, so any other module may import it.

Example:
    >>> import course_utils as cu
    >>> cu.data.data_dir()            # doctest: +SKIP
    PosixPath('/home/me/course-kit/data')
    >>> cu.num_epochs(10)        # 10, or 1 when COURSE_FAST=1  # doctest: +SKIP
    10
"""
from __future__ import annotations

import os
from pathlib import Path

from course_utils import checks

DATA_DIR_ENV = "COURSE_DATA_DIR"
FAST_ENV = "COURSE_FAST"
SYNTHETIC_ENV = "COURSE_SYNTHETIC_FALLBACK"
DOWNLOAD_TIMEOUT_ENV = "COURSE_DOWNLOAD_TIMEOUT"
DOWNLOAD_STALL_ENV = "COURSE_DOWNLOAD_STALL"
MIRRORS_ENV = "COURSE_MIRRORS"
SPEED_FLOOR_ENV = "COURSE_SPEED_FLOOR"
SPEED_WINDOW_ENV = "COURSE_SPEED_WINDOW"

#: Seconds a download waits for the server: to connect, for the headers, for the next bytes.
DOWNLOAD_TIMEOUT = 30.0
#: Seconds a download may go on receiving almost nothing (a server that trickles) before it stops.
DOWNLOAD_STALL_LIMIT = 120.0
#: A source that delivers less than this many bytes per second ...
SPEED_FLOOR = 1_000_000.0
#: ... measured over this many seconds, is left for the next source (the last source is never left for slowness).
SPEED_WINDOW = 10.0

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


#: A folder given as an argument: a path (str or pathlib.Path) that is not empty.
folder_rule = checks.Rule("a folder (a str or a pathlib.Path) such as \"data\"", lambda v: isinstance(v, (str, os.PathLike)),
                          lambda v: bool(str(v).strip()), role="folder",
                          fix=f"Leave it out to use {DATA_DIR_ENV} or the default data folder.")


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
    checks.optional(folder_rule)(root, "root", "data_dir")
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
    checks.positive_int(epochs, "epochs", "num_epochs")
    return min(int(epochs), 1) if fast_mode() else int(epochs)


def _number_from_env(name: str, default: float, example: str, *, zero_allowed: bool = False) -> float:
    """A positive number (or 0, if ``zero_allowed``) from the environment variable ``name``, or ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not (number >= 0 if zero_allowed else number > 0) or number == float("inf"):
        raise checks.refusal(ValueError, "", f"The environment variable {name}",
                             f"a {'' if zero_allowed else 'positive '}number of {example}", repr(text),
                             "Fix or unset it.")
    return number


def download_timeout() -> float:
    """Seconds a download waits for the server (to connect, or for its next bytes) before giving up.

    ``COURSE_DOWNLOAD_TIMEOUT`` overrides the default ``DOWNLOAD_TIMEOUT`` (30 s).

    Example:
        >>> download_timeout()      # with COURSE_DOWNLOAD_TIMEOUT unset  # doctest: +SKIP
        30.0
    """
    return _number_from_env(DOWNLOAD_TIMEOUT_ENV, DOWNLOAD_TIMEOUT, "seconds, such as 30")


def download_stall_limit() -> float:
    """Seconds a download may receive almost nothing before it stops (a server that trickles).

    ``COURSE_DOWNLOAD_STALL`` overrides the default ``DOWNLOAD_STALL_LIMIT`` (120 s).
    """
    return _number_from_env(DOWNLOAD_STALL_ENV, DOWNLOAD_STALL_LIMIT, "seconds, such as 120")


def speed_floor() -> tuple[float, float]:
    """(bytes per second, seconds): a source slower than this over that window is left for the next one.

    ``COURSE_SPEED_FLOOR`` (bytes per second; 0 turns the floor off) and
    ``COURSE_SPEED_WINDOW`` (seconds) override ``SPEED_FLOOR`` (1 MB/s) and
    ``SPEED_WINDOW`` (10 s).

    Example:
        >>> speed_floor()          # with both variables unset  # doctest: +SKIP
        (1000000.0, 10.0)
    """
    return (_number_from_env(SPEED_FLOOR_ENV, SPEED_FLOOR, "bytes per second, such as 1000000 (0: no floor)",
                             zero_allowed=True),
            _number_from_env(SPEED_WINDOW_ENV, SPEED_WINDOW, "seconds, such as 10"))


def user_mirrors() -> list[str]:
    """The entries of ``COURSE_MIRRORS``: URL prefixes (``https://...``) and folders, in the order given.

    Entries are separated by ``;`` (or new lines); spaces around them are ignored.
    Each one is checked here, before anything is downloaded: a URL must start
    with ``http://``, ``https://`` or ``file://``; anything else must be a
    folder that exists.

    Example:
        >>> user_mirrors()   # COURSE_MIRRORS="https://data.example.edu/course/ ; /srv/course-data"  # doctest: +SKIP
        ['https://data.example.edu/course/', '/srv/course-data']
    """
    text = os.environ.get(MIRRORS_ENV, "")
    entries = [entry.strip() for line in text.splitlines() for entry in line.split(";") if entry.strip()]
    expects = "URL prefixes (http://, https:// or file://) and folders that exist here, separated by ';'"
    for entry in entries:
        if "://" in entry:
            if not entry.startswith(("http://", "https://", "file://")):
                raise checks.refusal(ValueError, "", f"The environment variable {MIRRORS_ENV}", expects,
                                     f"{entry!r}, which is not an address this course can download from",
                                     "Fix or unset it.")
        elif not Path(entry).expanduser().is_dir():
            raise checks.refusal(ValueError, "", f"The environment variable {MIRRORS_ENV}", expects,
                                 f"{entry!r}, which is neither a folder here nor a URL starting with http:// or "
                                 "https://", "Entries are separated by ';'. Fix or unset it.")
    return entries


def user_cache_dir() -> Path:
    """This user's cache folder for the course: ``$XDG_CACHE_HOME/course-utils`` (default ``~/.cache/course-utils``).

    Decoded arrays of a data folder you may not write to (a class's shared,
    read-only copy) are kept here, one sub-folder per data folder. It is not
    created here.
    """
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "course-utils"
