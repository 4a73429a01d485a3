"""Fetching a data set: its files into the data folder, under one lock; repairs; placed archives.

The shape is fastdownload's ``FastDownload.get`` (fastai/fastdownload, ``core.py``):
take the lock, look whether the data are there, otherwise download (each file
from its sources: ``sources.fetch_file``), unpack, check, and rename into place.

``dataset_folder(info, root, split)`` returns the folder holding a split's raw files:

1. they are in ``<root>/<info.folder>/`` (or in a system copy, such as Debian's
   Fashion-MNIST) -> use them;
2. otherwise, under the data set's lock ``<root>/.<name>.lock`` (of several
   notebooks loading it at once, one downloads and the others wait, then use its
   files): unpack an archive placed in ``root`` by hand, or download the files into
   the working folder ``<root>/.<name>.download/``, unpack, decode once to check,
   and move into place. A folder that lacks some files gets exactly those back
   (repaired); nothing already there is replaced or deleted.

After a failure the data folder holds exactly what it held before. A download
that was killed (the kernel died) leaves its working folder; the next load takes
the lock, resumes its partial file, and removes the folder when done.

Example::

    folder = dataset_folder(dataset_info("cifar10"), Path("data"), "train")   # data/cifar-10-batches-py
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import zlib
from pathlib import Path
from typing import Iterator

from .arrays import DISK_FULL_ERRORS, READ_ONLY_ERRORS, DataFormatError
from .registry import SPLITS, DatasetInfo, RemoteFile
from .sources import DownloadError, fetch_file, file_problems, folder_error

#: How long a process waits for another one to finish downloading the same data set.
LOCK_TIMEOUT_SECONDS = 3 * 60 * 60


# ---------------------------------------------------------------------------
# A data set's files in the data folder
# ---------------------------------------------------------------------------

def _has_files(folder: Path, names: tuple[str, ...]) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in names)


def find_local_files(info: DatasetInfo, root: Path, split: str) -> Path | None:
    """The folder that holds ``split``'s raw files, or None. Looks only; changes nothing.

    Looks in ``root / info.folder``, then in the known system folders.

    Example:
        >>> find_local_files(dataset_info("fashion_mnist"), Path("data"), "train")   # doctest: +SKIP
        PosixPath('/usr/share/datasets/fashion-mnist')
    """
    names = info.split_files(split)
    for folder in (Path(root) / info.folder, *map(Path, info.system_folders)):
        if _has_files(folder, names):
            return folder
    return None


def local_archive(info: DatasetInfo, root: Path) -> Path | None:
    """The data set's archive if someone placed it in ``root`` (e.g. ``cifar-10-python.tar.gz``), or None."""
    if not info.archive:
        return None
    archive = Path(root) / info.files[0].filename
    return archive if archive.is_file() else None


def dataset_folder(info: DatasetInfo, root: Path, split: str, *, download: bool = True,
                   keep_archive: bool = False) -> Path:
    """The folder with ``split``'s raw files: found, repaired, unpacked from a placed archive, or downloaded.

    Unpacking and downloading happen under the data set's lock, and the files are
    looked for once more when it is held. With ``download=False`` nothing is
    downloaded (a placed archive is still unpacked): a missing file is a
    ``FileNotFoundError`` saying what to place where. ``keep_archive=True``
    leaves a downloaded archive in ``root`` (the class bundle keeps it).

    Example:
        >>> dataset_folder(dataset_info("cifar10"), Path("data"), "test")   # doctest: +SKIP
        PosixPath('data/cifar-10-batches-py')
    """
    root = Path(root)
    folder = find_local_files(info, root, split)
    if folder is not None:
        _tidy(info, root)
        return folder
    target = root / info.folder
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file, but {info.title} needs a folder of that name there for its "
                                 f"raw files. Move or rename the file, then load the data set again.")
    missing = [name for name in info.split_files(split) if not (target / name).is_file()] if target.is_dir() else []
    if not download and local_archive(info, root) is None:
        raise FileNotFoundError(_missing_message(info, root, split, missing) if any(target.glob("*")) else
                                missing_files_message(info, root))
    how = "unpacking" if local_archive(info, root) else "downloading"
    if missing and any(target.iterdir()):
        print(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing from {target}: {how} "
              f"{info.title} to put {'it' if len(missing) == 1 else 'them'} back (nothing there is replaced).",
              flush=True)
    doing = (f"unpacking {info.files[0].filename}" if how == "unpacking" else f"the download of {info.title}")
    with dataset_lock(root, info.name, doing=doing, then=_manual_steps(info, root)):
        folder = find_local_files(info, root, split)   # another process may have finished it meanwhile
        if folder is not None:
            return folder
        archive = local_archive(info, root)
        if archive is not None:
            return unpack_archive(info, archive, root)
        if not download:
            raise FileNotFoundError(missing_files_message(info, root))
        return download_dataset(info, root, keep_archive=keep_archive)


