"""Fetching one file from its sources, in order: a partial name, a speed floor, resume, checksums, rename.

``fetch_file(remote, folder)`` is fastdownload's ``download_url`` (fastai/fastdownload,
``core.py``) grown up for a classroom:

1. the sources, in order: your own copies (``COURSE_MIRRORS``, URL prefixes or
   folders), then the registry's (``RemoteFile.sources``: documented copies first,
   the origin last);
2. the bytes go to ``<name>.part`` with a progress bar that names the source and
   its rate. A source that fails (an HTTP error, refused, cut, stalled: nothing
   for ``COURSE_DOWNLOAD_TIMEOUT`` seconds, or almost nothing for
   ``COURSE_DOWNLOAD_STALL``) is left for the next one; so is a source that stays
   under the speed floor (``config.speed_floor``: 1 MB/s over 10 s) while another
   source remains. The last source is never left for slowness, only for a stall;
3. the next source RESUMES the bytes already received with an HTTP ``Range``
   request; a server that cannot resume sends the whole file and the download
   starts again cleanly;
4. the file is checked against every checksum the registry has for it (size,
   MD5, SHA-256, git blob id), whichever source delivered it: a source whose
   bytes differ is rejected, nothing of it is kept, and the next source is tried;
5. only then is ``<name>.part`` renamed to ``<name>`` (atomic on one disk), and
   one line says which source delivered it and how long it took.

Errors say what happened in words and what to do: a ``DownloadError`` for the
network and the servers (listing what each source did), an ``OSError`` for the
disk (``folder_error``: full, read-only, a file where a folder should be),
because retrying the download would not help.

Example::

    fetch_file(dataset_info("fashion_mnist").files[3], Path("data/fashion-mnist"))
    # t10k-labels-idx1-ubyte.gz: 5,148 bytes in 0.2 s from storage.googleapis.com (26 kB/s), checked: size, md5, sha256.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from ..config import DATA_DIR_ENV, MIRRORS_ENV, download_stall_limit, download_timeout, speed_floor, user_mirrors
from .arrays import DISK_FULL_ERRORS, READ_ONLY_ERRORS
from .registry import RemoteFile, Source

#: Bytes read from the network and written to disk at a time.
CHUNK_SIZE = 1 << 20
#: A download that receives less than this many bytes in ``download_stall_limit()`` seconds has stalled.
STALL_MIN_BYTES = 64 * 1024
#: Some servers refuse Python's default User-Agent; this one says who is asking.
USER_AGENT = "course-utils (Python urllib; deep image classification course)"


class DownloadError(RuntimeError):
    """A download failed. The message says what happened, and what to place where to work offline."""


class _Stalled(Exception):
    """The server stopped sending (internal: becomes a reason to try the next source)."""


class _TooSlow(Exception):
    """The source stayed under the speed floor while another source remains (internal)."""


# ---------------------------------------------------------------------------
# Checking a file
# ---------------------------------------------------------------------------

def file_hashes(path: Path, algorithms: tuple[str, ...]) -> dict[str, str]:
    """The hex digests of a file, read once: ``"md5"``, ``"sha256"``, ``"git blob"`` (the id git gives its content).

    Example:
        >>> file_hashes(Path("data/cifar-10-python.tar.gz"), ("md5",))   # doctest: +SKIP
        {'md5': 'c58f30108f718f92721af3b95e74349a'}
    """
    size = Path(path).stat().st_size
    digests = {name: hashlib.sha1(b"blob %d\0" % size) if name == "git blob" else hashlib.new(name)
               for name in algorithms}
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            for digest in digests.values():
                digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """One hex digest of a file (see ``file_hashes``)."""
    return file_hashes(path, (algorithm,))[algorithm]


#: How each checksum is named for people.
_SHOWN = {"md5": "MD5", "sha256": "SHA-256", "git blob": "git blob"}


def file_problems(path: Path, remote: RemoteFile) -> list[str]:
    """Compare a file with every checksum ``remote`` promises; an empty list means "it is that file"."""
    checks = remote.checksums()
    problems = []
    if "size" in checks and Path(path).stat().st_size != checks["size"]:
        problems.append(f"{remote.filename} has {Path(path).stat().st_size:,} bytes, expected {checks['size']:,}")
    found = file_hashes(path, tuple(name for name in checks if name != "size"))
    for name, digest in found.items():
        if digest != str(checks[name]).lower():
            problems.append(f"{remote.filename} has {_SHOWN[name]} {digest}, expected {checks[name]}")
    return problems


# ---------------------------------------------------------------------------
# Talking to a server
# ---------------------------------------------------------------------------

def _size_text(n: int | None) -> str:
    if n is None:
        return "an unknown number of bytes"
    return f"{n:,} bytes" if n < 2**20 else f"{n / 2**20:,.1f} MiB"


def _rate_text(bytes_per_second: float) -> str:
    return f"{bytes_per_second / 1e6:,.1f} MB/s" if bytes_per_second >= 1e6 else f"{bytes_per_second / 1e3:,.0f} kB/s"


def _host(url: str) -> str:
    parts = urllib.request.urlparse(url)
    return parts.netloc or parts.path


def _http_error_text(error: urllib.error.HTTPError, url: str) -> str:
    status = f"HTTP {error.code} {error.reason}"
    if error.code in (404, 410):
        return f"The server has no file at {url} ({status}): the address may have changed."
    if error.code in (401, 403):
        return (f"The server refuses to send {url} ({status}). Some sites block downloads from scripts or "
                f"from some networks.")
    if error.code == 429:
        return f"The server says there were too many requests for {url} ({status}): wait a few minutes, then retry."
    if error.code >= 500:
        return f"The server of {url} has a problem of its own ({status}): try again later, or use a mirror."
    return f"The server answered {status} for {url}."


def _network_error_text(error: BaseException, url: str, timeout: float) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    host = _host(url)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return (f"The server {host} did not answer within {timeout:g} s: it stopped answering, or the "
                f"network is very slow.")
    if isinstance(reason, ConnectionRefusedError):
        return (f"The connection to {host} was refused (ConnectionRefusedError): the server is down or the "
                f"address is wrong.")
    if isinstance(reason, socket.gaierror):
        return f"The host name {host} cannot be looked up ({reason}): are you offline, or is the address misspelt?"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"The certificate of {host} cannot be verified ({reason.verify_message}). On macOS, run "
                f"'Install Certificates.command' from your Python folder once; behind a company proxy, ask "
                f"its administrators.")
    return f"Could not download {url} ({reason.__class__.__name__}: {reason}). Are you offline, or is the site down?"


def _open(url: str, timeout: float, start: int = 0) -> tuple[http.client.HTTPResponse, int]:
    """Open ``url`` asking for the bytes from ``start`` on; return the response and where it really starts.

    A server that answers a ``Range`` request with the whole file (or cannot
    satisfy it) starts at 0: the download then starts again cleanly.
    """
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and start:   # "range not satisfiable": ask for the whole file
            return _open(url, timeout, 0)
        raise DownloadError(_http_error_text(error, url)) from None
    except (TimeoutError, socket.timeout) as error:   # no headers in time (urllib does not wrap this one)
        raise DownloadError(_network_error_text(error, url, timeout)) from None
    except urllib.error.URLError as error:
        raise DownloadError(_network_error_text(error, url, timeout)) from None
    except (http.client.HTTPException, ConnectionError) as error:   # e.g. closed before any answer
        raise DownloadError(f"The server of {url} closed the connection without a proper answer "
                            f"({error.__class__.__name__}: {error}). Try again later, or use a mirror.") from None
    except ValueError as error:   # not a URL at all
        raise DownloadError(f"{url!r} is not a download address ({error}).") from None
    if start and not (getattr(response, "status", None) == 206 and
                      (response.headers.get("Content-Range") or "").startswith(f"bytes {start}-")):
        return response, 0
    return response, start


def _promised_length(response: http.client.HTTPResponse) -> int | None:
    try:
        return int(response.headers.get("Content-Length"))
    except (TypeError, ValueError):
        return None


def _copy_body(response: http.client.HTTPResponse, out: BinaryIO, bar, timeout: float, stall_limit: float,
               floor: float, window: float) -> int:
    """Copy the response body into ``out`` chunk by chunk; return the number of bytes.

    Raises ``_Stalled`` when the server sends nothing for ``timeout`` seconds or
    less than ``STALL_MIN_BYTES`` in ``stall_limit`` seconds, and ``_TooSlow``
    when it delivers less than ``floor`` bytes per second over ``window`` seconds
    (``floor`` 0: never). OSErrors from writing are tagged ``writing = True``.
    """
    received = 0
    stall_start = rate_start = time.monotonic()
    stall_bytes = rate_bytes = 0
    while True:
        try:
            chunk = response.read1(CHUNK_SIZE)
        except (TimeoutError, socket.timeout):
            raise _Stalled(f"no data for {timeout:g} s after {_size_text(received)}") from None
        if not chunk:
            return received
        try:
            out.write(chunk)
        except OSError as error:
            error.writing = True   # type: ignore[attr-defined]  # tell disk errors from network errors
            raise
        received += len(chunk)
        stall_bytes += len(chunk)
        rate_bytes += len(chunk)
        bar.update(len(chunk))
        now = time.monotonic()
        if stall_bytes >= STALL_MIN_BYTES:
            stall_start, stall_bytes = now, 0
        elif now - stall_start > stall_limit:
            raise _Stalled(f"less than {_size_text(STALL_MIN_BYTES)} in the last {stall_limit:g} s "
                           f"({_size_text(received)} received in all)")
        if now - rate_start >= window:
            rate = rate_bytes / (now - rate_start)
            if rate < floor:
                raise _TooSlow(f"{_rate_text(rate)} over {now - rate_start:.1f} s, under the floor of "
                               f"{_rate_text(floor)}")
            rate_start, rate_bytes = now, 0


def _advice(by_hand: str) -> str:
    return ("\nWhat you can do:\n"
            "- run the cell again: a stalled or busy server often answers on a second try;\n"
            f"- or put your own copy first: set {MIRRORS_ENV} to a mirror (another address that serves the same "
            "file) or to a folder that holds it (see docs/data.md);\n"
            "- or download the file in a browser and place it by hand.\n" + by_hand)


# ---------------------------------------------------------------------------
# One file, from its sources in order
# ---------------------------------------------------------------------------

def all_sources(remote: RemoteFile, dataset_folder: str = "") -> list[Source]:
    """Where to get ``remote``, in order: your own copies (``COURSE_MIRRORS``), then the registry's sources.

    A folder in ``COURSE_MIRRORS`` counts when it holds the file, directly or in
    the data set's folder inside it (so a data folder works as it is).

    Example:
        >>> [s.url for s in all_sources(dataset_info("cifar10").files[0])][-1]   # doctest: +SKIP
        'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
    """
    own = []
    for entry in user_mirrors():
        if "://" in entry:
            own.append(Source(entry.rstrip("/") + "/" + remote.filename, f"your {MIRRORS_ENV}"))
            continue
        folder = Path(entry).expanduser().absolute()
        candidates = (folder / remote.filename, folder / dataset_folder / remote.filename)
        found = [path for path in candidates if path.is_file()]
        if found:
            own.append(Source(found[0].as_uri(), f"your {MIRRORS_ENV}"))
    return own + list(remote.sources())


def fetch_file(remote: RemoteFile, folder: Path, *, shown: Path | None = None, by_hand: str | None = None,
               dataset_folder: str = "") -> Path:
    """Download ``remote`` into ``folder`` from the first of its sources that delivers it; return the file.

    ``shown`` is the folder named in messages (default ``folder``) and ``by_hand``
    says how to place the file by hand. On failure a ``DownloadError`` lists what
    each source did, and neither a ``.part`` file nor a folder this call created is
    left; a full or read-only disk is an
    ``OSError`` (see ``folder_error``). A ``.part`` file already in ``folder``
    (left by a download that was killed) is resumed.

    Example:
        >>> fetch_file(dataset_info("fashion_mnist").files[3], Path("data/fashion-mnist"))   # doctest: +SKIP
        t10k-labels-idx1-ubyte.gz: 5,148 bytes in 0.2 s from storage.googleapis.com (26 kB/s), checked: ...
        PosixPath('data/fashion-mnist/t10k-labels-idx1-ubyte.gz')
    """
    folder = Path(folder)
    shown = Path(shown) if shown is not None else folder
    by_hand = by_hand or f"put {remote.filename} (from {remote.url}) into the folder {shown}"
    settings = (download_timeout(), download_stall_limit(), *speed_floor())   # (checked before any request)
    sources = all_sources(remote, dataset_folder)
    target, part = folder / remote.filename, folder / f"{remote.filename}.part"
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()]   # removed again on failure
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise folder_error(error, shown, f"the download of {remote.filename}", by_hand) or error from None
    reasons, began = [], time.monotonic()
    first_host = "an earlier, interrupted download" if part.is_file() else None   # who sent the first bytes
    try:
        for number, source in enumerate(sources):
            last = number == len(sources) - 1
            reason, start, rejected = _from_source(source.url, part, remote, settings, last, shown, by_hand)
            if rejected and start > 0:   # a resumed file failed its checks: the earlier bytes may be the bad ones
                reason, start, rejected = _from_source(source.url, part, remote, settings, last, shown, by_hand)
            if reason is None:
                os.replace(part, target)
                _say_done(remote, target, source.url, began, first_host if start else None)
                return target
            reasons.append((source.url, reason))
            if start == 0 and part.is_file():
                first_host = _host(source.url)
            if not last:
                kept = part.stat().st_size if part.is_file() else 0
                print(f"{reason.splitlines()[0]}\n  -> trying {_host(sources[number + 1].url)}"
                      + (f", resuming after the {_size_text(kept)} received" if kept else ""), flush=True)
    except BaseException:
        _clean_up(part, created)
        raise
    _clean_up(part, created)
    if len(reasons) == 1:
        raise DownloadError(f"{reasons[0][1]}{_advice(by_hand)}")
    listed = "\n".join(f"- {_host(url)}: {reason}" for url, reason in reasons)
    raise DownloadError(f"None of the {len(reasons)} sources of {remote.filename} delivered it:\n{listed}"
                        f"{_advice(by_hand)}")


def _clean_up(part: Path, created: list[Path]) -> None:
    """After a failure: no ``.part`` file, and the folders this download created removed again if empty."""
    part.unlink(missing_ok=True)
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _from_source(url: str, part: Path, remote: RemoteFile, settings: tuple[float, float, float, float],
                 last: bool, shown: Path, by_hand: str) -> tuple[str | None, int, bool]:
    """Add to ``part`` what ``url`` sends, then check it: (why it is not the file or None, where it started, rejected).

    Bytes received are kept after a cut, a stall or slowness (the next source may
    resume them), and deleted when the finished file fails its checksums
    (``rejected``). ``part`` starts where it ends now, or at 0 if the server
    cannot resume.
    """
    from tqdm import tqdm   # imported here: only downloads need it

    timeout, stall_limit, floor, window = settings
    start = part.stat().st_size if part.is_file() else 0
    print(f"Downloading {remote.filename} from {url}" + (f" (resuming at {_size_text(start)})" if start else ""),
          flush=True)
    try:
        response, resumed_at = _open(url, timeout, start)
    except DownloadError as error:
        return str(error), start, False
    if start and not resumed_at:
        print(f"{_host(url)} cannot resume a download: starting again from the first byte.", flush=True)
    start = resumed_at
    expected = _promised_length(response)
    total = start + expected if expected is not None else remote.size
    try:
        out = open(part, "ab" if start else "wb")
    except OSError as error:
        response.close()
        raise folder_error(error, shown, f"the download of {remote.filename}", by_hand) or error from None
    try:
        with response, out, tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                                 desc=f"{remote.filename} from {_host(url)}", mininterval=0.5, leave=True) as bar:
            received = _copy_body(response, out, bar, timeout, stall_limit, 0.0 if last else floor, window)
    except _Stalled as stalled:
        return f"The server stopped answering while sending {url} ({stalled}).", start, False
    except _TooSlow as slow:
        return f"{_host(url)} is too slow ({slow}).", start, False
    except OSError as error:
        if getattr(error, "writing", False):   # the disk, not the network
            raise folder_error(error, shown, f"the download of {remote.filename} ({_size_text(total)})",
                               by_hand) or error from None
        return f"The connection was cut while downloading {url} ({error.__class__.__name__}: {error}).", start, False
    except http.client.HTTPException as error:   # IncompleteRead, a broken chunked body ...
        return f"The connection was cut while downloading {url} ({error.__class__.__name__}).", start, False
    if expected is not None and received != expected:
        return (f"The connection was cut while downloading {url}: {_size_text(received)} of the "
                f"{_size_text(expected)} the server promised arrived.", start, False)
    problems = file_problems(part, remote)
    if problems:
        part.unlink()
        return (f"The download of {url} is damaged or incomplete ({_size_text(start + received)} received): "
                f"{'; '.join(problems)}. It was deleted: nothing of it is kept.", start, True)
    return None, start, False


def _say_done(remote: RemoteFile, target: Path, url: str, began: float, resumed_from: str | None) -> None:
    """The closing line: which source delivered the file, how big, how long, what was checked."""
    seconds = max(time.monotonic() - began, 1e-3)
    size = target.stat().st_size
    resumed = f"; it resumed the bytes from {resumed_from}" if resumed_from else ""
    print(f"{remote.filename}: {_size_text(size)} in {seconds:.1f} s from {_host(url)} "
          f"({_rate_text(size / seconds)}{resumed}), checked: {', '.join(remote.checksums()) or 'no checksum known'}.",
          flush=True)


# ---------------------------------------------------------------------------
# A folder that cannot be written
# ---------------------------------------------------------------------------

def folder_error(error: OSError, folder: Path, doing: str, then: str = "") -> OSError | None:
    """An error that says what to do, for an OSError raised while writing ``doing`` into ``folder``.

    A ``PermissionError`` for a folder that may not be written, an ``OSError``
    (errno ENOSPC) for a full disk and a ``NotADirectoryError`` for a path that
    runs through a file, each naming the folder and the remedy; None for any
    other error (the caller re-raises it). ``then`` is added, except for a full disk.

    Example::

        try:
            folder.mkdir()
        except OSError as error:
            raise folder_error(error, folder, "the CIFAR-10 download") or error
    """
    extra = f"\n{then}" if then else ""
    other_folder = f"set {DATA_DIR_ENV} (or pass root=) to a folder you can write to"
    if error.errno in DISK_FULL_ERRORS:
        message = (f"The disk is full: there is no space left for {doing} in {folder} ({_free_space(folder)}). "
                   f"Nothing was kept. Free some space (delete files you no longer need, e.g. old checkpoints or "
                   f"the data/cache folder), or {other_folder} on another disk, then run the cell again.")
        cls: type[OSError] = OSError
    elif error.errno in READ_ONLY_ERRORS:
        message = (f"The data folder {folder} is read-only for you, so {doing} cannot be written there "
                   f"({error.strerror}). If it is a shared copy, ask whoever manages it to add the files "
                   f"(python -m course_utils.data verify tells them what is missing), or {other_folder}, then run "
                   f"the cell again.{extra}")
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
    for candidate in (*reversed(Path(folder).parents), Path(folder)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def _free_space(folder: Path) -> str:
    for candidate in (Path(folder), *Path(folder).parents):
        if candidate.is_dir():
            with contextlib.suppress(OSError):
                free = shutil.disk_usage(candidate).free
                return f"{free / 2**20:,.1f} MiB free" if free < 2**30 else f"{free / 2**30:,.1f} GiB free"
            break
    return "free space unknown"
