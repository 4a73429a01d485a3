"""Fault suite, part 1: the network and the server. Every fault ends in a clear message, in seconds,
and the data folder is exactly as before (``snapshot``: every path, size and SHA-256) or correctly complete.

The server is ``faultkit.FaultServer`` on 127.0.0.1; downloads give up after 0.5 s of silence
or 1 s of trickling here (``short_timeouts``), so a stalled server costs a second, not a lecture.
See tests/FAULTS.md for the table of faults.
"""
from __future__ import annotations

import errno
import gzip
import io
import os
import pickle
import shutil
import socket
import tarfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import git_blob_of, md5_of, tiny_cifar_info, tiny_sign_info, write_tiny_cifar_folder, write_tiny_fashion
from faultkit import (  # noqa: F401 (fixtures)
    WITHOUT_PACKAGE_INIT, fault_server, names, second_server, short_timeouts, snapshot, start_child, timed)
from course_utils.data import sources
from course_utils.data.fetch import lock_path
from course_utils.data.registry import DATASETS, RemoteFile, Source
from course_utils.data import DataFormatError, DownloadError, load_dataset

ARCHIVE = "cifar-10-python.tar.gz"
COMPLETE_CIFAR = [".", "cache", "cache/cifar10-test.npz", "cifar-10-batches-py"] + [
    f"cifar-10-batches-py/{name}" for name in
    ("batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")]


@pytest.fixture
def data(data_root: Path, short_timeouts) -> Path:
    """The test's data folder, holding one file of the user's that must survive every fault."""
    (data_root / "my-notes.txt").write_text("keep me")
    return data_root


def complete(folder: Path) -> list[str]:
    """The data folder's listing without the user's file (to compare with COMPLETE_CIFAR)."""
    return sorted(["."] + [name for name in names(folder) if name != "my-notes.txt"])


def load_test(info, **kwargs):
    return load_dataset("cifar10", "test", info=info, **kwargs)


def fails_cleanly(data: Path, info, error_type=DownloadError, *, within: float = 8.0, **kwargs) -> str:
    """Load, expect ``error_type`` within ``within`` seconds, check the folder is as before; return the message."""
    before = snapshot(data)
    result, seconds = timed(load_test, info, **kwargs)
    assert isinstance(result, error_type), f"expected {error_type.__name__}, got {result!r}"
    assert seconds < within, f"took {seconds:.1f} s: not bounded"
    assert snapshot(data) == before, "the data folder changed"
    message = str(result)
    assert str(data) in message, message            # names the folder to place the files in
    return message


def assert_says_what_to_do(message: str) -> None:
    assert "run the cell again" in message and "mirror" in message and "by hand" in message, message


# ---------------------------------------------------------------------------
# HTTP errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("status, words", [
    (404, "has no file at"),
    (403, "refuses to send"),
    (500, "has a problem of its own"),
    (429, "too many requests"),
], ids=["404", "403", "500", "429"])
def test_http_error_status(fault_server, tiny_cifar_archive, data, status, words):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "status", status=status)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert f"HTTP {status}" in message and words in message and url in message
    assert_says_what_to_do(message)


def test_redirect_to_the_file_is_followed(fault_server, tiny_cifar_archive, data):
    fault_server.serve(tiny_cifar_archive, "moved.tar.gz")
    fault_server.behave(ARCHIVE, "redirect", location=fault_server.url("moved.tar.gz"))
    info = tiny_cifar_info(fault_server.url(ARCHIVE), md5_of(tiny_cifar_archive))
    assert len(load_test(info)) == 10
    assert complete(data) == COMPLETE_CIFAR


def test_redirect_loop(fault_server, data):
    fault_server.behave(ARCHIVE, "redirect", location=fault_server.url(ARCHIVE))
    message = fails_cleanly(data, tiny_cifar_info(fault_server.url(ARCHIVE), "0" * 32))
    assert "HTTP 30" in message and "could not be downloaded" in message


# ---------------------------------------------------------------------------
# No connection
# ---------------------------------------------------------------------------

def test_refused_connection(refused_url, data, short_timeouts):
    message = fails_cleanly(data, tiny_cifar_info(refused_url, "0" * 32))
    assert "refused" in message and "server is down or the address is wrong" in message


