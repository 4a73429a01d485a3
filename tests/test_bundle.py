"""The class bundle's command line, ``python -m course_utils.data``: download, verify, pack, unpack, sources.

Every data set is a tiny generated copy in the real format, served by a local web server; the registry
is pointed at it (and its checksums are those of the tiny files), so the commands run as they would
on a real class's data.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import (
    SIGN_LABELS,
    git_blob_of,
    md5_of,
    write_sign_csv,
    write_tiny_cifar_folder,
    write_tiny_fashion,
)
from faultkit import fault_server, short_timeouts, snapshot  # noqa: F401 (fixtures)
from course_utils.data import bundle, load_dataset, registry
from course_utils.data.registry import RemoteFile

REPO = Path(__file__).resolve().parents[1]


def tiny_registry(server, tmp_path: Path, *, official: bool = True) -> dict:
    """The three data sets, tiny, served by ``server``, with the checksums of the tiny files."""
    source = write_tiny_cifar_folder(tmp_path / "tiny-src" / "cifar-10-batches-py")
    archive = tmp_path / "tiny-src" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
    cifar = registry.DATASETS["cifar10"]
    unpacked = tuple((name, md5_of(source / name)) for name in cifar.raw_files()) if official else cifar.unpacked_md5
    cifar = replace(cifar, train_size=20, test_size=10, unpacked_md5=unpacked,
                    files=(RemoteFile(server.serve(archive), archive.name, md5=md5_of(archive),
                                      size=archive.stat().st_size),))
    fashion_files = write_tiny_fashion(tmp_path / "tiny-fashion")
    fashion = replace(registry.DATASETS["fashion_mnist"], train_size=30, test_size=20, system_folders=(),
                      files=tuple(RemoteFile(server.serve(path), path.name, md5=md5_of(path))
                                  for path in sorted(fashion_files.iterdir())))
    train = write_sign_csv(tmp_path / "tiny-sign" / "sign_mnist_train.csv", SIGN_LABELS * 2, seed=1)
    test = write_sign_csv(tmp_path / "tiny-sign" / "sign_mnist_test.csv", SIGN_LABELS, seed=2)
    sign = replace(registry.DATASETS["sign_language_mnist"], train_size=48, test_size=24,
                   files=tuple(RemoteFile(server.serve(path), path.name, git_blob=git_blob_of(path))
                               for path in (train, test)))
    return {"cifar10": cifar, "fashion_mnist": fashion, "sign_language_mnist": sign}


@pytest.fixture
def tiny(fault_server, tmp_path, monkeypatch, short_timeouts):
    """The registry, for this test, holds the tiny data sets."""
    entries = tiny_registry(fault_server, tmp_path)
    for name, info in entries.items():
        monkeypatch.setitem(registry.DATASETS, name, info)
    return entries


def arrays(root: Path, entries: dict) -> dict:
    """Every split of every data set in ``root``, as bytes (to compare two data folders)."""
    return {(name, split): load_dataset(name, split, root=root, info=info, download=False).images.numpy().tobytes()
            for name, info in entries.items() for split in ("train", "test")}


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_download_verify_pack_unpack_round_trip(tiny, fault_server, tmp_path, capsys, suffix):
    shared = tmp_path / "shared"
    assert bundle.main(["download", "--all", str(shared)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ready in ") == 3 and out.count(", checked: ") == 7     # 1 + 4 + 2 files, each checked
    assert all(count == 1 for count in fault_server.requests.values()) and len(fault_server.requests) == 7
    assert {p.name for p in (shared / "cache").iterdir()} >= {"cifar10-train.npz", "fashion_mnist-test.npz"}

    assert bundle.main(["verify", str(shared), "--official"]) == 0
    verdicts = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in verdicts] == ["CIFAR-10", "Fashion-MNIST", "Sign-Language MNIST"]
    assert all("usable" in line and "the official bytes" in line for line in verdicts)

    package = tmp_path / f"class{suffix}"
    assert bundle.main(["pack", str(shared), str(package)]) == 0
    names = (zipfile.ZipFile(package).namelist() if suffix == ".zip" else tarfile.open(package).getnames())
    assert {"SHA256SUMS", "BUNDLE.txt", "cifar-10-batches-py/test_batch", "sign-language-mnist/sign_mnist_test.csv",
            "fashion-mnist/t10k-labels-idx1-ubyte.gz"} <= set(names) and len(names) == 7 + 6 + 2
    assert not any(name.startswith("cache") for name in names)                 # caches are rebuilt where unpacked
    note = (zipfile.ZipFile(package).read("BUNDLE.txt") if suffix == ".zip" else
            tarfile.open(package).extractfile("BUNDLE.txt").read()).decode()
    assert note.count(": the official bytes (checksums match)") == 3 and "unpack class" in note

    student = tmp_path / "student-data"
    assert bundle.main(["unpack", str(package), str(student)]) == 0
    assert sorted(p.name for p in student.iterdir()) == ["cache", "cifar-10-batches-py", "fashion-mnist",
                                                         "sign-language-mnist"]     # no working folder left
    assert arrays(student, tiny) == arrays(shared, tiny)
    assert sum(fault_server.requests.values()) == 7                           # the student downloaded nothing


def test_download_keeps_the_archive_so_the_folder_can_serve_as_a_mirror(tiny, tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    assert bundle.main(["download", str(shared), "cifar10", "--keep-archives", "--no-cache"]) == 0
    assert (shared / "cifar-10-python.tar.gz").is_file() and not (shared / "cache").exists()
    monkeypatch.setenv("COURSE_MIRRORS", str(shared))                         # a student's own data folder ...
    student = tmp_path / "student"
    assert len(load_dataset("cifar10", "test", root=student, info=tiny["cifar10"])) == 10
    assert f"from {shared / 'cifar-10-python.tar.gz'}" in capsys.readouterr().out   # ... is filled from it


def test_verify_says_what_is_missing_and_what_is_not_official(tiny, tmp_path, capsys):
    folder = tmp_path / "data"
    write_tiny_cifar_folder(folder / "cifar-10-batches-py", seed=5)           # right structure, other bytes
    assert bundle.main(["verify", str(folder), "cifar10"]) == 0                # usable ...
    assert bundle.main(["verify", str(folder), "cifar10", "--official"]) == 1  # ... but not official
    assert bundle.main(["verify", str(folder)]) == 1                           # and two data sets are missing
    out = capsys.readouterr().out
    assert "CIFAR-10: usable: 20 training and 10 test images" in out and "NOT the official bytes" in out
    assert "Fashion-MNIST: MISSING" in out and "python -m course_utils.data download" in out


def test_sources_lists_your_own_copies_first(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MIRRORS", "https://data.example.edu/course/")
    assert bundle.main(["sources", "cifar10"]) == 0
    out = capsys.readouterr().out
    assert "1. https://data.example.edu/course/cifar-10-python.tar.gz" in out
    assert "2. http://127.0.0.1:" in out and "documented by: your COURSE_MIRRORS" in out


def test_the_real_registry_listed_by_the_command_line(tmp_path):
    """``python -m course_utils.data sources`` in a fresh interpreter: the real sources, origin last."""
    result = subprocess.run([sys.executable, "-m", "course_utils.data", "sources"], capture_output=True, text=True,
                            cwd=REPO, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.index("air-example-data") < result.stdout.index("zenodo.org") < result.stdout.index(
        "www.cs.toronto.edu")
    assert result.stdout.count("documented by:") == 3 + 4 * 3 + 1 + 2
    assert "git blob ac853c483879f6dc2d529d876f54a4d1c3c024b8" in result.stdout


def test_help_names_every_command():
    result = subprocess.run([sys.executable, "-m", "course_utils.data", "--help"], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0
    for command in ("download", "verify", "pack", "unpack", "sources"):
        assert f"    {command}" in result.stdout


def test_pack_checks_the_bundle_name_before_verifying(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bundle, "verify", lambda *args, **kwargs: pytest.fail("verified before checking the name"))
    assert bundle.main(["pack", str(tmp_path), str(tmp_path / "class.rar")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m course_utils.data pack: FILE must be a new archive file ending in .tar")
    assert "got 'class.rar'. Add .tar" in err
