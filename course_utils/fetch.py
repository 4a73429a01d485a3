"""Downloading one file over HTTP(S): with timeouts, a progress bar, and a checksum check at the end.

``fetch_to(remote, folder)`` is all there is to it:

1. open the URL with ``urllib`` and a timeout (``config.download_timeout()``,
   30 s unless ``COURSE_DOWNLOAD_TIMEOUT`` says otherwise): a server that does
   not connect, or does not send its headers, in that time is given up on;
2. copy the body in chunks of 1 MiB into a temporary file (its name carries
   this process's ID and computer, see ``folders.temporary_name``), with a
   ``tqdm`` progress bar. The same timeout applies to every wait for the next
   bytes, and a server that trickles (less than 64 KiB in
   ``config.download_stall_limit()`` seconds, 120 s by default) is given up on
   as well, so a stalled server can never hang a lecture;
3. check the size against the ``Content-Length`` the server promised, then
   the size and checksum (MD5 or SHA-256) that the registry promises;
4. only then rename the file to its real name (atomic on one disk).

Every problem ends in a ``DownloadError`` that says what happened in words
(the server stopped answering, refused the connection, has no such file ...)
and what to do; a full disk or a read-only folder is an ``OSError`` instead
(see ``folders.folder_error``), because retrying the download will not help.

Example:
    >>> from pathlib import Path
    >>> from course_utils.datasets import dataset_info
    >>> remote = dataset_info("fashion_mnist").files[3]
    >>> fetch_to(remote, Path("data/fashion-mnist"))   # doctest: +SKIP
    PosixPath('data/fashion-mnist/t10k-labels-idx1-ubyte.gz')
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import BinaryIO

from .config import download_stall_limit, download_timeout
from .datasets import RemoteFile
from .folders import folder_error, make_temporary_folder

#: Bytes read from the network and written to disk at a time.
CHUNK_SIZE = 1 << 20
#: A download that receives less than this many bytes in ``download_stall_limit()`` seconds has stalled.
STALL_MIN_BYTES = 64 * 1024
#: Some servers refuse Python's default User-Agent; this one says who is asking.
USER_AGENT = "course-utils (Python urllib; deep image classification course)"


class DownloadError(RuntimeError):
    """A download failed. The message says what happened, and what to place where to work offline."""


class _Stalled(Exception):
    """The server stopped sending (internal: turned into a DownloadError with advice)."""


# ---------------------------------------------------------------------------
# Checking a file
# ---------------------------------------------------------------------------

def file_hash(path: Path, algorithm: str = "md5", chunk_size: int = CHUNK_SIZE) -> str:
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
# Talking to the server
# ---------------------------------------------------------------------------

def _size_text(n: int | None) -> str:
    if n is None:
        return "an unknown number of bytes"
    return f"{n:,} bytes" if n < 2**20 else f"{n / 2**20:,.1f} MiB"


def _http_error_text(error: urllib.error.HTTPError, url: str) -> str:
    """Words for an HTTP error status."""
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
    """Words for a failure to connect (refused, unknown host, timeout, certificate ...)."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    host = urllib.request.urlparse(url).netloc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return (f"The server {host} did not answer within {timeout:g} s: it stopped answering, or the "
                f"network is very slow.")
    if isinstance(reason, ConnectionRefusedError):
        return (f"The connection to {host} was refused (ConnectionRefusedError): the server is down or the "
                f"address is wrong.")
    if isinstance(reason, socket.gaierror):
        return (f"The host name {host} cannot be looked up ({reason}): are you offline, or is the address "
                f"misspelt?")
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"The certificate of {host} cannot be verified ({reason.verify_message}). On macOS, run "
                f"'Install Certificates.command' from your Python folder once; behind a company proxy, ask "
                f"its administrators.")
    return f"Could not download {url} ({reason.__class__.__name__}: {reason}). Are you offline, or is the site down?"


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    """Open ``url`` (following redirects); errors become DownloadError with words for people."""
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
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


def _promised_length(response: http.client.HTTPResponse) -> int | None:
    length = response.headers.get("Content-Length")
    try:
        return int(length) if length is not None else None
    except ValueError:
        return None


def _copy_body(response: http.client.HTTPResponse, out: BinaryIO, url: str, expected: int | None,
               timeout: float, stall_limit: float) -> int:
    """Copy the response body into ``out`` chunk by chunk; return the number of bytes.

    Raises ``_Stalled`` when the server sends nothing for ``timeout`` seconds, or
    less than ``STALL_MIN_BYTES`` in ``stall_limit`` seconds; ``ConnectionError``
    and ``http.client`` errors pass through; OSErrors from writing are tagged
    with ``writing = True``.
    """
    from tqdm import tqdm   # imported here: only downloads need it

    received = 0
    window_start, window_bytes = time.monotonic(), 0
    name = url.rsplit("/", 1)[-1] or url
    with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024, desc=name, mininterval=0.5,
              disable=False, leave=True) as bar:
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
            bar.update(len(chunk))
            window_bytes += len(chunk)
            now = time.monotonic()
            if window_bytes >= STALL_MIN_BYTES:
                window_start, window_bytes = now, 0
            elif now - window_start > stall_limit:
                raise _Stalled(f"less than {_size_text(STALL_MIN_BYTES)} in the last {stall_limit:g} s "
                               f"({_size_text(received)} received in all)")