def download_dataset(info: DatasetInfo, root: Path, *, keep_archive: bool = False) -> Path:
    """Download what ``root / info.folder`` lacks, check it and move it into place (call it under the lock).

    Everything is written into the working folder ``<root>/.<name>.download/``
    first and removed from there afterwards; archives are unpacked there and
    every split whose files are all there is decoded once to check it.
    """
    root, target = Path(root), Path(root) / info.folder
    manual = _manual_steps(info, root)
    work = root / f".{info.name}.download"   # only the lock's holder uses it: no unique name needed
    try:
        work.mkdir(exist_ok=True)
    except OSError as error:
        raise folder_error(error, root, f"the download of {info.title}", manual) or error from None
    try:
        needed = [remote for remote in info.files
                  if info.archive or not (target / remote.filename).is_file()]
        try:
            for remote in needed:
                fetch_file(remote, work, shown=root if info.archive else target, by_hand=manual,
                           dataset_folder=info.folder)
        except DownloadError as error:
            raise DownloadError(f"{info.title} could not be downloaded. {error}") from None
        unpacked = work
        if info.archive:
            try:
                unpacked = _unpack_into(work / info.files[0].filename, work / "unpacked", info, root, manual)
            except DataFormatError as error:
                raise DownloadError(f"The archive {info.files[0].filename} is not what it should be (deleted "
                                    f"again): {error}\n{manual}") from None
        try:
            _check_structure(info, unpacked)
        except (DataFormatError, FileNotFoundError) as error:
            raise DownloadError(f"The files downloaded for {info.title} are not the expected data (deleted "
                                f"again): {error}\n{manual}") from error
        _move_into_place(unpacked, target, info.raw_files(), root, manual)
        if keep_archive and info.archive and not (root / info.files[0].filename).exists():
            os.replace(work / info.files[0].filename, root / info.files[0].filename)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def unpack_archive(info: DatasetInfo, archive: Path, root: Path) -> Path:
    """Check a placed archive's checksums, unpack it, check it, move what is missing into place.

    A wrong checksum or a damaged archive raises ``DataFormatError`` (the archive
    is left where it is); a full disk or a read-only folder an OSError.
    """
    remote = info.files[0]
    problems = file_problems(archive, remote)
    if problems:
        raise DataFormatError(f"{archive} is not the official archive: {'; '.join(problems)}. Delete it and load "
                              f"the data set again to download it, or download it by hand from {remote.url}.")
    then = (f"Or unpack {archive.name} yourself somewhere with space, so that the folder {info.folder}/ "
            f"is in your data folder.")
    work = root / f".{info.name}.download"
    try:
        work.mkdir(exist_ok=True)
    except OSError as error:
        raise folder_error(error, root, f"unpacking {archive.name}", then) or error from None
    try:
        try:
            unpacked = _unpack_into(archive, work / "unpacked", info, root, then)
        except DataFormatError as error:
            raise DataFormatError(f"{archive}: {error} Delete it and load the data set again to download it, "
                                  f"or download it by hand from {remote.url}.") from None
        _check_structure(info, unpacked)
        _move_into_place(unpacked, root / info.folder, info.raw_files(), root, then)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root / info.folder


def _unpack_into(archive: Path, destination: Path, info: DatasetInfo, shown: Path, then: str) -> Path:
    """Unpack ``archive`` into ``destination``; return the data set's folder inside it.

    Members that would land outside ``destination`` (``../``, absolute paths,
    links out) are refused. A damaged archive raises ``DataFormatError``.
    """
    print(f"Unpacking {archive.name} ...", flush=True)
    try:
        _extract_tar(archive, destination)
    except OSError as error:
        if error.errno in DISK_FULL_ERRORS | READ_ONLY_ERRORS:
            raise folder_error(error, shown, f"unpacking {archive.name} (it needs about "
                                             f"{_unpacked_size(archive) / 2**20:,.0f} MiB)", then) from None
        raise DataFormatError(f"{archive.name} cannot be unpacked ({error.__class__.__name__}: {error}).") from None
    except (tarfile.TarError, EOFError, zlib.error) as error:   # damaged gzip or tar data, unsafe members
        raise DataFormatError(f"{archive.name} cannot be unpacked ({error.__class__.__name__}: {error}).") from None
    if not (destination / info.folder).is_dir():
        raise DataFormatError(f"{archive.name} does not contain the folder {info.folder}/.")
    return destination / info.folder


