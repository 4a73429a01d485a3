"""Getting a data set's raw files onto the disk: find them, or unpack or download and verify them.

The rules, in the order they are tried (see ``fetch_dataset``):

1. The raw files are already in ``<data dir>/<info.folder>/`` -> use them.
   (Only some of them there? Then the message names the missing ones.)
2. A known system copy holds them (Debian's ``dataset-fashion-mnist`` puts
   Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``) -> use it in place.
3. The archive (CIFAR-10's ``cifar-10-python.tar.gz``) lies in the data
   directory and its MD5 is right -> unpack it.
4. Otherwise download the files (``fetch.fetch_to``: timeouts, a progress bar,
   checksums).

Steps 3 and 4 run under the data set's lock (``folders.dataset_lock``): when
several notebooks load the same data set into one folder at the same time,
one downloads and the others wait, then find the files in place.

A download is made safe like this:

- every file goes to a temporary folder inside the data directory first, whose
  name says which process writes it (leftovers of a killed process are removed
  on the next load, see ``folders.remove_stale_temporaries``);
- its size and checksum (MD5 or SHA-256) are verified AFTER the download;
- archives are unpacked into the temporary folder too, and the decoded content
  is checked for structure;
- only then are the files renamed into place. Renaming within one disk is
  atomic, so an interrupted download never leaves a half-written file that
  looks complete.

If anything goes wrong the temporary folder is removed, so the data directory
holds exactly what it held before, and the error says what happened and what
to do: a ``DownloadError`` for the network and the server (offline, HTTP 404,
connection refused or cut, a server that stopped answering, a wrong checksum);
an ``OSError`` for the disk (full, read-only, a file where a folder should be).

Example:
    >>> from pathlib import Path
    >>> from course_utils.datasets import dataset_info
    >>> fetch_dataset(dataset_info("cifar10"), Path("data"), "train")   # doctest: +SKIP
    PosixPath('data/cifar-10-batches-py')
"""
from __future__ import annotations

import os
import shutil
import tarfile
import zlib
from pathlib import Path

from .datasets import SPLITS, DataFormatError, DatasetInfo, RemoteFile
from .fetch import DownloadError, fetch_to, file_hash, file_problems
from .folders import DISK_FULL_ERRORS, READ_ONLY_ERRORS, dataset_lock, folder_error, make_temporary_folder

__all__ = [
    "DownloadError", "file_hash", "file_problems", "download_file", "find_local_files", "local_archive",
    "unpack_archive", "download_dataset", "fetch_dataset", "missing_files_message",
]


# ---------------------------------------------------------------------------
# Downloading one file
# ---------------------------------------------------------------------------

def _by_hand(remotes: tuple[RemoteFile, ...] | list[RemoteFile], folder: Path) -> str:
    """The part of an error message that says how to work around a failed download."""
    lines = ["To continue offline, download these files by hand (on any machine with internet access):"]
    lines += [f"    {remote.filename}  from  {remote.url}" for remote in remotes]
    lines.append(f"and put them in this folder:\n    {folder}")
    return "\n".join(lines)


def download_file(remote: RemoteFile, folder: Path) -> Path:
    """Download ``remote`` into ``folder`` safely and return the final path.

    The file is written to a temporary folder inside ``folder`` (with a
    progress bar), checked against ``remote.size``, ``remote.md5`` and
    ``remote.sha256``, and only then renamed to ``folder / remote.filename``.
    On failure a ``DownloadError`` (or, for a full disk or a read-only folder, an
    ``OSError``) is raised and ``folder`` holds exactly what it held before:
    folders this call created are removed again.

    A checksum mismatch is an error, unless ``remote.warn_only`` is True: then it
    is a warning (for files whose published checksum is not confirmed).

    Example:
        >>> download_file(dataset_info("sign_language_mnist").files[1], Path("data/sign-language-mnist"))  # doctest: +SKIP
    """
    folder = Path(folder)
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    try:
        return fetch_to(remote, folder, by_hand=_by_hand([remote], folder))
    except BaseException:
        _remove_empty(created)
        raise


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders we created (deepest first) if they are still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Finding a data set's files
# ---------------------------------------------------------------------------

def _has_files(folder: Path, names: tuple[str, ...]) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in names)


def find_local_files(info: DatasetInfo, root: Path, split: str) -> Path | None:
    """The folder that holds ``split``'s raw files, or None. Looks only; changes nothing.

    Looks in ``root / info.folder``, then in the known system folders.
    (An archive in ``root`` is found by ``local_archive`` and unpacked by ``fetch_dataset``.)

    Example:
        >>> find_local_files(dataset_info("fashion_mnist"), Path("data"), "train")   # doctest: +SKIP
        PosixPath('/usr/share/datasets/fashion-mnist')
    """
    names = info.split_files(split)
    folder = Path(root) / info.folder
    if _has_files(folder, names):
        return folder
    for system_folder in info.system_folders:
        if _has_files(Path(system_folder), names):
            return Path(system_folder)
    return None


