"""`make lab` keeps --allow-root for root, whatever LAB_ARGS says (checked with `make -n`, which runs nothing)."""
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