def test_unknown_host_name(data, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    message = fails_cleanly(data, tiny_cifar_info("http://no-such-host.invalid/" + ARCHIVE, "0" * 32))
    assert "cannot be looked up" in message and "offline" in message


def test_server_closes_without_an_answer(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "no_answer")
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert "closed the connection without a proper answer" in message


def test_something_that_is_not_a_web_server(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "garbage")
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert "without a proper answer" in message and "BadStatusLine" in message


def test_not_a_download_address(data):
    message = fails_cleanly(data, tiny_cifar_info("cifar-10-python.tar.gz", "0" * 32))
    assert "is not a download address" in message


# ---------------------------------------------------------------------------
# A server that stops answering (bounded: 0.5 s of silence, 1 s of trickling)
# ---------------------------------------------------------------------------

def test_server_stalls_before_the_headers(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "stall_before_headers", seconds=20)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)), within=6)
    assert "stopped answering" in message and "did not answer within 0.5 s" in message
    assert_says_what_to_do(message)


def test_server_stalls_in_the_middle_of_the_body(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "stall_mid_body", after=20_000, seconds=20)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)), within=6)
    assert "The server stopped answering" in message and "no data for 0.5 s after 20,000 bytes" in message
    assert_says_what_to_do(message)


def test_server_trickles(fault_server, tiny_cifar_archive, data):
    """A few bytes every 0.1 s: every read succeeds in time, but the download would never end."""
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "trickle", chunk=100, pause=0.1)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)), within=6)
    assert "stopped answering" in message and "less than 64.0 KiB" not in message
    assert "less than 65,536 bytes in the last 1 s" in message


def test_slow_but_steady_server_is_not_a_stall(fault_server, tiny_cifar_archive, data, monkeypatch):
    """The stall limit must not stop a download that is slow but keeps coming (64 KiB per 0.25 s here)."""
    monkeypatch.setattr(sources, "STALL_MIN_BYTES", 16 * 1024)
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "slow", chunk=16 * 1024, pause=0.25)
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert complete(data) == COMPLETE_CIFAR


def test_timeout_settings_that_are_not_numbers(data, monkeypatch, tiny_cifar_archive, fault_server):
    url = fault_server.serve(tiny_cifar_archive)
    for variable in ("COURSE_DOWNLOAD_TIMEOUT", "COURSE_DOWNLOAD_STALL"):
        monkeypatch.setenv(variable, "soon")
        before = snapshot(data)
        with pytest.raises(ValueError, match=f"{variable} must be a positive number of seconds.*'soon'"):
            load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
        assert snapshot(data) == before
        monkeypatch.setenv(variable, "1")
    assert fault_server.requests[ARCHIVE] == 0   # refused before anything was asked


# ---------------------------------------------------------------------------
# Damaged bodies
# ---------------------------------------------------------------------------

def test_connection_cut_mid_stream(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "cut", after=30_000)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    size = tiny_cifar_archive.stat().st_size
    assert "connection was cut" in message and f"30,000 bytes of the {size:,} bytes the server promised" in message


def test_connection_reset_mid_stream(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "reset", after=30_000)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert "connection was cut" in message


