"""The class bundle: fetch every data set once, check it, hand a class one archive or one shared folder.

    python -m course_utils.data download --all DIR    # every data set into the data folder DIR (and its cache)
    python -m course_utils.data verify DIR            # present? decodes with the right structure? official bytes?
    python -m course_utils.data pack DIR FILE         # one archive (.tar, .tar.gz, .zip) with SHA256SUMS
    python -m course_utils.data unpack FILE DIR       # check every file of the archive, then add what DIR lacks
    python -m course_utils.data sources               # where each file comes from, in the order tried

A JupyterHub class shares DIR read-only: every student's ``COURSE_DATA_DIR``
points at it, nothing is ever written into it (each student's cache goes to
their own ``~/.cache/course-utils``, and the cache that ``download`` made in DIR
is read by all). See docs/data.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import secrets
import shutil
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from .. import checks
from ..config import MIRRORS_ENV, data_dir, user_mirrors
from . import registry
from .arrays import DataFormatError
from .fetch import dataset_folder
from .load import load_arrays
from .registry import SPLITS, DatasetInfo
from .sources import DownloadError, all_sources, file_hash, file_problems

#: The checksum list inside a packed bundle (the format of ``sha256sum``: ``sha256sum -c SHA256SUMS`` checks it).
SUMS = "SHA256SUMS"
#: The note for people inside a packed bundle.
README = "BUNDLE.txt"
PACK_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


#: How the command line names itself in its messages.
PROGRAM = "python -m course_utils.data"


def _chosen(names: list[str], everything: bool, command: str = "") -> list[DatasetInfo]:
    """The data sets named (any spelling ``dataset_info`` accepts), or all of them."""
    if everything or not names:
        return list(registry.DATASETS.values())
    return [registry.find_dataset(name, f"{PROGRAM} {command}".strip(), "NAME") for name in names]


def _refuse(command: str, name: str, expects: str, got: str, fix: str = "") -> ValueError:
    return checks.refusal(ValueError, f"{PROGRAM} {command}", name, expects, got, fix)


def _can_write_into(folder: Path) -> str | None:
    """None when a new file can be made in ``folder`` (tried for real: root may not write a read-only mount
    either), else why not, in words."""
    probe = folder / f".course-utils-write-test-{secrets.token_hex(4)}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
        return None
    except OSError as error:
        return error.strerror or str(error)


def _check_target_folder(folder: Path, command: str) -> None:
    """DIR of download/unpack: a folder, or a path where one can be made, that takes new files (checked first)."""
    expects = "a data folder you can write to (it is created if needed)"
    if folder.exists() and not folder.is_dir():
        raise _refuse(command, "DIR", expects, f"{str(folder)!r}, which is a file",
                      "Give a folder: the data sets go into sub-folders of it.")
    existing = next((parent for parent in (folder, *folder.absolute().parents) if parent.exists()), None)
    if existing is not None and not existing.is_dir():
        raise _refuse(command, "DIR", expects, f"{str(folder)!r}, below the file {existing}")
    problem = _can_write_into(existing) if existing is not None else "no folder of it exists"
    if problem:
        raise _refuse(command, "DIR", expects, f"{str(folder)!r}, where {existing} does not take new files "
                      f"({problem})", "Give a folder of your own; a class's shared copy is prepared by whoever "
                      "may write to it.")


def _check_source_folder(folder: Path, command: str) -> None:
    """DIR of verify/pack: a folder that exists."""
    if not folder.is_dir():
        what = "which is a file" if folder.exists() else "which does not exist"
        raise _refuse(command, "DIR", "the data folder to read (one that holds the data sets' folders)",
                      f"{str(folder)!r}, {what}")


def _check_bundle_name(file: Path) -> None:
    """FILE of pack: a new archive name (.tar, .tar.gz, .tgz, .zip) in a folder that takes new files."""
    expects = f"a new archive file ending in {', '.join(PACK_SUFFIXES)} in a folder you can write to"
    if file.is_dir():
        raise _refuse("pack", "FILE", expects, f"{str(file)!r}, which is a folder",
                      f"Name the archive: {file / 'course-data.tar'}.")
    if not file.name.endswith(PACK_SUFFIXES):
        raise _refuse("pack", "FILE", expects, f"{file.name!r}", "Add .tar (or .tar.gz, .zip) to its name.")
    if file.exists():
        raise _refuse("pack", "FILE", expects, f"{str(file)!r}, which exists already",
                      "Delete it first, or give another name: pack never replaces a file.")
    parent = file.absolute().parent
    problem = _can_write_into(parent) if parent.is_dir() else "it does not exist"
    if problem:
        raise _refuse("pack", "FILE", expects, f"{str(file)!r}, in {parent} ({problem})")


# ---------------------------------------------------------------------------
# download
# ---------------------------------------------------------------------------

def download(root: Path, infos: list[DatasetInfo], *, keep_archives: bool = False, cache: bool = True) -> bool:
    """Put every data set of ``infos`` into the data folder ``root``; True when all of them are there.

    Each file comes from its sources in order (``COURSE_MIRRORS`` first) and is
    checked against the registry's checksums. A data set already complete in
    ``root`` is left as it is. With ``cache``, each split is decoded once, so that
    a class reading ``root`` finds the arrays ready.
    """
    ok = True
    for info in infos:
        info = dataclasses.replace(info, system_folders=())   # the bundle holds its own copy
        try:
            for split in SPLITS:
                dataset_folder(info, root, split, keep_archive=keep_archives)
                if cache:
                    load_arrays(info, split, root)
        except (DownloadError, DataFormatError, OSError) as error:
            print(f"\n{info.title}: NOT downloaded.\n{error}\n", file=sys.stderr, flush=True)
            ok = False
            continue
        print(f"{info.title}: ready in {root / info.folder}", flush=True)
    return ok


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------

def official_problems(info: DatasetInfo, folder: Path) -> list[str] | None:
    """What differs from the official bytes in ``folder``: [] when every file is official, None when unknown."""
    known = dict(info.unpacked_md5)
    known.update({remote.filename: remote for remote in info.files if not info.archive})
    if not known:
        return None
    problems = []
    for name in info.raw_files():
        expected = known.get(name)
        if expected is None:
            return None
        if isinstance(expected, str):
            found = file_hash(folder / name, "md5")
            if found != expected:
                problems.append(f"{name} has MD5 {found}, the official file {expected}")
        else:
            problems += file_problems(folder / name, expected)
    return problems


def _official_words(info: DatasetInfo, folder: Path) -> str:
    """Whether the files in ``folder`` are the official bytes, in words."""
    problems = official_problems(info, folder)
    if problems is None:
        return "official checksums unknown for these files"
    if problems:
        return f"NOT the official bytes ({problems[0]}{' ...' if len(problems) > 1 else ''})"
    return "the official bytes (checksums match)"


def verify(root: Path, infos: list[DatasetInfo], *, official: bool = False) -> bool:
    """Check each data set in ``root`` (reading only); print one verdict each; True when all pass.

    A data set passes when all its files are there and every split decodes with
    the right structure and image count; with ``official``, its files must also
    be byte for byte the official ones. Nothing is written.
    """
    ok = True
    for info in infos:
        folder = Path(root) / info.folder
        missing = [name for name in info.raw_files() if not (folder / name).is_file()]
        if missing:
            print(f"{info.title}: MISSING in {folder}: {', '.join(missing)}. "
                  f"Run: python -m course_utils.data download {root} {info.name}")
            ok = False
            continue
        try:
            counts = [len(info.read(folder, split)[1]) for split in SPLITS]
        except (DataFormatError, FileNotFoundError) as error:
            print(f"{info.title}: DAMAGED: {error}")
            ok = False
            continue
        if official and official_problems(info, folder) != []:
            ok = False
        print(f"{info.title}: usable: {counts[0]:,} training and {counts[1]:,} test images, structure checked; "
              f"{_official_words(info, folder)}.")
        archive = Path(root) / info.files[0].filename
        if info.archive and archive.is_file():
            archive_problems = file_problems(archive, info.files[0])
            print(f"  and {archive.name}: " + ("checksums match." if not archive_problems else
                                              f"NOT the official archive ({archive_problems[0]})."))
            ok = ok and not archive_problems
    return ok


# ---------------------------------------------------------------------------
# pack and unpack
# ---------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return file_hash(path, "sha256")


def pack(root: Path, archive: Path, infos: list[DatasetInfo]) -> None:
    """Write the raw files of ``infos`` (as they are in ``root``) into ``archive``, with ``SHA256SUMS``.

    The archive is written under a ``.part`` name and renamed when complete. Run
    ``verify`` first (the command line does).
    """
    if not archive.name.endswith(PACK_SUFFIXES):
        raise ValueError(f"The bundle's name must end in {', '.join(PACK_SUFFIXES)}; got {archive.name!r}.")
    members = [(Path(root) / info.folder / name, f"{info.folder}/{name}")
               for info in infos for name in info.raw_files()]
    sums = "".join(f"{_sha256(path)}  {name}\n" for path, name in members)
    note = "Course data sets, packed by python -m course_utils.data pack:\n" + "".join(
        f"- {info.title}: {_official_words(info, Path(root) / info.folder)}\n" for info in infos) + (
        f"Unpack into your data folder with\n    python -m course_utils.data unpack {archive.name} DATA_FOLDER\n"
        f"(which checks every file against {SUMS}), then point COURSE_DATA_DIR at DATA_FOLDER.\n")
    part = archive.with_name(archive.name + ".part")
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as zipped:
                for path, name in members:
                    zipped.write(path, name)
                zipped.writestr(SUMS, sums)
                zipped.writestr(README, note)
        else:
            mode = "w" if archive.name.endswith(".tar") else "w:gz"
            with tarfile.open(part, mode, **({"compresslevel": 1} if mode == "w:gz" else {})) as tar:
                for path, name in members:
                    tar.add(path, name)
                for name, text in ((SUMS, sums), (README, note)):
                    data = text.encode()
                    member = tarfile.TarInfo(name)
                    member.size, member.mtime = len(data), int(time.time())
                    tar.addfile(member, io.BytesIO(data))
        part.replace(archive)
    finally:
        part.unlink(missing_ok=True)
    print(f"Packed {len(members)} files of {', '.join(info.title for info in infos)} into {archive} "
          f"({archive.stat().st_size / 2**20:,.1f} MiB).")


def unpack(archive: Path, root: Path, *, cache: bool = True) -> bool:
    """Unpack a bundle into the data folder ``root``: check every file against its ``SHA256SUMS``, then add.

    Everything is extracted into a hidden folder inside ``root`` first and removed
    from there afterwards. A damaged bundle (a file that does not match its sum,
    a missing sum, a member that would land outside ``root``) adds nothing. A file
    that ``root`` already has is never replaced. True when the data sets are usable.
    """
    work = Path(root) / f".bundle-{secrets.token_hex(4)}.unpack"
    work.mkdir()
    try:
        try:
            _extract(archive, work)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            print(f"{archive} cannot be unpacked ({error.__class__.__name__}: {error}); nothing was added.",
                  file=sys.stderr)
            return False
        problems = _sum_problems(work)
        if problems:
            print(f"{archive} is damaged: {'; '.join(problems[:3])}{' ...' if len(problems) > 3 else ''}. "
                  f"Nothing was added to {root}; copy the bundle again.", file=sys.stderr)
            return False
        infos = [info for info in registry.DATASETS.values() if (work / info.folder).is_dir()]
        if not verify(work, infos):
            print(f"Nothing was added to {root}.", file=sys.stderr)
            return False
        kept = []
        for info in infos:
            target = Path(root) / info.folder
            target.mkdir(exist_ok=True)
            for name in info.raw_files():
                if (target / name).exists():
                    kept.append(str(target / name))
                else:
                    (work / info.folder / name).replace(target / name)
        if kept:
            print(f"Kept {len(kept)} file(s) that {root} already had (never replaced): {', '.join(kept)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if cache:
        for info in infos:
            for split in SPLITS:
                load_arrays(info, split, Path(root), download=False)
    print(f"Unpacked {', '.join(info.title for info in infos)} into {root}.")
    return True


def _extract(archive: Path, destination: Path) -> None:
    """Extract a .tar(.gz) or .zip into ``destination``; members that would land outside it are refused."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                if name.startswith(("/", "\\")) or ".." in Path(name).parts:
                    raise ValueError(f"refusing to unpack {name!r} (outside the folder)")
            zipped.extractall(destination)
        return
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destination, filter="data")
            return
        for member in tar.getmembers():
            if member.name.startswith(("/", "\\")) or ".." in Path(member.name).parts or not (
                    member.isfile() or member.isdir()):
                raise ValueError(f"refusing to unpack {member.name!r} (outside the folder, or not a file)")
        tar.extractall(destination)


