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


NEED_DISK = REPO / ".ci" / "need-disk"


def test_need_disk_stops_ci_early_with_the_space_it_needs_and_has(tmp_path: Path) -> None:
    """CI and colab-check ask for the disk they need before installing gigabytes (a full disk once failed
    colab-check halfway through pip's install of torch with only '[Errno 28] No space left on device')."""
    enough = subprocess.run([str(NEED_DISK), "0", str(tmp_path), "a test"], capture_output=True, text=True)
    assert enough.returncode == 0, enough.stderr
    assert "GB free in" in enough.stdout and "a test needs about 0 GB" in enough.stdout

    too_much = subprocess.run([str(NEED_DISK), "1000000", str(tmp_path), "a test"], capture_output=True, text=True)
    assert too_much.returncode == 1
    assert f"a test needs about 1000000 GB free in {tmp_path}; it has " in too_much.stderr
    assert "pip cache purge" in too_much.stderr


@pytest.mark.parametrize("script", ["run", "colab-check"])
def test_ci_scripts_check_the_disk_before_they_install(script: str) -> None:
    lines = (REPO / ".ci" / script).read_text().splitlines()
    check = next(i for i, line in enumerate(lines) if "need-disk" in line and not line.lstrip().startswith("#"))
    install = next(i for i, line in enumerate(lines) if "make venv" in line or 'pip_install --quiet -r' in line
                   or "--no-cache-dir -r" in line)
    assert check < install, f".ci/{script} installs (line {install + 1}) before it checks the disk (line {check + 1})"