def _extract_tar(archive: Path, destination: Path) -> None:
    """Unpack a .tar(.gz) into ``destination``, refusing members that would land outside it."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):   # Python 3.12, and 3.10.12+ / 3.11.4+
            tar.extractall(destination, filter="data")
            return
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.name.startswith(("/", "\\")) or ".." in parts or not (member.isfile() or member.isdir()):
                raise tarfile.TarError(f"refusing to unpack {member.name!r} (outside the folder, or not a file)")
        tar.extractall(destination)


def _unpacked_size(archive: Path) -> int:
    try:
        with tarfile.open(archive) as tar:
            return sum(member.size for member in tar.getmembers())
    except (OSError, tarfile.TarError, EOFError, zlib.error):
        return archive.stat().st_size


def _check_structure(info: DatasetInfo, folder: Path) -> None:
    """Decode every split whose files are all in ``folder``, so that a wrong file is caught before it is kept."""
    for split in SPLITS:
        if _has_files(folder, info.split_files(split)):
            info.read(folder, split)


def _move_into_place(source: Path, target: Path, names: tuple[str, ...], root: Path, then: str) -> None:
    """Move the files ``names`` that ``target`` lacks from ``source`` into it; never replace one that is there.

    Each file is renamed (atomic on one disk), so it appears complete or not at all.
    """
    try:
        target.mkdir(exist_ok=True)
        for name in names:
            if (source / name).is_file() and not (target / name).exists():
                os.replace(source / name, target / name)
    except OSError as error:
        raise folder_error(error, root, f"moving the files into {target}", then) or error from None


def _tidy(info: DatasetInfo, root: Path) -> None:
    """Remove the working folder a killed download left behind, unless a download holds the lock now."""
    work = Path(root) / f".{info.name}.download"
    if not work.is_dir():
        return
    with contextlib.suppress(TimeoutError, OSError):
        with dataset_lock(root, info.name, timeout=0):
            shutil.rmtree(work, ignore_errors=True)


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

    The lock is a ``filelock.FileLock`` on ``<root>/.<name>.lock``; the operating
    system releases it when the process ends, even when it is killed. The lock
    file is deleted when the block ends. A process that has to wait says so, and
    gives up after ``timeout`` seconds (default ``LOCK_TIMEOUT_SECONDS``) with a
    ``TimeoutError``. A lock file that cannot be created (a read-only folder)
    raises the error of ``folder_error``, naming ``doing`` and adding ``then``.
    """
    from filelock import FileLock, Timeout   # a small package, imported when a download is needed

    path = lock_path(root, name)
    lock = FileLock(str(path), timeout=LOCK_TIMEOUT_SECONDS if timeout is None else timeout)
    try:
        lock.acquire(timeout=0)
    except Timeout:   # (check this first: filelock's Timeout is an OSError too)
        if timeout == 0:
            raise TimeoutError(f"{path} is held by another process.") from None
        print(f"Another process is downloading or unpacking {name} into {root}; waiting for it to finish ...",
              flush=True)
        try:
            lock.acquire()
        except Timeout:
            raise TimeoutError(f"Waited {lock.timeout:.0f} s for another process to finish downloading {name} into "
                               f"{root}. If no other notebook is loading it, delete {path} and try again.") from None
    except OSError as error:   # the lock file cannot be created: a read-only folder, a full disk
        raise folder_error(error, Path(root), doing or f"the lock file of {name}", then) or error from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()


# ---------------------------------------------------------------------------
# Messages: placing files by hand, and a data folder that cannot be written
# ---------------------------------------------------------------------------

def _by_hand(remotes: tuple[RemoteFile, ...] | list[RemoteFile], folder: Path) -> str:
    lines = ["To continue offline, download these files by hand (on any machine with internet access):"]
    lines += [f"    {remote.filename}  from  {remote.url}" for remote in remotes]
    lines.append(f"and put them in this folder:\n    {folder}")
    return "\n".join(lines)


def _manual_steps(info: DatasetInfo, root: Path) -> str:
    """How to get the data set's files in place by hand, for error messages."""
    if info.archive:
        remote = info.files[0]
        return (f"To continue offline, download {remote.filename} from {remote.url}\n"
                f"and put it in the data folder {root} (it is unpacked on the next load),\n"
                f"or unpack it there yourself so that the folder {root / info.folder} exists.")
    return _by_hand(info.files, root / info.folder)


def missing_files_message(info: DatasetInfo, root: Path) -> str:
    """The message for a data set that is not on disk while downloads are switched off."""
    return f"{info.title} is not in the data folder {root} and download=False.\n{_manual_steps(info, root)}"


def _missing_message(info: DatasetInfo, root: Path, split: str, missing: list[str]) -> str:
    folder = root / info.folder
    return (f"The folder {folder} holds only part of {info.title}: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (the {split} split needs "
            f"{', '.join(info.split_files(split))}), and download=False. Put the missing "
            f"file{'s' if len(missing) > 1 else ''} back (from a copy of the data set), or load with download=True "
            f"to download {'it' if len(missing) == 1 else 'them'}: nothing already there is replaced.")
