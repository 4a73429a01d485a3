"""Repository-level pytest settings.

The live notebooks in notebooks/live/ are generated for teaching (their code is
blanked on purpose), so nbval must never run them, even under a bare
`pytest --nbval notebooks/`.

Checkpoints: lectures save their long training runs under a checkpoint name
(`cu.train(..., checkpoint="08-final")`), which goes to `./checkpoints` unless
COURSE_CHECKPOINT_DIR says otherwise. A test run must neither leave such files
next to the notebooks nor find the files of an earlier run (and then skip the
training it is meant to test), so each pytest process gets a fresh, temporary
checkpoint folder, removed at the end (a folder set by the caller is used as it is).

CUDA: every test skipped for want of a CUDA GPU is marked ``cuda``, so that a GPU
machine runs exactly those with `pytest -m cuda` (`make gpu-check` does).
"""
from __future__ import annotations

import os
import shutil
import tempfile

collect_ignore_glob = ["notebooks/live/*"]

_TEMPORARY_CHECKPOINTS: str | None = None


def pytest_configure(config) -> None:
    global _TEMPORARY_CHECKPOINTS
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU; `make gpu-check` runs these (pytest -m cuda)")
    if not os.environ.get("COURSE_CHECKPOINT_DIR"):
        _TEMPORARY_CHECKPOINTS = tempfile.mkdtemp(prefix="course-checkpoints-")
        os.environ["COURSE_CHECKPOINT_DIR"] = _TEMPORARY_CHECKPOINTS


def pytest_collection_modifyitems(config, items) -> None:
    """Every test that is skipped without CUDA gets the ``cuda`` marker, wherever it is."""
    for item in items:
        reasons = [str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skipif")]
        if any("CUDA" in reason and "without" not in reason for reason in reasons):
            item.add_marker("cuda")


def pytest_unconfigure(config) -> None:
    if _TEMPORARY_CHECKPOINTS is not None:
        shutil.rmtree(_TEMPORARY_CHECKPOINTS, ignore_errors=True)
        os.environ.pop("COURSE_CHECKPOINT_DIR", None)