def _advice(what_to_place: str) -> str:
    return ("\nWhat you can do:\n"
            "- run the cell again: a stalled or busy server often answers on a second try;\n"
            "- or get the file from a mirror (another address that serves the same file), or in a browser, "
            "and place it by hand.\n" + what_to_place)


# ---------------------------------------------------------------------------
# Downloading one file
# ---------------------------------------------------------------------------

def fetch_to(remote: RemoteFile, folder: Path, *, shown_folder: Path | None = None,
             by_hand: str | None = None) -> Path:
    """Download ``remote`` into ``folder`` and return ``folder / remote.filename``.

    The file is written to a temporary folder inside ``folder``, checked, and
    renamed into place; on any failure the temporary folder is removed and a
    ``DownloadError`` (network, server, damaged file) or an ``OSError`` (full
    disk, read-only folder: see ``folders.folder_error``) is raised, whose
    message names the URL and the folder. A checksum mismatch is an error, unless
    ``remote.warn_only`` is True: then it is a warning (for files whose published
    checksum is not confirmed).

    ``shown_folder`` is the folder named in messages (default ``folder``; a data
    set's download passes its data folder, not its own temporary folder), and
    ``by_hand`` says how to place the file by hand. The folder (and its parents)
    is created if needed; the caller removes it again after a failure if it wants to.
    """
    folder = Path(folder)
    shown = Path(shown_folder) if shown_folder is not None else folder
    by_hand = by_hand or f"put {remote.filename} (from {remote.url}) into the folder {shown}"
    timeout, stall_limit = download_timeout(), download_stall_limit()
    what = f"the download of {remote.filename}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp = make_temporary_folder(folder, "partial", remote.filename)
    except OSError as error:
        raise folder_error(error, shown, what, by_hand) or error from None
    downloaded = temp / remote.filename
    try:
        print(f"Downloading {remote.url}", flush=True)
        try:
            response = _open(remote.url, timeout)
        except DownloadError as error:
            raise DownloadError(f"{error}{_advice(by_hand)}") from None
        expected = _promised_length(response)
        try:
            out = open(downloaded, "wb")
        except OSError as error:
            response.close()
            raise folder_error(error, shown, what, by_hand) or error from None
        try:
            with response, out:
                received = _copy_body(response, out, remote.url, expected, timeout, stall_limit)
        except _Stalled as stalled:
            raise DownloadError(f"The server stopped answering while sending {remote.url} ({stalled}). "
                                f"Nothing was kept.{_advice(by_hand)}") from None
        except OSError as error:
            if getattr(error, "writing", False):   # the disk, not the network
                raise folder_error(error, shown, f"{what} ({_size_text(expected)})", by_hand) or error from None
            raise DownloadError(f"The connection was cut while downloading {remote.url} "
                                f"({error.__class__.__name__}: {error}). Nothing was kept. "
                                f"{_advice(by_hand)}") from None
        except http.client.HTTPException as error:   # IncompleteRead, a broken chunked body ...
            raise DownloadError(f"The connection was cut while downloading {remote.url} "
                                f"({error.__class__.__name__}). Nothing was kept.{_advice(by_hand)}") from None
        if expected is not None and received != expected:
            raise DownloadError(f"The connection was cut while downloading {remote.url}: {_size_text(received)} "
                                f"of the {_size_text(expected)} the server promised arrived. Nothing was kept. "
                                f"{_advice(by_hand)}")
        problems = file_problems(downloaded, remote)
        if problems and not remote.warn_only:
            raise DownloadError(
                f"The download of {remote.url} is damaged or incomplete ({_size_text(received)} received): "
                f"{'; '.join(problems)}. It was deleted; try again later, or use a mirror.{_advice(by_hand)}"
            )
        if problems:
            warnings.warn(
                f"{'; '.join(problems)} (the published checksum belongs to the original file and is "
                f"not confirmed for {remote.url}; the file's structure is checked instead).",
                stacklevel=4,
            )
        target = folder / remote.filename
        try:
            os.replace(downloaded, target)
        except OSError as error:
            raise folder_error(error, shown, what, by_hand) or error from None
        return target
    finally:
        shutil.rmtree(temp, ignore_errors=True)
