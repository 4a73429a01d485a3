"""The fast-mode nbval run of the whole lecture series, timed (``--nbval``).

It runs what ``make test`` runs for the notebooks: every ``notebooks/NN-*.ipynb``
under nbval with ``--nbval-lax``, in parallel by file, with ``COURSE_FAST=1``,
``COURSE_SYNTHETIC_FALLBACK=1`` and one torch thread per worker.

Example:
    >>> command = nbval_command(Path("."))
    >>> command[1:3]
    ['-m', 'pytest']
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from course_utils.config import FAST_ENV, SYNTHETIC_ENV

#: The environment the Makefile gives the notebooks.
NBVAL_ENV = {FAST_ENV: "1", SYNTHETIC_ENV: "1", "OMP_NUM_THREADS": "1"}


def lecture_notebooks(root: Path) -> list[Path]:
    """The lecture notebooks ``notebooks/[0-9][0-9]-*.ipynb`` (live twins are not lectures), sorted."""
    return sorted((Path(root) / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def nbval_command(root: Path) -> list[str]:
    """The pytest command line of the Makefile's notebook run (the notebooks as paths relative to ``root``)."""
    notebooks = [str(path.relative_to(root)) for path in lecture_notebooks(root)]
    return [sys.executable, "-m", "pytest", "-q", "-n", "auto", "--dist", "loadfile", "--nbval-lax",
            "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider",
            *notebooks]


def run_nbval(root: Path) -> dict:
    """Run the notebooks under nbval in ``root``; return the wall time, exit status and pytest's last line."""
    command = nbval_command(root)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env={**os.environ, **NBVAL_ENV}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {"seconds": seconds, "returncode": done.returncode, "notebooks": len(lecture_notebooks(root)),
            "summary": lines[-1] if lines else done.stderr.strip()[-300:],
            "command": " ".join(f"{k}={v}" for k, v in NBVAL_ENV.items()) + " " + " ".join(command[1:])}
