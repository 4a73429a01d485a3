"""Writing into the data folder safely: temporary names, cleaning up after crashes, a lock, clear errors.

Forty students may share one data folder, and any of their kernels may be
killed in the middle of a download. Four rules keep the folder sound:

1. **Temporary names carry their owner.** Everything half-written gets a
   hidden name that says what it is, which process on which computer writes
   it, and a random part, e.g. ``.download-cifar10--4242@jupyter-7--f3a9c1d0``
   (see ``temporary_name``). Only complete files are renamed to their real
   names, and a rename is atomic.
2. **Leftovers of dead processes are removed** on the next load
   (``remove_stale_temporaries``): a temporary name whose process no longer
   runs on this computer is deleted. Those of live processes, and those written
   by other computers (which we cannot check), are left alone.
3. **One process at a time downloads or unpacks a data set**
   (``dataset_lock``): the others wait, then find the files in place.
4. **A folder that cannot be written gets a message that says what to do**
   (``folder_error``): a full disk, a read-only folder and a path that runs
   through a file are told apart from each other and from network problems.

Example::

    with dataset_lock(Path("data"), "cifar10"):
        ...   # only one process at a time runs this for CIFAR-10 in data/
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Iterator

from .config import DATA_DIR_ENV

#: How long a process waits for another one to finish downloading the same data set.
LOCK_TIMEOUT_SECONDS = 3 * 60 * 60

#: The kinds of temporary names: a downloaded file (``partial``), a data set's download
#: folder (``download``), an archive being unpacked (``unpack``) and a cache file (``cache``).
TEMPORARY_KINDS = ("partial", "download", "unpack", "cache")

_TEMPORARY = re.compile(r"^\.(?P<kind>partial|download|unpack|cache)-(?P<label>.*)--(?P<pid>\d+)@(?P<host>[^@/]+)--[0-9a-f]+$")

#: Error numbers that mean "you may not write here" and "the disk is full".
READ_ONLY_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS}
DISK_FULL_ERRORS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _host() -> str:
    """This computer's name, with any character that could confuse a file name replaced by "_"."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "localhost"


def temporary_name(kind: str, label: str) -> str:
    """A hidden name for something half-written: kind, label, this process's ID and computer, a random part.

    Example:
        >>> temporary_name("download", "cifar10")      # doctest: +SKIP
        '.download-cifar10--4242@jupyter-7--f3a9c1d0'
    """
    if kind not in TEMPORARY_KINDS:
        raise ValueError(f"kind must be one of {TEMPORARY_KINDS}, got {kind!r}.")
    return f".{kind}-{label}--{os.getpid()}@{_host()}--{secrets.token_hex(4)}"


def make_temporary_folder(parent: Path, kind: str, label: str) -> Path:
    """Create and return a new, empty temporary folder inside ``parent`` (see ``temporary_name``)."""
    folder = Path(parent) / temporary_name(kind, label)
    folder.mkdir()
    return folder


