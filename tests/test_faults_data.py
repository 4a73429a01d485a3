"""Fault suite, part 2: the data folder and its files. Read-only folders (for real: a child process
without root's capabilities), full disks (for real: a tiny private tmpfs; and injected ENOSPC), paths that
run through files, incomplete and damaged data, a damaged or unwritable cache.

Each test asserts a clear message and that the data folder is exactly as before (``snapshot``) or correctly
complete. See tests/FAULTS.md for the table of faults.
"""
from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
import tarfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import md5_of, tiny_cifar_info, write_sign_csv, write_tiny_cifar_folder, write_tiny_fashion, SIGN_LABELS
from faultkit import (  # noqa: F401 (fixtures)
    WITHOUT_PACKAGE_INIT,
    drop_write_capabilities_prefix,
    fault_server,
    names,
    once_per_run,
    run_child,
    short_timeouts,
    snapshot,
)
from course_utils import config
from course_utils.data import arrays
from course_utils.data import DATASETS, DataFormatError, DownloadError, RemoteFile, load_dataset

TINY_CIFAR = replace(DATASETS["cifar10"], train_size=20, test_size=10)
TINY_SIGN = replace(DATASETS["sign_language_mnist"], train_size=48, test_size=24)
TINY_FASHION = replace(DATASETS["fashion_mnist"], train_size=30, test_size=20, system_folders=())
ARCHIVE = "cifar-10-python.tar.gz"


@pytest.fixture(autouse=True)
def _fresh_warning_memory(monkeypatch):
    """The 'read-only, no cache' warning is given once per process: forget earlier tests' warnings."""
    monkeypatch.setattr(arrays, "_warned_folders", set())
    monkeypatch.setattr(arrays, "_told", set())


def tiny_cifar_root(root: Path) -> Path:
    write_tiny_cifar_folder(root / "cifar-10-batches-py")
    return root


# ---------------------------------------------------------------------------
# Read-only data folders, for real: a child process without root's capabilities
# ---------------------------------------------------------------------------