def test_truncated_file_on_the_server(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    (fault_server.folder / ARCHIVE).write_bytes(tiny_cifar_archive.read_bytes()[:5000])
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert "damaged or incomplete (5,000 bytes received)" in message and "MD5" in message


def test_corrupted_body_same_size(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    body = bytearray(tiny_cifar_archive.read_bytes())
    body[len(body) // 2] ^= 0xFF                      # one flipped byte
    fault_server.behave(ARCHIVE, "normal", body=bytes(body))
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert f"has MD5 {md5_of_bytes(bytes(body))}, expected {md5_of(tiny_cifar_archive)}" in message


def md5_of_bytes(content: bytes) -> str:
    import hashlib
    return hashlib.md5(content).hexdigest()


def test_wrong_checksum_in_the_registry(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    message = fails_cleanly(data, tiny_cifar_info(url, "0" * 32))
    assert "expected 00000000000000000000000000000000" in message and "It was deleted" in message


def test_html_page_instead_of_the_file(fault_server, tiny_cifar_archive, data):
    """A captive portal or a login page answers 200 with HTML."""
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "normal", body=b"<html><body>Please log in to the campus network</body></html>")
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert "damaged or incomplete (61 bytes received)" in message


def test_empty_body(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "normal", body=b"")
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert "damaged or incomplete (0 bytes received)" in message


def test_body_without_content_length_still_works(fault_server, tiny_cifar_archive, data):
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "no_length")
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert complete(data) == COMPLETE_CIFAR


def test_html_page_instead_of_a_csv(fault_server, tiny_sign_csvs, data):
    """Sign-Language MNIST is checked by its git blob ids: a page of HTML is caught before its structure is read."""
    train, test = tiny_sign_csvs
    for path in (train, test):
        fault_server.serve(path)
    fault_server.behave(train.name, "normal", body=b"<html>moved</html>\n")
    info = tiny_sign_info(fault_server, train, test, git_blob=(git_blob_of(train), git_blob_of(test)))
    before = snapshot(data)
    with pytest.raises(DownloadError) as caught:
        load_dataset("sign_language_mnist", "train", info=info)
    message = str(caught.value)
    assert "damaged or incomplete (19 bytes received)" in message and f"expected {git_blob_of(train)}" in message
    assert "GIT BLOB" not in message and "git blob" in message
    assert str(data / "sign-language-mnist") in message
    assert snapshot(data) == before


def test_one_file_of_several_is_missing(fault_server, data, tmp_path):
    """Three Fashion-MNIST files download fine, the fourth is 404: none of them may stay behind."""
    source = write_tiny_fashion(tmp_path / "tiny-fashion")
    files = []
    for path in sorted(source.iterdir()):
        fault_server.serve(path)
        files.append(RemoteFile(fault_server.url(path.name), path.name, md5=md5_of(path)))
    fault_server.behave("t10k-labels-idx1-ubyte.gz", "status", status=404)
    info = replace(DATASETS["fashion_mnist"], files=tuple(files), system_folders=())
    before = snapshot(data)
    with pytest.raises(DownloadError) as caught:
        load_dataset("fashion_mnist", "test", info=info)
    message = str(caught.value)
    assert "HTTP 404" in message and "t10k-labels-idx1-ubyte.gz" in message and str(data / "fashion-mnist") in message
    assert snapshot(data) == before


# ---------------------------------------------------------------------------
# Damaged archives (the checksum matches what the registry says, the content is wrong)
# ---------------------------------------------------------------------------

def archive_with(tmp_path: Path, add) -> Path:
    """A .tar.gz built by ``add(tar)``."""
    archive = tmp_path / "built" / ARCHIVE
    archive.parent.mkdir(exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        add(tar)
    return archive


def add_bytes(tar: tarfile.TarFile, name: str, content: bytes, **fields) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(content)
    for key, value in fields.items():
        setattr(member, key, value)
    tar.addfile(member, io.BytesIO(content))


def test_archive_that_is_not_gzip(fault_server, data, tmp_path):
    bogus = tmp_path / ARCHIVE
    bogus.write_bytes(b"this is not an archive" * 100)
    url = fault_server.serve(bogus)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(bogus)))
    assert "cannot be unpacked" in message and "ReadError" in message


def test_archive_that_escapes_its_folder(fault_server, data, tmp_path):
    """A member named ../../evil must never be written outside the temporary folder."""
    source = write_tiny_cifar_folder(tmp_path / "src" / "cifar-10-batches-py")

    def add(tar):
        tar.add(source, arcname="cifar-10-batches-py")
        add_bytes(tar, "../../evil.txt", b"gotcha")

    archive = archive_with(tmp_path, add)
    url = fault_server.serve(archive)
    before_parent = snapshot(data.parent)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(archive)))
    assert "cannot be unpacked" in message and "evil.txt" in message
    assert snapshot(data.parent) == before_parent     # nothing appeared beside the data folder either


def test_archive_with_a_link_out_of_its_folder(fault_server, data, tmp_path):
    source = write_tiny_cifar_folder(tmp_path / "src" / "cifar-10-batches-py")

    def add(tar):
        tar.add(source, arcname="cifar-10-batches-py")
        add_bytes(tar, "cifar-10-batches-py/passwords", b"", type=tarfile.SYMTYPE, linkname="/etc/passwd")

    archive = archive_with(tmp_path, add)
    message = fails_cleanly(data, tiny_cifar_info(fault_server.serve(archive), md5_of(archive)))
    assert "cannot be unpacked" in message and "passwords" in message


def test_archive_without_the_data_folder(fault_server, data, tmp_path):
    archive = archive_with(tmp_path, lambda tar: add_bytes(tar, "README.txt", b"not CIFAR-10"))
    message = fails_cleanly(data, tiny_cifar_info(fault_server.serve(archive), md5_of(archive)))
    assert "does not contain the folder cifar-10-batches-py/" in message