def local_archive(info: DatasetInfo, root: Path) -> Path | None:
    """The data set's archive if someone placed it in ``root`` (e.g. ``cifar-10-python.tar.gz``), or None."""
    if not info.archive:
        return None
    archive = Path(root) / info.files[0].filename
    return archive if archive.is_file() else None


def _check_the_folder_is_usable(info: DatasetInfo, root: Path, split: str) -> None:
    """Refuse, with the names of the missing files, a data set folder that holds only part of the data.

    Also refuse a FILE where the data set's folder should be. Both would
    otherwise end in a download that cannot be moved into place, or that
    silently replaces files someone put there.
    """
    folder = Path(root) / info.folder
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"{folder} is a file, but {info.title} needs a folder of that name there for its raw files. "
            f"Move or rename the file, then load the data set again."
        )
    if not folder.is_dir():
        return
    every_file = set(info.train_files) | set(info.test_files)
    present = [name for name in sorted(every_file) if (folder / name).exists()]
    missing = [name for name in info.split_files(split) if not (folder / name).is_file()]
    if present and missing:
        raise FileNotFoundError(
            f"The folder {folder} holds only part of {info.title}: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (the {split} split needs "
            f"{', '.join(info.split_files(split))}). Put the missing file{'s' if len(missing) > 1 else ''} back "
            f"(from a copy of the data set), or move the folder away and load again to download the whole data set."
        )


# ---------------------------------------------------------------------------
# Unpacking an archive
# ---------------------------------------------------------------------------