READ_ONLY_CHILD = WITHOUT_PACKAGE_INIT + """
import contextlib, hashlib, io, json, os, sys, warnings
from dataclasses import replace
from pathlib import Path
from course_utils.config import data_dir
from course_utils.data.registry import DATASETS, RemoteFile
from course_utils.data.load import load_dataset

cifar = replace(DATASETS["cifar10"], train_size=20, test_size=10,
                files=(RemoteFile(os.environ["URL"], "cifar-10-python.tar.gz", md5=os.environ["MD5"]),))
sign = replace(DATASETS["sign_language_mnist"], train_size=48, test_size=24)
base = Path(os.environ["BASE"])
report = {"can_write": os.access(base / "raw", os.W_OK)}

def attempt(name, calls):
    out = io.StringIO()
    result = {}
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            loaded = [call() for call in calls]
            result["sizes"] = [len(data) for data in loaded]
            result["sha"] = hashlib.sha256(loaded[0].images.numpy().tobytes()).hexdigest()
        except Exception as error:
            result["error"] = type(error).__name__
            result["message"] = str(error)
    result["warnings"] = [str(w.message) for w in caught]
    result["printed"] = out.getvalue()
    report[name] = result

root = lambda name: str(base / name)
attempt("raw", [lambda: load_dataset("cifar10", "test", root=root("raw"), info=cifar),
                lambda: load_dataset("cifar10", "train", root=root("raw"), info=cifar),
                lambda: load_dataset("cifar10", "test", root=root("raw"), info=cifar)])
attempt("cached", [lambda: load_dataset("cifar10", "test", root=root("cached"), info=cifar)])
attempt("empty", [lambda: load_dataset("cifar10", "test", root=root("empty"), info=cifar)])
attempt("archive", [lambda: load_dataset("cifar10", "test", root=root("archive"), info=cifar)])
attempt("sign", [lambda: load_dataset("sign_language_mnist", "test", root=root("sign"), info=sign),
                 lambda: load_dataset("sign_language_mnist", "train", root=root("sign"), info=sign)])
attempt("create", [lambda: load_dataset("cifar10", "test", root=root("empty") + "/new/data", info=cifar)])
os.environ["XDG_CACHE_HOME"] = os.environ["READ_ONLY_CACHE_HOME"]   # now your own cache folder is read-only too
attempt("no-cache-anywhere", [lambda: load_dataset("cifar10", "test", root=root("raw"), info=cifar),
                              lambda: load_dataset("cifar10", "train", root=root("raw"), info=cifar)])
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def read_only(tmp_path_factory):
    """Read-only data folders, loaded by a child process that may not write to them (once per run)."""
    prefix = drop_write_capabilities_prefix()
    if prefix is None:
        pytest.skip("cannot drop write permission here (no setpriv, or not allowed): see the simulated tests")
    return once_per_run(tmp_path_factory, "read-only", lambda: _read_only_report(tmp_path_factory, prefix))


def _read_only_report(tmp_path_factory, prefix: list[str]) -> dict:
    archive = _tiny_cifar_archive(tmp_path_factory)
    base = tmp_path_factory.mktemp("read-only")
    tiny_cifar_root(base / "raw")
    tiny_cifar_root(base / "cached")
    load_dataset("cifar10", "test", root=base / "cached", info=TINY_CIFAR)      # a valid cache, made while writable
    (base / "empty").mkdir()
    (base / "archive").mkdir()
    shutil.copy(archive, base / "archive" / ARCHIVE)
    write_sign_csv(base / "sign" / "sign-language-mnist" / "sign_mnist_train.csv", SIGN_LABELS * 2, seed=1)
    write_sign_csv(base / "sign" / "sign-language-mnist" / "sign_mnist_test.csv", SIGN_LABELS, seed=2)
    expected = load_dataset("cifar10", "test", root=tiny_cifar_root(base / "writable"), info=TINY_CIFAR)
    before = {name: snapshot(base / name) for name in ("raw", "cached", "empty", "archive", "sign")}
    own_cache = tmp_path_factory.mktemp("own-cache")                    # the child's XDG_CACHE_HOME: writable
    read_only_cache = base / "read-only-cache"
    read_only_cache.mkdir()
    folders = [path for path in base.rglob("*")] + [base]
    for path in folders:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        report = run_child(READ_ONLY_CHILD, prefix=prefix, env={
            "BASE": str(base), "URL": "http://127.0.0.1:9/never-asked", "MD5": md5_of(archive),
            "COURSE_DATA_DIR": str(base / "empty"), "XDG_CACHE_HOME": str(own_cache),
            "READ_ONLY_CACHE_HOME": str(read_only_cache)})
        after = {name: snapshot(base / name) for name in before}
        own = json.loads(json.dumps(snapshot(own_cache)))
    finally:
        for path in folders:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert report["can_write"] is False, "the child could still write: the test would prove nothing"
    as_json = lambda pictures: json.loads(json.dumps(pictures))   # the same form for every worker
    return {"report": report, "before": as_json(before), "after": as_json(after), "base": str(base), "own": own,
            "expected_sha": hashlib.sha256(expected.images.numpy().tobytes()).hexdigest()}


def _tiny_cifar_archive(tmp_path_factory) -> Path:
    source = write_tiny_cifar_folder(tmp_path_factory.mktemp("src") / "cifar-10-batches-py")
    archive = tmp_path_factory.mktemp("archive") / ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
    return archive


def test_read_only_folder_with_the_raw_files_caches_in_your_own_folder(read_only):
    """A class's shared, read-only copy: nothing is written into it; the cache goes to your own cache folder."""
    result = read_only["report"]["raw"]
    assert "error" not in result, result
    assert result["sizes"] == [10, 20, 10] and result["sha"] == read_only["expected_sha"]
    assert result["warnings"] == []                                          # a supported set-up: no warning
    base = Path(read_only["base"])
    assert result["printed"].count(f"The data folder {base / 'raw'} is read-only for you") == 1
    assert result["printed"].count("Decoding CIFAR-10 (test)") == 1         # the third load read your cache
    assert read_only["after"]["raw"] == read_only["before"]["raw"]            # no cache, no lock, nothing
    own = sorted(name for name in read_only["own"] if name.startswith("course-utils/raw-") and name.endswith(".npz"))
    assert [name.split("/", 2)[2] for name in own] == ["cache/cifar10-test.npz", "cache/cifar10-train.npz"]