def _process_is_running(pid: int) -> bool:
    """True when a process with this ID runs on this computer (or may: we are not allowed to ask)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)   # signal 0 sends nothing: it only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:   # it exists, but belongs to another user
        return True
    except OSError:
        return True           # cannot tell: keep its files
    return True


#: Temporary names of course_utils before they carried their process (``tempfile.mkdtemp``'s random
#: part, or a bare process ID): these are removed once they are a day old.
_OLD_TEMPORARY = re.compile(r"^\.(partial|download-[a-z0-9_]+|unpack-[a-z0-9_]+)-[a-z0-9_]{8}$|^\..+\.\d+\.partial$")
OLD_TEMPORARY_AGE_SECONDS = 24 * 60 * 60


def is_stale(name: str, age_seconds: float = 0.0) -> bool:
    """True when ``name`` is a temporary name written by a process that no longer runs on this computer.

    Names in the older format (without process and computer) count as stale
    once they are ``OLD_TEMPORARY_AGE_SECONDS`` (a day) old.
    """
    match = _TEMPORARY.match(name)
    if match is None:
        return _OLD_TEMPORARY.match(name) is not None and age_seconds > OLD_TEMPORARY_AGE_SECONDS
    if match["host"] != _host():
        return False
    return not _process_is_running(int(match["pid"]))


def _age_seconds(path: Path) -> float:
    try:
        return time.time() - path.lstat().st_mtime
    except OSError:
        return 0.0


def remove_stale_temporaries(root: Path, subfolders: tuple[str, ...] = ("cache",)) -> list[Path]:
    """Delete the leftovers of crashed processes in ``root`` and its ``subfolders``; return what was removed.

    Only names made by ``temporary_name`` are considered, and only those whose
    process is dead on this computer. Folders we may not change (a read-only
    data folder) are skipped silently. (Only these folders are looked at, so a
    data folder inside a big home directory costs nothing.)

    Example:
        >>> remove_stale_temporaries(Path("data"))    # after a kernel died mid-download  # doctest: +SKIP
        [PosixPath('data/.download-cifar10--4242@jupyter-7--f3a9c1d0')]
    """
    root = Path(root)
    removed = []
    for folder in (root, *(root / name for name in subfolders)):
        try:
            entries = [entry for entry in folder.iterdir() if entry.name.startswith(".")]
        except OSError:   # missing, not a folder, or not readable
            continue
        for entry in entries:
            if not is_stale(entry.name, _age_seconds(entry)):
                continue
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry)
                print(f"Removed {entry.name}, left behind in {folder} by a process that was stopped.", flush=True)
            except OSError:
                pass   # read-only, or removed by another process at the same moment
    return removed


# ---------------------------------------------------------------------------
# One process at a time
# ---------------------------------------------------------------------------

def lock_path(root: Path, name: str) -> Path:
    """The lock file of data set ``name`` in the data folder ``root``: ``<root>/.<name>.lock``."""
    return Path(root) / f".{name}.lock"


@contextlib.contextmanager
def dataset_lock(root: Path, name: str, *, timeout: float | None = None, doing: str = "",
                 then: str = "") -> Iterator[None]:
    """Hold the data set's lock for the ``with`` block: one process at a time, on this computer and others.

    The lock is a ``filelock.FileLock`` on ``<root>/.<name>.lock``. The
    operating system releases it when the process ends, even when it is killed,
    so a crash never leaves the data set locked. The lock file is deleted when
    the block ends, so the data folder keeps only data. (A process that is
    just opening the file at that moment may then lock the deleted file; the
    worst that can happen is a second download, never a damaged file, because
    every file is written under a temporary name and renamed into place.)

    A process that has to wait says so, and gives up after ``timeout`` seconds
    (default ``LOCK_TIMEOUT_SECONDS``) with a ``TimeoutError``. A lock file that
    cannot be created (a read-only folder) raises the error of ``folder_error``,
    with ``doing`` (what was about to be written) and ``then`` in its message.
    """
    from filelock import FileLock, Timeout   # a small package, imported when a download is needed

    path = lock_path(root, name)
    lock = FileLock(str(path), timeout=LOCK_TIMEOUT_SECONDS if timeout is None else timeout)
    try:
        lock.acquire(timeout=0)
    except Timeout:   # (check this first: filelock's Timeout is an OSError too)
        print(f"Another process is downloading or unpacking {name} into {root}; waiting for it to finish ...",
              flush=True)
        try:
            lock.acquire()
        except Timeout:
            raise TimeoutError(
                f"Waited {lock.timeout:.0f} s for another process to finish downloading {name} into {root}. "
                f"If no other notebook is loading it, delete {path} and try again."
            ) from None
    except OSError as error:   # the lock file cannot be created: a read-only folder, a full disk
        raise folder_error(error, Path(root), doing or f"the lock file of {name}", then) or error from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()


# ---------------------------------------------------------------------------
# Clear errors for a data folder that cannot be written
# ---------------------------------------------------------------------------

def folder_error(error: OSError, folder: Path, doing: str, then: str = "") -> OSError | None:
    """An error that says what to do, for an OSError raised while writing ``doing`` into ``folder``.

    Returns a ``PermissionError`` for a folder that may not be written, an
    ``OSError`` (errno ENOSPC) for a full disk and a ``NotADirectoryError`` for
    a path that runs through a file, each naming the folder and the remedy; or
    None for any other error (the caller re-raises it). ``then`` is added to the
    message (e.g. how to place the files by hand), except for a full disk.

    Example::

        try:
            folder.mkdir()
        except OSError as error:
            raise folder_error(error, folder, "the CIFAR-10 download") or error
    """
    extra = f"\n{then}" if then else ""
    other_folder = f"set {DATA_DIR_ENV} (or pass root=) to a folder you can write to"
    if error.errno in DISK_FULL_ERRORS:
        message = (f"The disk is full: there is no space left for {doing} in {folder} "
                   f"({free_space_text(folder)}). Nothing was kept. Free some space (delete files you no longer "
                   f"need, e.g. old checkpoints or the data/cache folder), or {other_folder} on another disk, "
                   f"then run the cell again.")   # (placing files by hand would not help here)
        cls: type[OSError] = OSError
    elif error.errno in READ_ONLY_ERRORS:
        message = (f"The data folder {folder} is read-only for you, so {doing} cannot be written there "
                   f"({error.strerror}). If it is a shared copy, ask whoever manages it to add the files, "
                   f"or {other_folder}, then run the cell again.{extra}")
        cls = PermissionError
    elif error.errno in (errno.ENOTDIR, errno.EEXIST) and _blocking_file(folder) is not None:
        message = (f"{doing} cannot be written into {folder}: {_blocking_file(folder)} is a file, not a "
                   f"folder. Move that file away, or {other_folder}.{extra}")
        cls = NotADirectoryError
    else:
        return None
    new = cls(message)
    new.errno = error.errno   # (no .filename: str(error) stays the message above)
    return new


def _blocking_file(folder: Path) -> Path | None:
    """``folder`` itself or its first parent that is a file (so the folder cannot be used), or None."""
    for candidate in (*reversed(Path(folder).parents), Path(folder)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def free_space_text(folder: Path) -> str:
    """How much space is free on the disk of ``folder`` (or its nearest existing parent), for messages."""
    for candidate in (Path(folder), *Path(folder).parents):
        if candidate.is_dir():
            try:
                free = shutil.disk_usage(candidate).free
                if free < 2**20:
                    return f"{free / 2**10:,.0f} KiB free"
                return f"{free / 2**20:,.1f} MiB free" if free < 2**30 else f"{free / 2**30:,.1f} GiB free"
            except OSError:
                break
    return "free space unknown"
