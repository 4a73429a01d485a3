"""Getting a data set's raw files onto the disk: find them, or download and verify them.

The rules, in the order they are tried (see ``find_local_files`` and ``download_dataset``):

1. The raw files are already in ``<data dir>/<info.folder>/`` -> use them.
2. A known system copy holds them (Debian's ``dataset-fashion-mnist`` puts
   Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``) -> use it in place.
3. The archive (CIFAR-10's ``cifar-10-python.tar.gz``) lies in the data
   directory and its MD5 is right -> unpack it.
4. Otherwise download with torchvision's download utilities (with a progress bar).

A download is made safe like this:

- every file goes to a temporary folder inside the data directory first;
- its size and checksum (MD5 or SHA-256) are verified AFTER the download;
- archives are unpacked into the temporary folder too, and the decoded content
  is checked for structure;
- only then are the files renamed into place. Renaming within one disk is
  atomic, so an interrupted download never leaves a half-written file that
  looks complete.

If anything goes wrong (offline, HTTP 404, connection refused, wrong checksum,
truncated file) a ``DownloadError`` says which URLs failed, which files are
needed and in which folder to place them by hand; the temporary folder is
removed, so the data directory holds exactly what it held before.

Example:
    >>> from pathlib import Path
    >>> from course_utils.datasets import dataset_info
    >>> from course_utils.download import download_file
    >>> remote = dataset_info("fashion_mnist").files[3]
    >>> download_file(remote, Path("data/fashion-mnist"))   # doctest: +SKIP
    PosixPath('data/fashion-mnist/t10k-labels-idx1-ubyte.gz')
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

# torchvision's download_url / extract_archive are imported inside the functions
# that use them: importing torchvision loads all of it (models, torch._dynamo ...),
# which would add seconds to every ``import course_utils``.

from .datasets import SPLITS, DataFormatError, DatasetInfo, RemoteFile


class DownloadError(RuntimeError):
    """A download failed. The message says what to place where to work offline."""


# ---------------------------------------------------------------------------
# Checking a file
# ---------------------------------------------------------------------------

def file_hash(path: Path, algorithm: str = "md5", chunk_size: int = 1 << 20) -> str:
    """The hex digest of a file, read in chunks so that big files need little memory.

    Example:
        >>> file_hash(Path("data/cifar-10-python.tar.gz"), "md5")   # doctest: +SKIP
        'c58f30108f718f92721af3b95e74349a'
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def file_problems(path: Path, remote: RemoteFile) -> list[str]:
    """Compare a file with the size and checksums that ``remote`` promises.

    Returns a list of problems for people to read; an empty list means "all good".
    """
    problems = []
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        problems.append(f"{remote.filename} has {size:,} bytes, expected {remote.size:,}")
    if remote.md5 is not None:
        found = file_hash(path, "md5")
        if found != remote.md5.lower():
            problems.append(f"{remote.filename} has MD5 {found}, expected {remote.md5}")
    if remote.sha256 is not None:
        found = file_hash(path, "sha256")
        if found != remote.sha256.lower():
            problems.append(f"{remote.filename} has SHA-256 {found}, expected {remote.sha256}")
    return problems


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

    The file is written to a temporary folder inside ``folder`` (torchvision's
    ``download_url`` shows the progress bar), checked against ``remote.size``,
    ``remote.md5`` and ``remote.sha256``, and only then renamed to
    ``folder / remote.filename``. On failure a ``DownloadError`` is raised and
    ``folder`` holds exactly what it held before.

    A checksum mismatch is an error, unless ``remote.warn_only`` is True: then it
    is a warning (for files whose published checksum is not confirmed).

    Example:
        >>> download_file(dataset_info("sign_language_mnist").files[1], Path("data/sign-language-mnist"))  # doctest: +SKIP
    """
    folder = Path(folder)
    try:
        return _fetch(remote, folder)
    except DownloadError as error:
        raise DownloadError(f"{error}\n{_by_hand([remote], folder)}") from error.__cause__


def _fetch(remote: RemoteFile, folder: Path) -> Path:
    """``download_file`` without the advice in the error message (callers add their own)."""
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    from torchvision.datasets.utils import download_url   # slow import: only when downloading

    temp = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
    succeeded = False
    try:
        print(f"Downloading {remote.url}", flush=True)
        try:
            download_url(remote.url, str(temp), filename=remote.filename)
        except Exception as error:   # offline, HTTP errors, refused, cut connections ...
            raise DownloadError(
                f"Could not download {remote.url} ({error.__class__.__name__}: {error}). "
                f"Are you offline, or is the address wrong or the site down?"
            ) from error
        downloaded = temp / remote.filename
        if not downloaded.is_file():
            raise DownloadError(f"Downloading {remote.url} produced no file.")
        problems = file_problems(downloaded, remote)
        if problems and not remote.warn_only:
            raise DownloadError(
                f"The download of {remote.url} is damaged or incomplete ({downloaded.stat().st_size:,} bytes "
                f"received): {'; '.join(problems)}. It was deleted; try again later."
            )
        if problems:
            warnings.warn(
                f"{'; '.join(problems)} (the published checksum belongs to the original file and is "
                f"not confirmed for {remote.url}; the file's structure is checked instead).",
                stacklevel=3,
            )
        target = folder / remote.filename
        os.replace(downloaded, target)
        succeeded = True
        return target
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        if not succeeded:
            _remove_empty(created)


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders we created (deepest first) if they are still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Finding a data set's files, or downloading all of them
# ---------------------------------------------------------------------------

def _has_files(folder: Path, names: tuple[str, ...]) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in names)


def find_local_files(info: DatasetInfo, root: Path, split: str) -> Path | None:
    """The folder that holds ``split``'s raw files without downloading, or None.

    Looks in ``root / info.folder``, then in the known system folders, then
    for a verified archive in ``root`` (which it unpacks).

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
    if info.archive and (Path(root) / info.files[0].filename).is_file():
        return unpack_archive(info, Path(root) / info.files[0].filename, Path(root))
    return None