def test_read_only_folder_and_read_only_cache_folder_warn_once(read_only):
    result = read_only["report"]["no-cache-anywhere"]
    assert result["sizes"] == [10, 20] and "error" not in result
    assert len(result["warnings"]) == 1 and "Neither the data folder nor your own cache folder" in result["warnings"][0]
    assert "XDG_CACHE_HOME" in result["warnings"][0]
    assert read_only["after"]["raw"] == read_only["before"]["raw"]


def test_read_only_folder_with_a_cache_reads_it_silently(read_only):
    result = read_only["report"]["cached"]
    assert result["sizes"] == [10] and result["warnings"] == [] and "Decoding" not in result["printed"]
    assert read_only["after"]["cached"] == read_only["before"]["cached"]


def test_empty_read_only_folder_says_which_folder_and_what_to_do(read_only):
    result = read_only["report"]["empty"]
    assert result["error"] == "PermissionError"
    message = result["message"]
    assert f"The data folder {Path(read_only['base']) / 'empty'} is read-only for you" in message
    assert "COURSE_DATA_DIR" in message and "root=" in message and "cifar-10-python.tar.gz" in message
    assert "Errno" not in message.splitlines()[0][:10]
    assert read_only["after"]["empty"] == read_only["before"]["empty"] == {}


def test_read_only_folder_with_only_the_archive(read_only):
    result = read_only["report"]["archive"]
    assert result["error"] == "PermissionError"
    assert "unpacking cifar-10-python.tar.gz cannot be written there" in result["message"]
    assert read_only["after"]["archive"] == read_only["before"]["archive"]


def test_read_only_folder_of_a_data_set_with_computed_statistics(read_only):
    """Sign-Language MNIST also keeps its mean/std beside the cache: in your own folder too, and it loads."""
    result = read_only["report"]["sign"]
    assert result["sizes"] == [24, 48] and result["warnings"] == []
    assert read_only["after"]["sign"] == read_only["before"]["sign"]
    assert any(name.endswith("cache/sign_language_mnist-train.stats.json") for name in read_only["own"])


def test_data_folder_that_cannot_be_created(read_only):
    result = read_only["report"]["create"]
    assert result["error"] == "PermissionError"
    assert "does not exist and cannot be created" in result["message"] and "root=" in result["message"]


# ---------------------------------------------------------------------------
# Read-only, simulated (runs everywhere, also where capabilities cannot be dropped)
# ---------------------------------------------------------------------------

