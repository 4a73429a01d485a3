"""Settings that come from the environment: where the data lives and fast mode.

Three environment variables steer the course helpers:

- ``COURSE_DATA_DIR``: the folder that holds the data sets (see ``data_dir``).
- ``COURSE_FAST=1``: fast mode. Data sets shrink to a fixed, class-balanced
  subset and training runs at most one epoch, so that the notebooks run in
  seconds (used by the test suite and handy on a slow laptop).
- ``COURSE_SYNTHETIC_FALLBACK=1``: for test suites only. A data set whose real
  files are missing is replaced by a small, clearly labelled synthetic stand-in
  instead of being downloaded (only Sign-Language MNIST has one).

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

#: The columns of the history table that ``train`` returns and ``plot_history`` draws:
#: one row per log point, with the epoch, the batch within it, how many examples
#: training has seen so far, the seconds since training started, the learning rate,
#: the mean loss and accuracy since the last row, and (at the last row of each epoch,
#: when ``train`` was given validation data) the validation loss and accuracy.
#: (Kept here, in a module without heavy imports, so plotting need not import torch.)
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

    Example:
        >>> data_dir("/tmp/my-data")      # doctest: +SKIP
        PosixPath('/tmp/my-data')
    """
    if root is not None:
        folder = Path(root)
    elif os.environ.get(DATA_DIR_ENV, "").strip():
        folder = Path(os.environ[DATA_DIR_ENV].strip())
    elif repo_data_dir() is not None:
        folder = repo_data_dir()
    else:
        folder = Path.cwd() / "data"
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"The data directory {folder} is a file, not a folder. "
            f"Pass another root= or set {DATA_DIR_ENV} to a folder."
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fast_mode() -> bool:
    """True when ``COURSE_FAST`` is set to 1, true, yes or on (any case).

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

    Example:
        >>> num_epochs(5)          # with COURSE_FAST unset  # doctest: +SKIP
        5
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError(f"epochs must be a whole number, got {epochs!r}.")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    return min(epochs, 1) if fast_mode() else epochs