def test_archive_with_a_damaged_batch(fault_server, data, tmp_path):
    source = write_tiny_cifar_folder(tmp_path / "src" / "cifar-10-batches-py")
    (source / "data_batch_3").write_bytes(b"\x80\x02garbage")

    def add(tar):
        tar.add(source, arcname="cifar-10-batches-py")

    archive = archive_with(tmp_path, add)
    message = fails_cleanly(data, tiny_cifar_info(fault_server.serve(archive), md5_of(archive)))
    assert "not the expected data" in message and "data_batch_3" in message and "cannot be unpickled" in message


# ---------------------------------------------------------------------------
# The disk, not the network
# ---------------------------------------------------------------------------

class FullDiskFile:
    """A file object whose writes fail with ENOSPC once ``room`` bytes are written (what a full disk does)."""

    def __init__(self, file, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.file.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *error):
        self.file.close()


def test_disk_full_during_the_download(fault_server, tiny_cifar_archive, data, monkeypatch):
    url = fault_server.serve(tiny_cifar_archive)
    monkeypatch.setattr(sources, "open", lambda path, mode="r": FullDiskFile(open(path, mode), 10_000), raising=False)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)), OSError)
    assert "The disk is full" in message and "Free some space" in message and "COURSE_DATA_DIR" in message
    assert "offline" not in message and "server" not in message
    assert "By hand" not in message and ARCHIVE in message


def test_disk_full_while_unpacking(fault_server, tiny_cifar_archive, data, monkeypatch):
    url = fault_server.serve(tiny_cifar_archive)
    real_copy = tarfile.copyfileobj

    def copy_until_full(source, target, length=None, *args, **kwargs):
        if "data_batch_4" in getattr(target, "name", ""):
            target.write(source.read(100))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(source, target, length, *args, **kwargs)

    monkeypatch.setattr(tarfile, "copyfileobj", copy_until_full)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)), OSError)
    assert "The disk is full" in message and "unpacking cifar-10-python.tar.gz" in message
    assert "MiB" in message and "not what it should be" not in message