def refuse_writes_under(monkeypatch, folder: Path) -> None:
    """Make every write under ``folder`` fail as in a read-only folder (mkdir, open for writing)."""
    real_mkdir, real_open = Path.mkdir, open

    def mkdir(self, *args, **kwargs):
        if Path(self).is_relative_to(folder) and not Path(self).is_dir():
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkdir(self, *args, **kwargs)

    def open_(path, mode="r", *args, **kwargs):
        if Path(path).is_relative_to(folder) and any(flag in mode for flag in "wxa+"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(arrays, "open", open_, raising=False)


def test_read_only_folder_simulated_caches_in_your_own_folder(data_root, monkeypatch, capsys):
    tiny_cifar_root(data_root)
    before = snapshot(data_root)
    refuse_writes_under(monkeypatch, data_root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sizes = [len(load_dataset("cifar10", split, info=TINY_CIFAR)) for split in ("test", "train", "test")]
    assert sizes == [10, 20, 10] and caught == []
    out = capsys.readouterr().out
    assert out.count(f"The data folder {data_root} is read-only for you") == 1 and out.count("Decoding") == 2
    assert snapshot(data_root) == before
    assert (arrays.own_folder(data_root) / "cache" / "cifar10-train.npz").is_file()


# ---------------------------------------------------------------------------
# A full disk, for real: a tiny private tmpfs in a child process
# ---------------------------------------------------------------------------

SMALL_DISK_CHILD = WITHOUT_PACKAGE_INIT + """
import hashlib, json, os, shutil, subprocess, warnings
from dataclasses import replace
from pathlib import Path
from course_utils.data.registry import DATASETS, RemoteFile
from course_utils.data.load import load_dataset
sys.path.insert(0, os.environ["TESTS"])
from faultkit import snapshot

base = Path(os.environ["BASE"])
cifar = replace(DATASETS["cifar10"], train_size=20, test_size=10,
                files=(RemoteFile(os.environ["URL"], "cifar-10-python.tar.gz", md5=os.environ["MD5"]),))

def small_disk(name, prepare):
    folder = base / name
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    prepare(folder)
    used = shutil.disk_usage(folder).used
    subprocess.run(["mount", "-o", f"remount,size={used // 1024 + 12}k", str(folder)], check=True)  # nearly full
    return folder

def attempt(name, folder, split="test"):
    before = snapshot(folder)
    result = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result["size"] = len(load_dataset("cifar10", split, root=folder, info=cifar))
        except Exception as error:
            result["error"] = type(error).__name__
            result["errno"] = getattr(error, "errno", None)
            result["message"] = str(error)
    result["warnings"] = [str(w.message) for w in caught]
    result["unchanged"] = snapshot(folder) == before
    result["names"] = sorted(snapshot(folder))
    report[name] = result

report = {}
attempt("download", small_disk("download", lambda folder: None))
attempt("unpack", small_disk("unpack", lambda folder: shutil.copy(os.environ["ARCHIVE"], folder)))
def raw_only(folder):
    shutil.copytree(os.environ["RAW"], folder / "cifar-10-batches-py")
attempt("cache", small_disk("cache", raw_only))
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def small_disks(tmp_path_factory):
    """Loads onto nearly full private tmpfs disks, in a child process (once per run)."""
    return once_per_run(tmp_path_factory, "small-disks", lambda: _small_disks_report(tmp_path_factory))


def _small_disks_report(tmp_path_factory) -> dict:
    from faultkit import FaultServer
    import os
    import shutil as sh

    tiny_cifar_archive_module = _tiny_cifar_archive(tmp_path_factory)
    if os.geteuid() != 0 or sh.which("unshare") is None:
        pytest.skip("mounting a private tmpfs needs root and unshare")
    base = tmp_path_factory.mktemp("small-disks")
    probe = base / "probe"
    probe.mkdir()
    import subprocess
    if subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       f"mount -t tmpfs -o size=16k tmpfs {probe}"], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here: see the injected-ENOSPC tests")
    served = base / "served"
    served.mkdir()
    server = FaultServer(served)
    try:
        url = server.serve(tiny_cifar_archive_module)
        raw = write_tiny_cifar_folder(base / "raw" / "cifar-10-batches-py")
        env = {"BASE": str(base), "URL": url, "MD5": md5_of(tiny_cifar_archive_module), "RAW": str(raw),
               "ARCHIVE": str(tiny_cifar_archive_module), "TESTS": str(Path(__file__).parent),
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        return run_child(SMALL_DISK_CHILD, prefix=["unshare", "--mount", "--propagation", "private"], env=env)
    finally:
        server.close()


def test_disk_full_during_a_real_download(small_disks):
    result = small_disks["download"]
    assert result["error"] == "OSError" and result["errno"] == errno.ENOSPC
    assert "The disk is full" in result["message"] and "offline" not in result["message"]
    assert result["unchanged"] and result["names"] == []


def test_disk_full_while_unpacking_for_real(small_disks):
    result = small_disks["unpack"]
    assert result["error"] == "OSError" and result["errno"] == errno.ENOSPC
    assert "unpacking cifar-10-python.tar.gz" in result["message"] and "Free some space" in result["message"]
    assert result["unchanged"] and result["names"] == [ARCHIVE]


def test_disk_full_while_writing_the_cache_for_real(small_disks):
    result = small_disks["cache"]
    assert result["size"] == 10 and "error" not in result
    assert len(result["warnings"]) == 1 and "The disk is full" in result["warnings"][0]
    assert result["unchanged"]                                   # no cache, no half-written cache file


def test_disk_full_while_writing_the_cache_injected(data_root, monkeypatch):
    tiny_cifar_root(data_root)
    before = snapshot(data_root)

    def full_disk(path, mode="r", *args, **kwargs):
        file = open(path, mode, *args, **kwargs)
        if "x" in mode or "w" in mode:
            file.write(b"half")
            file.close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return file

    monkeypatch.setattr(arrays, "open", full_disk, raising=False)
    with pytest.warns(UserWarning, match="The disk is full"):
        data = load_dataset("cifar10", "test", info=TINY_CIFAR)
    assert len(data) == 10
    assert snapshot(data_root) == before                         # no cache folder, no partial file


# ---------------------------------------------------------------------------
# Paths that run through files
# ---------------------------------------------------------------------------

def test_data_folder_below_a_regular_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    with pytest.raises(NotADirectoryError) as caught:
        load_dataset("cifar10", "test", root=blocker / "data")
    assert f"{blocker} is a file, not a folder" in str(caught.value) and "root=" in str(caught.value)
    assert blocker.read_text() == "a file, not a folder"


def test_environment_variable_points_to_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "data.zip"
    blocker.write_bytes(b"PK")
    monkeypatch.setenv("COURSE_DATA_DIR", str(blocker))
    with pytest.raises(NotADirectoryError, match=f"is a file, not a folder .*COURSE_DATA_DIR={blocker}"):
        load_dataset("cifar10", "test")


def test_a_file_where_the_data_set_folder_should_be(data_root, fault_server, tiny_cifar_archive):
    (data_root / "cifar-10-batches-py").write_text("oops")
    before = snapshot(data_root)
    info = tiny_cifar_info(fault_server.serve(tiny_cifar_archive), md5_of(tiny_cifar_archive))
    with pytest.raises(NotADirectoryError, match="cifar-10-batches-py is a file, but CIFAR-10 needs a folder"):
        load_dataset("cifar10", "test", info=info)
    assert snapshot(data_root) == before and fault_server.requests[ARCHIVE] == 0


def test_a_file_where_the_cache_folder_should_be(data_root):
    tiny_cifar_root(data_root)
    (data_root / "cache").write_text("not a folder")
    before = snapshot(data_root)
    with pytest.warns(UserWarning, match="cache is a file, not a folder"):
        assert len(load_dataset("cifar10", "test", info=TINY_CIFAR)) == 10
    assert snapshot(data_root) == before


def test_root_of_the_wrong_type_or_empty(data_root):
    with pytest.raises(TypeError, match="root must be a folder .* got 5"):
        load_dataset("cifar10", root=5)
    with pytest.raises(ValueError, match="root must be a folder .* got ''"):
        load_dataset("cifar10", root="")
    assert names(data_root) == []


# ---------------------------------------------------------------------------
# Incomplete and damaged data
# ---------------------------------------------------------------------------

def test_cifar_folder_with_one_batch_missing_is_repaired_by_a_download(data_root, fault_server, tiny_cifar_archive,
                                                                       capsys, tmp_path):
    """Only the missing batch is added; the files already there (here: other images than the archive's) stay."""
    write_tiny_cifar_folder(data_root / "cifar-10-batches-py", seed=1)
    (data_root / "cifar-10-batches-py" / "data_batch_3").unlink()
    before = snapshot(data_root)
    info = tiny_cifar_info(fault_server.serve(tiny_cifar_archive), md5_of(tiny_cifar_archive))
    assert len(load_dataset("cifar10", "train", info=info)) == 20
    assert "data_batch_3 is missing from" in capsys.readouterr().out
    after = snapshot(data_root)
    assert {name: after[name] for name in before} == before                  # nothing of yours was replaced
    archive_content = write_tiny_cifar_folder(tmp_path / "archive-content")   # what the archive holds (seed 0)
    repaired = data_root / "cifar-10-batches-py" / "data_batch_3"
    assert repaired.read_bytes() == (archive_content / "data_batch_3").read_bytes()
    assert fault_server.requests[ARCHIVE] == 1
    assert sorted(set(after) - set(before)) == ["cache", "cache/cifar10-train.npz", "cifar-10-batches-py/data_batch_3"]


def test_cifar_folder_with_one_batch_missing_and_no_downloads(data_root, fault_server, tiny_cifar_archive):
    tiny_cifar_root(data_root)
    (data_root / "cifar-10-batches-py" / "data_batch_3").unlink()
    before = snapshot(data_root)
    info = tiny_cifar_info(fault_server.serve(tiny_cifar_archive), md5_of(tiny_cifar_archive))
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("cifar10", "train", info=info, download=False)
    message = str(caught.value)
    assert "data_batch_3 is missing" in message and str(data_root / "cifar-10-batches-py") in message
    assert "Put the missing file back" in message and "download=True" in message
    assert snapshot(data_root) == before and fault_server.requests[ARCHIVE] == 0
    assert len(load_dataset("cifar10", "test", info=info, download=False)) == 10   # the test split is complete


def test_cifar_folder_without_its_meta_file(data_root):
    tiny_cifar_root(data_root)
    (data_root / "cifar-10-batches-py" / "batches.meta").unlink()
    before = snapshot(data_root)
    with pytest.raises(FileNotFoundError, match="batches.meta is missing"):
        load_dataset("cifar10", "test", info=TINY_CIFAR, download=False)
    assert snapshot(data_root) == before


def test_fashion_folder_with_two_files_missing(data_root):
    folder = write_tiny_fashion(data_root / "fashion-mnist")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).unlink()
    before = snapshot(data_root)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz are missing"):
        load_dataset("fashion_mnist", "train", info=TINY_FASHION, download=False)
    assert snapshot(data_root) == before


def test_fashion_folder_with_two_files_missing_is_repaired(data_root, fault_server, tmp_path):
    """Exactly the two missing files are downloaded (checked), the two that are there are not asked for."""
    source = write_tiny_fashion(tmp_path / "tiny-fashion")
    files = tuple(RemoteFile(fault_server.serve(path), path.name, md5=md5_of(path)) for path in sorted(source.iterdir()))
    info = replace(TINY_FASHION, files=files)
    folder = data_root / "fashion-mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(source / name, folder / name)
    assert len(load_dataset("fashion_mnist", "train", info=info)) == 30
    assert dict(fault_server.requests) == {"train-images-idx3-ubyte.gz": 1, "train-labels-idx1-ubyte.gz": 1}
    assert sorted(path.name for path in folder.iterdir()) == sorted(path.name for path in source.iterdir())


def test_damaged_batch_file_is_named(data_root):
    tiny_cifar_root(data_root)
    (data_root / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x04garbage")
    before = snapshot(data_root)
    with pytest.raises(DataFormatError, match="test_batch does not look like the expected data file: it cannot be "
                                              "unpickled.*Delete it"):
        load_dataset("cifar10", "test", info=TINY_CIFAR)
    assert snapshot(data_root) == before


def test_empty_batch_file(data_root):
    tiny_cifar_root(data_root)
    (data_root / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    with pytest.raises(DataFormatError, match="test_batch .* cannot be unpickled"):
        load_dataset("cifar10", "test", info=TINY_CIFAR)


def test_download_false_with_nothing_there(data_root):
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("cifar10", "test", download=False)
    assert "download=False" in str(caught.value) and str(data_root) in str(caught.value)
    assert names(data_root) == []                               # not even a lock file


def test_placed_archive_that_is_damaged(data_root, refused_url, tmp_path):
    archive = data_root / ARCHIVE
    archive.write_bytes(b"not gzip at all" * 10)
    before = snapshot(data_root)
    with pytest.raises(DataFormatError, match="(?s)cannot be unpacked.*Delete it and load the data set again"):
        load_dataset("cifar10", "test", info=tiny_cifar_info(refused_url, md5_of(archive)))
    assert snapshot(data_root) == before


# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------

def test_truncated_cache_is_rebuilt(data_root, capsys):
    tiny_cifar_root(data_root)
    first = load_dataset("cifar10", "test", info=TINY_CIFAR)
    path = data_root / "cache" / "cifar10-test.npz"
    path.write_bytes(path.read_bytes()[:500])
    again = load_dataset("cifar10", "test", info=TINY_CIFAR)
    assert "damaged" in capsys.readouterr().out
    assert np.array_equal(first.images.numpy(), again.images.numpy())
    assert path.stat().st_size > 500


def test_cache_with_arrays_of_the_wrong_kind_is_rebuilt(data_root, capsys):
    tiny_cifar_root(data_root)
    first = load_dataset("cifar10", "test", info=TINY_CIFAR)
    path = data_root / "cache" / "cifar10-test.npz"
    fingerprint = str(np.load(path)["source"])
    np.savez(path, images=np.zeros((10, 3, 32, 32), np.float32), labels=np.zeros(10, np.int64),
             source=np.array(fingerprint))
    again = load_dataset("cifar10", "test", info=TINY_CIFAR)
    assert "damaged" in capsys.readouterr().out and np.array_equal(first.images.numpy(), again.images.numpy())


def test_cache_of_a_changed_raw_file_is_rebuilt(data_root, capsys):
    from conftest import write_cifar_batch
    tiny_cifar_root(data_root)
    load_dataset("cifar10", "test", info=TINY_CIFAR)
    write_cifar_batch(data_root / "cifar-10-batches-py" / "test_batch", np.full((10, 3072), 9, np.uint8),
                      list(range(10)))
    assert int(load_dataset("cifar10", "test", info=TINY_CIFAR).images.max()) == 9
    assert "changed" in capsys.readouterr().out


@pytest.mark.parametrize("change, words", [
    ("shape", "images of 3×28×28, expected 3×32×32"),
    ("labels", "labels 1..12, expected 0..9"),
    ("count", "9 images, expected 10"),
], ids=["wrong-image-shape", "labels-out-of-range", "wrong-count"])
def test_cache_whose_arrays_cannot_be_this_data_set_is_rebuilt(data_root, capsys, change, words):
    """Arrays of the right kind (uint8, int64) and the right fingerprint, that still cannot be CIFAR-10's test split."""
    tiny_cifar_root(data_root)
    first = load_dataset("cifar10", "test", info=TINY_CIFAR)
    path = data_root / "cache" / "cifar10-test.npz"
    with np.load(path) as cached:
        images, labels, source = cached["images"], cached["labels"], cached["source"]
    if change == "shape":
        images = images[:, :, :28, :28].copy()
    elif change == "labels":
        labels = labels.copy()
        labels[0] = 12
    else:
        images, labels = images[:9], labels[:9]
    np.savez(path, images=images, labels=labels, source=source)
    again = load_dataset("cifar10", "test", info=TINY_CIFAR)
    out = capsys.readouterr().out
    assert f"cannot hold CIFAR-10's test split ({words}): decoding again" in out
    assert np.array_equal(first.images.numpy(), again.images.numpy())
    with np.load(path) as rebuilt:
        assert rebuilt["images"].shape == (10, 3, 32, 32)                   # and the cache is good again


@pytest.mark.parametrize("content, words", [
    (",".join(["label"] + [f"pixel{i}" for i in range(1, 785)]) + "\n", "has the header line but no rows"),
    ("", "is empty (0 bytes)"),
], ids=["header-only", "empty"])
def test_csv_without_rows_says_so(data_root, content, words):
    folder = data_root / "sign-language-mnist"
    write_sign_csv(folder / "sign_mnist_train.csv", SIGN_LABELS * 2, seed=1)
    (folder / "sign_mnist_test.csv").write_text(content)
    before = snapshot(data_root)
    with pytest.raises(DataFormatError, match=re.escape(words)) as caught:
        load_dataset("sign_language_mnist", "test", info=TINY_SIGN)
    assert "sign_mnist_test.csv" in str(caught.value)
    assert snapshot(data_root) == before


def test_damaged_statistics_file_is_computed_again(data_root):
    write_sign_csv(data_root / "sign-language-mnist" / "sign_mnist_train.csv", SIGN_LABELS * 2, seed=1)
    write_sign_csv(data_root / "sign-language-mnist" / "sign_mnist_test.csv", SIGN_LABELS, seed=2)
    first = load_dataset("sign_language_mnist", "test", info=TINY_SIGN)
    (data_root / "cache" / "sign_language_mnist-train.stats.json").write_text("{broken")
    assert load_dataset("sign_language_mnist", "test", info=TINY_SIGN).mean == first.mean


def test_invalid_timeout_settings_are_named(monkeypatch):
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "-3")
    with pytest.raises(ValueError, match="COURSE_DOWNLOAD_TIMEOUT must be a positive number of seconds"):
        config.download_timeout()
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "2.5")
    assert config.download_timeout() == 2.5


# ---------------------------------------------------------------------------
# The class bundle (python -m course_utils.data): a damaged copy adds nothing, nothing of yours is replaced
# ---------------------------------------------------------------------------

def _bundle_of_tiny_cifar(tmp_path: Path, monkeypatch, *, tamper=None) -> Path:
    """A packed bundle of a tiny CIFAR-10 folder; ``tamper(folder)`` may change the files after SHA256SUMS is made."""
    from course_utils.data import bundle, registry

    monkeypatch.setitem(registry.DATASETS, "cifar10", TINY_CIFAR)
    source = tiny_cifar_root(tmp_path / "instructor")
    package = tmp_path / "class.tar"
    real_sha = bundle._sha256
    monkeypatch.setattr(bundle, "_sha256", lambda path: (tamper(path) if tamper else None) or real_sha(path))
    assert bundle.main(["pack", str(source), str(package), "cifar10"]) == 0
    monkeypatch.setattr(bundle, "_sha256", real_sha)
    return package


def test_a_damaged_bundle_adds_nothing(data_root, tmp_path, monkeypatch, capsys):
    """One byte of one file changed after SHA256SUMS was written (a bad copy on a USB stick)."""
    from course_utils.data import bundle

    def flip_one_byte(path):
        if path.name == "data_batch_2":
            content = bytearray(path.read_bytes())
            content[100] ^= 0xFF
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            path.write_bytes(bytes(content))
            return sha
        return None

    package = _bundle_of_tiny_cifar(tmp_path, monkeypatch, tamper=flip_one_byte)
    before = snapshot(data_root)
    assert bundle.main(["unpack", str(package), str(data_root)]) == 1
    err = capsys.readouterr().err
    assert "is damaged: cifar-10-batches-py/data_batch_2 does not match its SHA-256" in err and "Nothing was added" in err
    assert snapshot(data_root) == before


def test_a_bundle_with_a_member_outside_its_folder_is_refused(data_root, tmp_path, capsys):
    from course_utils.data import bundle

    package = tmp_path / "evil.tar"
    with tarfile.open(package, "w") as tar:
        evil = tmp_path / "evil.txt"
        evil.write_text("gotcha")
        tar.add(evil, "../evil.txt")
    before, beside = snapshot(data_root), snapshot(data_root.parent)
    assert bundle.main(["unpack", str(package), str(data_root)]) == 1
    assert "cannot be unpacked" in capsys.readouterr().err
    assert snapshot(data_root) == before and snapshot(data_root.parent) == beside


def test_unpacking_a_bundle_never_replaces_your_files(data_root, tmp_path, monkeypatch, capsys):
    from course_utils.data import bundle

    package = _bundle_of_tiny_cifar(tmp_path, monkeypatch)
    mine = write_tiny_cifar_folder(data_root / "cifar-10-batches-py", seed=7)   # yours: other images
    (mine / "data_batch_4").unlink()
    before = snapshot(data_root)
    assert bundle.main(["unpack", str(package), str(data_root), "--no-cache"]) == 0
    assert "Kept 6 file(s)" in capsys.readouterr().out
    after = snapshot(data_root)
    assert {name: after[name] for name in before} == before and set(after) - set(before) == {
        "cifar-10-batches-py/data_batch_4"}


def test_pack_refuses_a_folder_that_does_not_verify(data_root, tmp_path, monkeypatch, capsys):
    from course_utils.data import bundle, registry

    monkeypatch.setitem(registry.DATASETS, "cifar10", TINY_CIFAR)
    tiny_cifar_root(data_root)
    (data_root / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x04garbage")
    package = tmp_path / "class.tar.gz"
    assert bundle.main(["pack", str(data_root), str(package), "cifar10"]) == 1
    out, err = capsys.readouterr()
    assert "CIFAR-10: DAMAGED" in out and "test_batch" in out and "Not packed" in err
    assert not package.exists() and not package.with_name("class.tar.gz.part").exists()