def _extract_tar(archive: Path, destination: Path) -> None:
    """Unpack a .tar(.gz) archive into ``destination``; members that would land outside it are refused."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):   # Python 3.12, and 3.8-3.11 since mid-2023
            tar.extractall(destination, filter="data")
            return
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if member.name.startswith(("/", "\\")) or ".." in parts or not (member.isfile() or member.isdir()):
                raise tarfile.TarError(f"refusing to unpack {member.name!r} (outside the folder, or not a file)")
        tar.extractall(destination)


def _unpack_into(archive: Path, destination: Path, info: DatasetInfo, shown: Path, then: str) -> Path:
    """Unpack ``archive`` into ``destination``; return the data set's folder inside it.

    A full disk or a read-only folder raises an OSError (see ``folder_error``);
    a damaged archive raises ``DataFormatError``.
    """
    print(f"Unpacking {archive} ...", flush=True)
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


def _unpacked_size(archive: Path) -> int:
    """The total size of an archive's files (for messages), or the archive's size if it cannot be read."""
    try:
        with tarfile.open(archive) as tar:
            return sum(member.size for member in tar.getmembers())
    except (OSError, tarfile.TarError, EOFError, zlib.error):
        return archive.stat().st_size


def unpack_archive(info: DatasetInfo, archive: Path, root: Path) -> Path:
    """Check an archive's MD5, unpack it into a temporary folder, check it, move it into place.

    Returns ``root / info.folder``. A wrong checksum or a damaged archive raises
    ``DataFormatError`` (the archive is left where it is, for you to delete or
    replace); a full disk or a read-only folder an OSError that says so.
    """
    remote = info.files[0]
    problems = file_problems(archive, remote)
    if problems:
        raise DataFormatError(
            f"{archive} is not the official archive: {'; '.join(problems)}. Delete it and load the "
            f"data set again to download it, or download it by hand from {remote.url}."
        )
    then = (f"Or unpack {archive.name} yourself somewhere with space, so that the folder {info.folder}/ "
            f"is in your data folder.")
    try:
        temp = make_temporary_folder(root, "unpack", info.name)
    except OSError as error:
        raise folder_error(error, root, f"unpacking {archive.name}", then) or error from None
    try:
        try:
            unpacked = _unpack_into(archive, temp, info, root, then)
        except DataFormatError as error:
            raise DataFormatError(f"{archive}: {error} Delete it and load the data set again to download it, "
                                  f"or download it by hand from {remote.url}.") from None
        _check_structure(info, unpacked)
        _move_into_place(unpacked, root / info.folder, root, then)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return root / info.folder


def _check_structure(info: DatasetInfo, folder: Path) -> None:
    """Decode every split once, so that a wrong file is caught before it is moved into place."""
    for split in SPLITS:
        info.read(folder, split)


def _move_into_place(source: Path, target: Path, root: Path, then: str = "") -> None:
    """Move the files of ``source`` into ``target`` (renames: each file appears complete or not at all)."""
    try:
        if not target.exists():
            try:
                os.replace(source, target)
                return
            except OSError:   # another process put the folder there a moment ago
                pass
        for item in sorted(source.iterdir()):
            os.replace(item, target / item.name)
    except OSError as error:
        raise folder_error(error, root, f"moving the files into {target}", then) or error from None


# ---------------------------------------------------------------------------
# Downloading a whole data set
# ---------------------------------------------------------------------------

def download_dataset(info: DatasetInfo, root: Path) -> Path:
    """Download all of ``info.files``, verify them and move them into ``root / info.folder``.

    Archives are unpacked in the temporary folder first. Every split is decoded
    once to check its structure before anything is moved into place. Returns
    the folder with the raw files. (``fetch_dataset`` calls this under the data
    set's lock; call that one.)

    Example:
        >>> download_dataset(dataset_info("cifar10"), Path("data"))   # doctest: +SKIP
        PosixPath('data/cifar-10-batches-py')
    """
    root = Path(root)
    manual = _manual_steps(info, root)
    try:
        temp = make_temporary_folder(root, "download", info.name)
    except OSError as error:
        raise folder_error(error, root, f"the download of {info.title}", manual) or error from None
    downloads = temp / "downloads"
    try:
        try:
            for remote in info.files:
                fetch_to(remote, downloads, shown_folder=root, by_hand=manual)
        except DownloadError as error:
            raise DownloadError(f"{info.title} could not be downloaded. {error}") from None
        if info.archive:
            url = info.files[0].url
            try:
                unpacked = _unpack_into(downloads / info.files[0].filename, temp / "unpacked", info, root, manual)
            except DataFormatError as error:
                raise DownloadError(f"The archive from {url} is not what it should be (deleted again): {error}\n"
                                    f"{manual}") from None
        else:
            unpacked = downloads
        try:
            _check_structure(info, unpacked)
        except (DataFormatError, FileNotFoundError) as error:
            raise DownloadError(
                f"The files downloaded for {info.title} are not the expected data (deleted again): {error}\n"
                f"{manual}"
            ) from error
        _move_into_place(unpacked, root / info.folder, root, manual)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return root / info.folder


def fetch_dataset(info: DatasetInfo, root: Path, split: str, *, download: bool = True) -> Path:
    """The folder with ``split``'s raw files: found, unpacked from a placed archive, or downloaded.

    Unpacking and downloading happen under the data set's lock, and the local
    files are looked for once more when the lock is held: of several processes
    that need the same data set at once, one downloads it and the others use
    its files. With ``download=False`` nothing is downloaded (a placed archive
    is still unpacked): a missing data set is a ``FileNotFoundError`` saying what
    to place where.

    Example:
        >>> fetch_dataset(dataset_info("cifar10"), Path("data"), "test")   # doctest: +SKIP
        PosixPath('data/cifar-10-batches-py')
    """
    root = Path(root)
    folder = find_local_files(info, root, split)
    if folder is not None:
        return folder
    _check_the_folder_is_usable(info, root, split)
    if local_archive(info, root) is None and not download:
        raise FileNotFoundError(missing_files_message(info, root))
    archive_name = info.files[0].filename if info.archive else ""
    doing = f"unpacking {archive_name}" if local_archive(info, root) else f"the download of {info.title}"
    with dataset_lock(root, info.name, doing=doing, then=_manual_steps(info, root)):
        folder = find_local_files(info, root, split)   # another process may have finished it meanwhile
        if folder is not None:
            return folder
        archive = local_archive(info, root)
        if archive is not None:
            return unpack_archive(info, archive, root)
        if not download:
            raise FileNotFoundError(missing_files_message(info, root))
        return download_dataset(info, root)


def _manual_steps(info: DatasetInfo, root: Path) -> str:
    """How to get the data set's files in place by hand, for error messages."""
    if info.archive:
        remote = info.files[0]
        return (
            f"To continue offline, download {remote.filename} from {remote.url}\n"
            f"and put it in the data folder {root} (it is unpacked on the next load),\n"
            f"or unpack it there yourself so that the folder {root / info.folder} exists."
        )
    return _by_hand(info.files, root / info.folder)


def missing_files_message(info: DatasetInfo, root: Path) -> str:
    """The message for a data set that is not on disk while downloads are switched off."""
    return f"{info.title} is not in the data folder {root} and download=False.\n{_manual_steps(info, root)}"