def test_disk_full_while_unpacking_a_placed_archive(tiny_cifar_archive, data, refused_url, monkeypatch):
    shutil.copy(tiny_cifar_archive, data / ARCHIVE)
    monkeypatch.setattr(tarfile, "copyfileobj", lambda *args, **kwargs: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    message = fails_cleanly(data, tiny_cifar_info(refused_url, md5_of(tiny_cifar_archive)), OSError)
    assert "The disk is full" in message and "unpacking cifar-10-python.tar.gz" in message


def test_data_folder_refuses_writing_during_the_download(fault_server, tiny_cifar_archive, data, monkeypatch):
    """Simulated: the folder for the download cannot be created (a read-only data folder)."""
    url = fault_server.serve(tiny_cifar_archive)
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self.parent == data:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    message = fails_cleanly(data, tiny_cifar_info(url, md5_of(tiny_cifar_archive)), PermissionError)
    assert "read-only for you" in message and "COURSE_DATA_DIR" in message and "root=" in message
    assert fault_server.requests[ARCHIVE] == 0


def test_interrupted_by_the_user_mid_download(fault_server, tiny_cifar_archive, data, monkeypatch):
    """The student presses Stop (KeyboardInterrupt) while the bytes come in: nothing may stay behind."""
    url = fault_server.serve(tiny_cifar_archive)
    real_copy = sources._copy_body

    def copy_then_interrupt(response, out, *args):
        out.write(response.read1(10_000))
        raise KeyboardInterrupt

    monkeypatch.setattr(sources, "_copy_body", copy_then_interrupt)
    before = snapshot(data)
    with pytest.raises(KeyboardInterrupt):
        load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert snapshot(data) == before
    monkeypatch.setattr(sources, "_copy_body", real_copy)      # the next try works, and no lock is left
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert complete(data) == COMPLETE_CIFAR


# ---------------------------------------------------------------------------
# Leftovers, and several processes at once
# ---------------------------------------------------------------------------

def test_leftover_of_a_crashed_download_is_resumed(fault_server, tiny_cifar_archive, data):
    """A kernel killed mid-download left its working folder: the next load resumes its partial file, then tidies up."""
    work = data / ".cifar10.download"
    (work / "unpacked").mkdir(parents=True)
    (work / "unpacked" / "half-unpacked").write_bytes(b"x" * 100)
    (work / (ARCHIVE + ".part")).write_bytes(tiny_cifar_archive.read_bytes()[:30_000])
    url = fault_server.serve(tiny_cifar_archive)
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert fault_server.starts[ARCHIVE] == [30_000]             # asked only for the rest
    assert complete(data) == COMPLETE_CIFAR                  # the leftovers are gone


def test_leftover_half_written_cache_file_is_removed(data):
    """A crash while writing the cache left a .part file: the next load that writes the cache removes it."""
    write_tiny_cifar_folder(data / "cifar-10-batches-py")
    (data / "cache").mkdir()
    stale = data / "cache" / ".cifar10-test.npz.0badf00d.part"
    stale.write_bytes(b"half a cache file")
    hours_ago = time.time() - 2 * 60 * 60
    os.utime(stale, (hours_ago, hours_ago))
    young = data / "cache" / ".cifar10-train.npz.1234abcd.part"   # may be being written right now: kept
    young.write_bytes(b"being written")
    assert len(load_test(replace(DATASETS["cifar10"], train_size=20, test_size=10))) == 10
    assert complete(data) == sorted(COMPLETE_CIFAR + ["cache/" + young.name])


def test_leftover_partial_file_with_wrong_bytes_is_downloaded_again(fault_server, tiny_cifar_archive, data, capsys):
    """Resumed bytes that spoil the checksum: the same source once more from the start, and only its bytes kept."""
    work = data / ".cifar10.download"
    work.mkdir()
    (work / (ARCHIVE + ".part")).write_bytes(b"\0" * 30_000)
    url = fault_server.serve(tiny_cifar_archive)
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert fault_server.starts[ARCHIVE] == [30_000, 0]
    assert "damaged or incomplete" not in capsys.readouterr().err
    assert complete(data) == COMPLETE_CIFAR


def test_the_working_folder_of_a_download_in_progress_is_left_alone(data):
    """While another process holds the lock, its working folder is its own: a load that needs nothing leaves it."""
    from filelock import FileLock

    write_tiny_cifar_folder(data / "cifar-10-batches-py")
    work = data / ".cifar10.download"
    work.mkdir()
    (work / (ARCHIVE + ".part")).write_bytes(b"in progress")
    other = FileLock(str(lock_path(data, "cifar10")))
    other.acquire()
    try:
        assert len(load_test(replace(DATASETS["cifar10"], train_size=20, test_size=10))) == 10
        assert (work / (ARCHIVE + ".part")).read_bytes() == b"in progress"
    finally:
        other.release()
    lock_path(data, "cifar10").unlink()
    load_test(replace(DATASETS["cifar10"], train_size=20, test_size=10))   # the lock is free now: tidied
    assert not work.exists()


def test_a_lock_left_by_a_killed_process_does_not_block(fault_server, tiny_cifar_archive, data):
    lock_path(data, "cifar10").write_text("")                    # the file stays; its lock died with the process
    url = fault_server.serve(tiny_cifar_archive)
    result, seconds = timed(load_test, tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert not isinstance(result, BaseException) and seconds < 8
    assert complete(data) == COMPLETE_CIFAR                  # and the lock file is gone


def test_a_second_notebook_waits_for_the_download_of_the_first(fault_server, tiny_cifar_archive, data, capsys):
    """While another process holds the data set's lock, a load waits, then uses that process's files."""
    from filelock import FileLock

    url = fault_server.serve(tiny_cifar_archive)
    info = tiny_cifar_info(url, md5_of(tiny_cifar_archive))
    other = FileLock(str(lock_path(data, "cifar10")))
    other.acquire()
    results = []
    waiting = threading.Thread(target=lambda: results.append(load_test(info)))
    waiting.start()
    deadline = time.monotonic() + 10
    while "waiting for it to finish" not in capsys.readouterr().out and time.monotonic() < deadline:
        time.sleep(0.05)
    write_tiny_cifar_folder(data / "cifar-10-batches-py")        # "the other process" finishes ...
    other.release()                                              # ... and lets go
    waiting.join(timeout=20)
    assert len(results) == 1 and len(results[0]) == 10
    assert fault_server.requests[ARCHIVE] == 0                   # it used the files, it did not download


SPAWNED = WITHOUT_PACKAGE_INIT + """
import hashlib, json, os, sys, time
from dataclasses import replace
from pathlib import Path
from course_utils.data.load import load_dataset
from course_utils.data.registry import DATASETS, RemoteFile

cifar = DATASETS["cifar10"]
info = replace(cifar, files=(RemoteFile(os.environ["URL"], cifar.files[0].filename, md5=os.environ["MD5"]),),
               train_size=20, test_size=10)
barrier = Path(os.environ["BARRIER"])
(barrier / f"ready-{os.getpid()}").write_text("")
while not (barrier / "go").exists():
    time.sleep(0.01)
data = load_dataset("cifar10", "test", root=os.environ["ROOT"], info=info)
arrays = data.images.numpy().tobytes() + data.labels.numpy().tobytes()
print(json.dumps({"sha": hashlib.sha256(arrays).hexdigest(), "n": len(data)}))
"""


def test_four_spawned_processes_download_once(fault_server, tiny_cifar_archive, data, tmp_path):
    """Four fresh interpreters load CIFAR-10 into one empty folder at the same moment: one request."""
    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "slow", chunk=16 * 1024, pause=0.1)   # ~0.7 s: long enough to overlap
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {"URL": url, "MD5": md5_of(tiny_cifar_archive), "ROOT": str(data), "BARRIER": str(barrier)}
    children = [start_child(SPAWNED, env=env) for _ in range(4)]
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("ready-*"))) < 4 and time.monotonic() < deadline:
        assert all(child.poll() is None for child in children), [child.communicate() for child in children]
        time.sleep(0.05)
    (barrier / "go").write_text("")
    outputs = [child.communicate(timeout=120) for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    results = [__import__("json").loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert fault_server.requests[ARCHIVE] == 1
    assert len({r["sha"] for r in results}) == 1 and results[0]["n"] == 10
    expected = load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    arrays = expected.images.numpy().tobytes() + expected.labels.numpy().tobytes()
    assert results[0]["sha"] == __import__("hashlib").sha256(arrays).hexdigest()
    assert complete(data) == COMPLETE_CIFAR                   # complete, and no lock or temporary left
    assert sum("waiting for it to finish" in out for out, _ in outputs) >= 1


KILLED = WITHOUT_PACKAGE_INIT + """
import os
from dataclasses import replace
from pathlib import Path
from course_utils.data.registry import DATASETS, RemoteFile
from course_utils.data.fetch import dataset_folder
cifar = DATASETS["cifar10"]
info = replace(cifar, files=(RemoteFile(os.environ["URL"], cifar.files[0].filename, md5=os.environ["MD5"]),),
               train_size=20, test_size=10)
dataset_folder(info, Path(os.environ["ROOT"]), "test")   # what load_dataset does first
"""


def test_kernel_killed_mid_download_then_loaded_again(fault_server, tiny_cifar_archive, data):
    """A real crash: the process is killed (SIGKILL) mid-download; the next load cleans up and succeeds."""
    import signal

    url = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "stall_mid_body", after=30_000, seconds=60)
    child = start_child(KILLED, env={"URL": url, "MD5": md5_of(tiny_cifar_archive), "ROOT": str(data),
                                      "COURSE_DOWNLOAD_TIMEOUT": "60"})
    deadline = time.monotonic() + 60
    partial = []
    while not partial and time.monotonic() < deadline and child.poll() is None:
        partial = [p for p in data.rglob(ARCHIVE + ".part") if p.stat().st_size >= 30_000]
        time.sleep(0.05)
    assert partial, child.communicate()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert (data / ".cifar10.download" / (ARCHIVE + ".part")).is_file()    # the crash's leftover
    fault_server.behave(ARCHIVE, "normal")
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert fault_server.starts[ARCHIVE] == [0, 30_000]                     # resumed where the killed one stopped
    assert complete(data) == COMPLETE_CIFAR


# ---------------------------------------------------------------------------
# Several sources: the speed floor, resume, wrong bytes, your own copies first
# ---------------------------------------------------------------------------

def sources_info(archive: Path, *urls: str):
    """The tiny CIFAR-10 entry whose archive has these sources, tried in this order."""
    info = tiny_cifar_info(urls[-1], md5_of(archive))
    remote = replace(info.files[0], mirrors=tuple(Source(url) for url in urls[:-1]), size=archive.stat().st_size)
    return replace(info, files=(remote,))


def host_of(server) -> str:
    return f"127.0.0.1:{server.port}"


def test_an_origin_that_trickles_is_left_for_a_fast_mirror(fault_server, second_server, tiny_cifar_archive, data,
                                                            capsys):
    """The issue's case: the origin sends 20 kB/s; after the floor's window the mirror resumes and finishes."""
    origin = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "trickle", chunk=2_000, pause=0.1)          # 20 kB/s: 5 s for this archive
    mirror = second_server.serve(tiny_cifar_archive)
    result, seconds = timed(load_test, sources_info(tiny_cifar_archive, origin, mirror))
    out = capsys.readouterr().out
    assert not isinstance(result, BaseException), result
    assert len(result) == 10 and seconds < 4, seconds
    assert f"{host_of(fault_server)} is too slow" in out and f"-> trying {host_of(second_server)}" in out
    closing = [line for line in out.splitlines() if line.startswith(f"{ARCHIVE}: ")]
    assert len(closing) == 1 and f"from {host_of(second_server)}" in closing[0], out
    assert f"resumed the bytes from {host_of(fault_server)}" in closing[0]
    assert 0 < second_server.starts[ARCHIVE][0] < tiny_cifar_archive.stat().st_size   # resumed with Range
    assert complete(data) == COMPLETE_CIFAR
    print(f"\n{out}-> loaded in {seconds:.1f} s")   # (shown with pytest -s)