def unpack_archive(info: DatasetInfo, archive: Path, root: Path) -> Path:
    """Check an archive's MD5, unpack it into a temporary folder, check it, move it into place.

    Returns ``root / info.folder``. A wrong checksum raises ``DataFormatError``
    (the archive is left where it is, for you to delete or replace).
    """
    remote = info.files[0]
    problems = file_problems(archive, remote)
    if problems:
        raise DataFormatError(
            f"{archive} is not the official archive: {'; '.join(problems)}. Delete it and load the "
            f"data set again to download it, or download it by hand from {remote.url}."
        )
    from torchvision.datasets.utils import extract_archive   # slow import: only when unpacking

    temp = Path(tempfile.mkdtemp(prefix=f".unpack-{info.name}-", dir=root))
    try:
        print(f"Unpacking {archive} ...", flush=True)
        extract_archive(str(archive), str(temp))
        unpacked = temp / info.folder
        if not unpacked.is_dir():
            raise DataFormatError(f"{archive} does not contain the folder {info.folder}/.")
        _check_structure(info, unpacked)
        _move_into_place(unpacked, root / info.folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return root / info.folder


def _check_structure(info: DatasetInfo, folder: Path) -> None:
    """Decode every split once, so that a wrong file is caught before it is moved into place."""
    for split in SPLITS:
        info.read(folder, split)


def _move_into_place(source: Path, target: Path) -> None:
    """Move the files of ``source`` into ``target`` (renames: each file appears complete or not at all)."""
    if not target.exists():
        try:
            os.replace(source, target)
            return
        except OSError:   # another process put the folder there a moment ago
            pass
    for item in sorted(source.iterdir()):
        os.replace(item, target / item.name)


def download_dataset(info: DatasetInfo, root: Path) -> Path:
    """Download all of ``info.files``, verify them and move them into ``root / info.folder``.

    Archives are unpacked in the temporary folder first. Every split is decoded
    once to check its structure before anything is moved into place. Returns
    the folder with the raw files.

    Example:
        >>> download_dataset(dataset_info("cifar10"), Path("data"))   # doctest: +SKIP
        PosixPath('data/cifar-10-batches-py')
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".download-{info.name}-", dir=root))
    downloads = temp / "downloads"
    try:
        try:
            for remote in info.files:
                _fetch(remote, downloads)
        except DownloadError as error:
            raise DownloadError(
                f"{info.title} could not be downloaded. {error}\n{_manual_steps(info, root)}"
            ) from error.__cause__
        if info.archive:
            unpacked = _unpack_download(info, downloads / info.files[0].filename, temp / "unpacked", root)
        else:
            unpacked = downloads
        try:
            _check_structure(info, unpacked)
        except (DataFormatError, FileNotFoundError) as error:
            raise DownloadError(
                f"The files downloaded for {info.title} are not the expected data (deleted again): {error}\n"
                f"{_manual_steps(info, root)}"
            ) from error
        _move_into_place(unpacked, root / info.folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return root / info.folder


def _unpack_download(info: DatasetInfo, archive: Path, destination: Path, root: Path) -> Path:
    """Unpack a downloaded archive into ``destination``; return the data set's folder inside it."""
    from torchvision.datasets.utils import extract_archive   # slow import: only when unpacking

    url = info.files[0].url
    try:
        extract_archive(str(archive), str(destination))
    except Exception as error:   # tarfile, gzip and zip errors all differ
        raise DownloadError(f"The archive from {url} cannot be unpacked ({error}).\n"
                            f"{_manual_steps(info, root)}") from error
    if not (destination / info.folder).is_dir():
        raise DownloadError(f"The archive from {url} does not contain the folder {info.folder}/.\n"
                            f"{_manual_steps(info, root)}")
    return destination / info.folder


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
