"""The Makefile, checked with `make -n` (which runs nothing): `make lab` keeps --allow-root for root, whatever
LAB_ARGS says, and the two test lanes run what they promise."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def lab_command(tmp_path: Path, *arguments: str) -> str:
    """The `jupyter lab` line `make lab` would run (with a stand-in venv that is up to date)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".course-installed").touch()   # newer than pyproject.toml: nothing to install
    result = subprocess.run(["make", "-n", "-C", str(REPO), "lab", f"VENV={venv}", *arguments],
                            capture_output=True, text=True, check=True)
    lines = [line for line in result.stdout.splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, result.stdout
    return lines[0]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("arguments", [(), ('LAB_ARGS=--no-browser --port 8899',)])
def test_make_lab_allows_root_only_for_root(tmp_path: Path, arguments) -> None:
    command = lab_command(tmp_path, *arguments)
    assert ("--allow-root" in command) == (os.geteuid() == 0), command
    if arguments:
        assert "--no-browser --port 8899" in command


def make_dry_run(tmp_path: Path, target: str) -> str:
    """The test command `make <target>` would run (with a stand-in venv that is up to date)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    (venv / ".course-installed").touch()
    result = subprocess.run(["make", "-n", "-C", str(REPO), target, f"VENV={venv}"],
                            capture_output=True, text=True, check=True)
    commands = result.stdout.replace("\\\n", " ").splitlines()   # (make -n keeps the continued lines)
    [line] = [line for line in commands if "-m pytest" in line]
    return line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_fast_lane_skips_the_slow_tests_and_the_notebooks_and_the_full_one_runs_everything(tmp_path: Path):
    fast, full = make_dry_run(tmp_path, "test-fast"), make_dry_run(tmp_path, "test")
    assert '-m "not slow"' in fast and "notebooks" not in fast and "--nbval" not in fast
    assert "not slow" not in full and "--nbval-lax" in full and "notebooks/[0-9][0-9]-*.ipynb" in full
    for command in (fast, full):   # the same environment: fast mode, synthetic stand-in, text-only output
        assert "COURSE_FAST=1 COURSE_SYNTHETIC_FALLBACK=1 COURSE_LIVE_OUTPUT=0" in command