def test_a_mirror_that_serves_wrong_bytes_is_rejected(fault_server, second_server, tiny_cifar_archive, data, capsys):
    mirror = second_server.serve(tiny_cifar_archive)
    body = bytearray(tiny_cifar_archive.read_bytes())
    body[1000] ^= 0xFF                                                      # same size, one byte changed
    second_server.behave(ARCHIVE, "normal", body=bytes(body))
    origin = fault_server.serve(tiny_cifar_archive)
    assert len(load_test(sources_info(tiny_cifar_archive, mirror, origin))) == 10
    out = capsys.readouterr().out
    assert f"The download of {mirror} is damaged or incomplete" in out and "nothing of it is kept" in out
    assert fault_server.starts[ARCHIVE] == [0]                               # nothing kept from the mirror
    assert complete(data) == COMPLETE_CIFAR


@pytest.mark.parametrize("kind, words", [
    ("status", "has no file at"),
    ("stall_before_headers", "did not answer within 0.5 s"),
    ("stall_mid_body", "stopped answering"),
    ("no_answer", "closed the connection without a proper answer"),
], ids=["404", "stalls-before-answering", "stalls-mid-body", "closes"])
def test_a_mirror_that_fails_is_skipped(fault_server, second_server, tiny_cifar_archive, data, capsys, kind, words):
    mirror = second_server.serve(tiny_cifar_archive)
    second_server.behave(ARCHIVE, kind, status=404, after=20_000, seconds=20)
    origin = fault_server.serve(tiny_cifar_archive)
    result, seconds = timed(load_test, sources_info(tiny_cifar_archive, mirror, origin))
    assert not isinstance(result, BaseException), result
    assert seconds < 5 and words in capsys.readouterr().out
    assert fault_server.starts[ARCHIVE] == [20_000 if kind == "stall_mid_body" else 0]   # its bytes are resumed
    assert complete(data) == COMPLETE_CIFAR