def _sum_problems(folder: Path) -> list[str]:
    """What in ``folder`` does not match its ``SHA256SUMS`` (every file must be listed, and match)."""
    sums_file = folder / SUMS
    if not sums_file.is_file():
        return [f"it has no {SUMS}"]
    listed = {}
    for line in sums_file.read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    present = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()} - {SUMS, README}
    problems = [f"{name} is not in {SUMS}" for name in sorted(present - set(listed))]
    problems += [f"{name} is missing" for name in sorted(set(listed) - present)]
    problems += [f"{name} does not match its SHA-256" for name in sorted(present & set(listed))
                 if _sha256(folder / name) != listed[name]]
    return problems


# ---------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------

def list_sources(infos: list[DatasetInfo]) -> None:
    """Print each file's checksums and its sources, in the order they are tried."""
    own = user_mirrors()
    if own:
        print(f"{MIRRORS_ENV} puts these first: {'; '.join(own)}")
    for info in infos:
        print(f"\n{info.title} ({info.name})")
        for remote in info.files:
            checks = ", ".join(f"{name} {value:,}" if name == "size" else f"{name} {value}"
                               for name, value in remote.checksums().items())
            print(f"  {remote.filename}: {checks}")
            for number, source in enumerate(all_sources(remote, info.folder), 1):
                print(f"    {number}. {source.url}\n       documented by: {source.documented_by}")


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    names = ", ".join(registry.DATASETS)
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.data",
        description="Get the course's data sets once, check them, and hand them to a class (one archive, or one "
                    "shared read-only folder that every student's COURSE_DATA_DIR points to).",
        epilog=f"Data sets: {names}. Your own copies first: COURSE_MIRRORS='https://host/path/ ; /a/folder'. "
               f"See docs/data.md.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    get = commands.add_parser("download", help="download data sets into a data folder (checked), and decode them once",
                              description="Download data sets into the data folder DIR: each file from its sources in "
                                          "order, checked against the official checksums; then decode each split "
                                          "once (the cache that a class reading DIR will use).")
    get.add_argument("dir", metavar="DIR", type=Path, help="the data folder (created if needed)")
    get.add_argument("names", metavar="NAME", nargs="*", help=f"data sets to download (default: all): {names}")
    get.add_argument("--all", action="store_true", help="every data set (the default when no NAME is given)")
    get.add_argument("--keep-archives", action="store_true",
                     help="also keep the downloaded archives in DIR, so that DIR can serve as a COURSE_MIRRORS folder")
    get.add_argument("--no-cache", action="store_true", help="do not decode the data sets now")
    check = commands.add_parser("verify", help="check the data sets in a folder: complete, decodable, official?",
                                description="Check each data set in DIR, reading only: every file there, every split "
                                            "decodes with the right structure and count, and whether the bytes are "
                                            "the official ones. Exit status 0 when all pass.")
    check.add_argument("dir", metavar="DIR", type=Path)
    check.add_argument("names", metavar="NAME", nargs="*", help="data sets to check (default: all)")
    check.add_argument("--official", action="store_true", help="fail unless every file is byte for byte official")
    bundle = commands.add_parser("pack", help="verify a folder, then pack it into one archive with SHA256SUMS",
                                 description="Verify DIR, then write its data sets into the archive FILE (.tar, "
                                             ".tar.gz, .tgz or .zip) with a SHA256SUMS list, for a USB stick or a "
                                             "shared drive.")
    bundle.add_argument("dir", metavar="DIR", type=Path)
    bundle.add_argument("file", metavar="FILE", type=Path)
    bundle.add_argument("names", metavar="NAME", nargs="*", help="data sets to pack (default: all)")
    restore = commands.add_parser("unpack", help="unpack a bundle into a data folder, checking every file",
                                  description="Unpack the bundle FILE into the data folder DIR: every file is checked "
                                              "against the bundle's SHA256SUMS and each data set is verified before "
                                              "anything is added; nothing already in DIR is replaced.")
    restore.add_argument("file", metavar="FILE", type=Path)
    restore.add_argument("dir", metavar="DIR", type=Path)
    restore.add_argument("--no-cache", action="store_true", help="do not decode the data sets now")
    where = commands.add_parser("sources", help="list each file's checksums and sources, in the order tried")
    where.add_argument("names", metavar="NAME", nargs="*", help="data sets (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status (0: all went well; 2: a wrong argument, refused before anything)."""
    args = _parser().parse_args(argv)
    try:
        infos = _chosen(getattr(args, "names", []), getattr(args, "all", False), args.command)
        if args.command == "sources":
            list_sources(infos)
            return 0
        if args.command in ("download", "unpack"):
            if args.command == "unpack" and not args.file.is_file():
                raise _refuse("unpack", "FILE", "a bundle made by pack (a .tar, .tar.gz, .tgz or .zip file)",
                              f"{str(args.file)!r}, which " + ("is a folder" if args.file.is_dir() else "does not exist"))
            _check_target_folder(args.dir, args.command)
            if args.command == "download":
                return 0 if download(data_dir(args.dir), infos, keep_archives=args.keep_archives,
                                     cache=not args.no_cache) else 1
            return 0 if unpack(args.file, data_dir(args.dir), cache=not args.no_cache) else 1
        _check_source_folder(args.dir, args.command)
        if args.command == "verify":
            return 0 if verify(args.dir, infos, official=args.official) else 1
        _check_bundle_name(args.file)         # (before verify's minutes)
        if not verify(args.dir, infos):
            print("Not packed: fix what verify reports, or name only the data sets to pack.", file=sys.stderr)
            return 1
        pack(args.dir, args.file, infos)
        return 0
    except (ValueError, OSError) as error:
        text = str(error)
        print(text if text.startswith(PROGRAM) else f"error: {text}", file=sys.stderr)
        return 2
