"""Every lecture, in fast mode, against a class's shared data folder that the lectures may not write to.

The JupyterHub set-up of docs/data.md: an instructor prepares one data folder (here: the offline
CIFAR-10 copy, Fashion-MNIST's files, and the cache that ``python -m course_utils.data download`` makes),
makes it read-only, and every student's ``COURSE_DATA_DIR`` points to it. The lectures run in a child
process WITHOUT root's capabilities (``setpriv``), so the folder really is read-only for them; afterwards
the folder must be exactly as before (every path, size and SHA-256), and what the students needed to
write went to their own cache folder (``XDG_CACHE_HOME``). Sign-Language MNIST is not on this machine:
lecture 07 uses the labelled synthetic stand-in, which is written into the student's own folder too.

Slow (all nine lectures run, about five minutes on two cores): ``pytest -m slow tests/test_shared_folder.py``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FASHION_SYSTEM_DIR
from faultkit import drop_write_capabilities_prefix, snapshot
from course_utils.data import load_dataset

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted(str(path.relative_to(REPO)) for path in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _set_writable(folder: Path, writable: bool) -> None:
    for path in [*folder.rglob("*"), folder]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)


@pytest.mark.slow
def test_every_lecture_runs_against_a_read_only_shared_folder(real_data_dir, tmp_path):
    prefix = drop_write_capabilities_prefix()
    if prefix is None:
        pytest.skip("cannot drop write permission here (no setpriv, or not allowed)")
    if not (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no Fashion-MNIST copy in {FASHION_SYSTEM_DIR}")
    assert len(LECTURES) == 9, LECTURES
    shared = tmp_path / "class-data"
    shutil.copytree(real_data_dir / "cifar-10-batches-py", shared / "cifar-10-batches-py")
    shutil.copytree(FASHION_SYSTEM_DIR, shared / "fashion-mnist")
    for split in ("train", "test"):                      # the shared cache that `download` makes for CIFAR-10
        load_dataset("cifar10", split, root=shared, download=False)
    own = tmp_path / "student-cache"                     # the student's XDG_CACHE_HOME
    own.mkdir()
    before = snapshot(shared)
    _set_writable(shared, False)
    try:
        probe = subprocess.run([*prefix, "sh", "-c", f"touch {shared}/probe"], capture_output=True)
        assert probe.returncode != 0, "the child could still write into the shared folder: the test would prove nothing"
        env = {**os.environ, "COURSE_DATA_DIR": str(shared), "XDG_CACHE_HOME": str(own), "COURSE_FAST": "1",
               "COURSE_SYNTHETIC_FALLBACK": "1", "COURSE_LIVE_OUTPUT": "0", "OMP_NUM_THREADS": "1"}
        env.pop("COURSE_MIRRORS", None)
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile",
             "--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", *LECTURES],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
        after = snapshot(shared)
    finally:
        _set_writable(shared, True)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0 and " passed" in summary and "failed" not in summary, result.stdout[-6000:]
    assert after == before                               # nothing written into the shared folder
    written = sorted(str(path.relative_to(own)) for path in own.rglob("*") if path.is_file())
    assert any(name.endswith("cache/fashion_mnist-train.npz") for name in written), written   # students' own cache
    assert any("synthetic/sign_language_mnist/SYNTHETIC.txt" in name for name in written), written
    assert not any("cifar10" in name for name in written), written   # the shared CIFAR-10 cache was read, not rebuilt
    print(f"\n{len(LECTURES)} lectures against the read-only {shared}: {summary}")