def test_a_download_cut_short_resumes_from_the_next_source(fault_server, second_server, tiny_cifar_archive, data):
    first = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "cut", after=30_000)
    second = second_server.serve(tiny_cifar_archive)
    assert len(load_test(sources_info(tiny_cifar_archive, first, second))) == 10
    assert second_server.starts[ARCHIVE] == [30_000]                        # Range: bytes=30000-
    assert complete(data) == COMPLETE_CIFAR


def test_a_next_source_that_cannot_resume_starts_again_cleanly(fault_server, second_server, tiny_cifar_archive,
                                                               data, capsys):
    first = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "cut", after=30_000)
    second = second_server.serve(tiny_cifar_archive)
    second_server.behave(ARCHIVE, "normal", ranges=False)                  # answers a Range with the whole file
    assert len(load_test(sources_info(tiny_cifar_archive, first, second))) == 10
    assert "cannot resume a download: starting again" in capsys.readouterr().out
    assert complete(data) == COMPLETE_CIFAR


def test_when_every_source_is_slow_the_last_one_finishes(fault_server, second_server, tiny_cifar_archive, data,
                                                         capsys, monkeypatch):
    """The last source is never left for slowness, only for a stall (40 kB/s is no stall: 64 KiB in 5 s is)."""
    monkeypatch.setenv("COURSE_DOWNLOAD_STALL", "5")
    first = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "slow", chunk=4_000, pause=0.1)            # 40 kB/s, under the 100 kB/s floor
    last = second_server.serve(tiny_cifar_archive)
    second_server.behave(ARCHIVE, "slow", chunk=4_000, pause=0.1)
    result, seconds = timed(load_test, sources_info(tiny_cifar_archive, first, last))
    out = capsys.readouterr().out
    assert not isinstance(result, BaseException), result
    assert f"{host_of(fault_server)} is too slow" in out and f"{host_of(second_server)} is too slow" not in out
    assert second_server.starts[ARCHIVE][0] > 0 and seconds < 8
    assert complete(data) == COMPLETE_CIFAR


@pytest.mark.parametrize("kind", ["url-prefix", "folder", "data-folder"])
def test_your_own_source_comes_first(fault_server, second_server, tiny_cifar_archive, data, tmp_path, monkeypatch,
                                     capsys, kind):
    """COURSE_MIRRORS: a URL prefix, a folder of files, or a data folder; the registry's sources are not asked."""
    registry_url = fault_server.serve(tiny_cifar_archive)
    if kind == "url-prefix":
        second_server.serve(tiny_cifar_archive)
        own, shown = f"{second_server.url('')}  ;  ", host_of(second_server)
    else:
        folder = tmp_path / "instructor-copy"
        place = folder / ("cifar-10-batches-py" if kind == "data-folder" else "")   # (an archive sits in the top)
        place.mkdir(parents=True)
        shutil.copy(tiny_cifar_archive, folder / ARCHIVE)
        own, shown = str(folder), str(folder / ARCHIVE)
    monkeypatch.setenv("COURSE_MIRRORS", own)
    assert len(load_test(tiny_cifar_info(registry_url, md5_of(tiny_cifar_archive)))) == 10
    assert fault_server.requests[ARCHIVE] == 0
    assert f"from {shown}" in capsys.readouterr().out
    assert complete(data) == COMPLETE_CIFAR


def test_your_own_copy_with_wrong_bytes_is_rejected_too(fault_server, tiny_cifar_archive, data, tmp_path, monkeypatch,
                                                        capsys):
    folder = tmp_path / "instructor-copy"
    folder.mkdir()
    (folder / ARCHIVE).write_bytes(tiny_cifar_archive.read_bytes()[:-10] + b"0123456789")
    before = snapshot(folder)
    monkeypatch.setenv("COURSE_MIRRORS", str(folder))
    url = fault_server.serve(tiny_cifar_archive)
    assert len(load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))) == 10
    assert "is damaged or incomplete" in capsys.readouterr().out and fault_server.requests[ARCHIVE] == 1
    assert snapshot(folder) == before                                        # your folder is only read
    assert complete(data) == COMPLETE_CIFAR


@pytest.mark.parametrize("variable, value, words", [
    ("COURSE_MIRRORS", "/no/such/folder", "neither a folder here nor a URL"),
    ("COURSE_MIRRORS", "ftp://example.org/data", "not an address this course can download from"),
    ("COURSE_SPEED_FLOOR", "fast", "COURSE_SPEED_FLOOR must be a number of bytes per second"),
    ("COURSE_SPEED_WINDOW", "0", "COURSE_SPEED_WINDOW must be a positive number of seconds"),
], ids=["mirror-not-a-folder", "mirror-not-http", "floor-not-a-number", "window-zero"])
def test_source_settings_that_are_not_valid(fault_server, tiny_cifar_archive, data, monkeypatch, variable, value,
                                            words):
    url = fault_server.serve(tiny_cifar_archive)
    monkeypatch.setenv(variable, value)
    before = snapshot(data)
    with pytest.raises(ValueError, match=words) as caught:
        load_test(tiny_cifar_info(url, md5_of(tiny_cifar_archive)))
    assert repr(value) in str(caught.value) and "Fix or unset it" in str(caught.value)
    assert snapshot(data) == before and fault_server.requests[ARCHIVE] == 0   # refused before anything was asked


def test_when_every_source_fails_each_one_is_named(fault_server, second_server, tiny_cifar_archive, data):
    mirror = second_server.url(ARCHIVE)                                      # not served there: 404
    origin = fault_server.serve(tiny_cifar_archive)
    fault_server.behave(ARCHIVE, "status", status=500)
    message = fails_cleanly(data, sources_info(tiny_cifar_archive, mirror, origin))
    assert f"None of the 2 sources of {ARCHIVE} delivered it" in message
    assert f"- {host_of(second_server)}: The server has no file at {mirror}" in message
    assert f"- {host_of(fault_server)}: The server of {origin} has a problem of its own (HTTP 500" in message
    assert_says_what_to_do(message) and "COURSE_MIRRORS" in message
