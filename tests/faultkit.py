"""Tools for the fault suite (tests/test_faults_*.py): a web server that misbehaves on request,
an exact picture of a folder, and child processes without write permission or with a tiny disk.

- ``FaultServer``: a web server on 127.0.0.1 that serves a folder and, per file name,
  can answer with an HTTP error, stall before the headers or in the middle of the
  body, trickle, cut or reset the connection, corrupt the body, redirect, or answer
  with garbage. It answers ``Range: bytes=N-`` requests with 206 (unless told not
  to, ``ranges=False``), counts the requests for each file and records where each
  asked to start. Every wait is bounded and ends when the test ends.
- ``snapshot(folder)``: every path under a folder with its size and SHA-256, to
  assert that a failure left the folder exactly as it was.
- ``run_child(code, ...)``: run Python code in a fresh interpreter, optionally
  without the capabilities that let root write anywhere (``setpriv``), or with a
  private tmpfs of a given size mounted over a folder (``unshare``), and return
  what the code printed as JSON.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------
# An exact picture of a folder
# ---------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, tuple]:
    """{relative path: ("dir",) | ("file", size, sha256) | ("link", target)} for everything under ``folder``."""
    folder = Path(folder)
    picture: dict[str, tuple] = {}
    if not folder.exists():
        return picture
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            picture[name] = ("link", os.readlink(path))
        elif path.is_dir():
            picture[name] = ("dir",)
        else:
            picture[name] = ("file", path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return picture


def names(folder: Path) -> list[str]:
    """The relative paths under ``folder``, sorted (hidden ones included)."""
    return sorted(snapshot(folder))


# ---------------------------------------------------------------------------
# A web server that misbehaves on request
# ---------------------------------------------------------------------------

@dataclass
class Behaviour:
    """How the server answers for one file name (see ``FaultServer.behave``)."""

    kind: str = "normal"
    status: int = 200
    after: int = 0            # bytes sent before stalling / cutting / resetting
    seconds: float = 0.0      # how long a stall lasts (bounded by the test's end)
    chunk: int = 0            # trickle / slow: bytes per step
    pause: float = 0.0        # trickle / slow: seconds between steps
    body: bytes | None = None # replaces the file's bytes
    location: str = ""        # redirect target
    ranges: bool = True       # answer "Range: bytes=N-" with 206 and the rest of the file


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:   # quiet
        pass

    def do_GET(self) -> None:
        server: FaultServer = self.server.fault   # type: ignore[attr-defined]
        name = self.path.lstrip("/").split("?")[0]
        b = server.behaviours.get(name, Behaviour())
        asked = self.headers.get("Range", "")
        start = int(asked[len("bytes="):-1]) if asked.startswith("bytes=") and asked.endswith("-") else 0
        with server.lock:
            server.requests[name] += 1
            server.starts[name].append(start)
        stop = server.stop
        path = server.folder / name
        body = b.body if b.body is not None else (path.read_bytes() if path.is_file() else None)
        if b.kind == "stall_before_headers":
            stop.wait(b.seconds)
            return self._close()
        if b.kind == "no_answer":                       # close at once, without a status line
            return self._close()
        if b.kind == "garbage":
            self.wfile.write(b"HELLO, THIS IS NOT HTTP\r\n\r\n")
            return self._close()
        if b.kind == "status":
            payload = f"<html><body>{b.status}</body></html>".encode()
            self.send_response(b.status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if b.kind == "redirect":
            self.send_response(302)
            self.send_header("Location", b.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        total = len(body)
        if start and b.ranges:
            if start >= total:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{total}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = body[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
        else:
            self.send_response(200)
        if b.kind != "no_length":
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            if b.kind == "stall_mid_body":
                self.wfile.write(body[:b.after])
                self.wfile.flush()
                stop.wait(b.seconds)
                return self._close()
            if b.kind == "cut":
                self.wfile.write(body[:b.after])
                return self._close()
            if b.kind == "reset":
                self.wfile.write(body[:b.after])
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return self._close()
            if b.kind in ("trickle", "slow"):
                for start in range(0, len(body), b.chunk):
                    if stop.is_set():
                        return self._close()
                    self.wfile.write(body[start:start + b.chunk])
                    self.wfile.flush()
                    stop.wait(b.pause)
                return
            self.wfile.write(body)
            if b.kind == "no_length":
                self._close()
        except (BrokenPipeError, ConnectionResetError):   # the client gave up: that is the point
            self.close_connection = True

    def _close(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FaultServer:
    """A web server on 127.0.0.1 serving ``folder``, misbehaving per file name; counts requests."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: Counter[str] = Counter()
        self.starts: dict[str, list[int]] = defaultdict(list)   # per file: where each request asked to start
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fault = self   # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def serve(self, path: Path, name: str | None = None) -> str:
        """Copy ``path`` into the served folder and return its URL."""
        name = name or Path(path).name
        shutil.copy(path, self.folder / name)
        return self.url(name)

    def behave(self, name: str, kind: str, **settings: object) -> None:
        """Make the server answer requests for ``name`` in a particular (mis)way."""
        self.behaviours[name] = Behaviour(kind=kind, **settings)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@contextlib.contextmanager
def serving(folder: Path):
    """A ``FaultServer`` serving the new folder ``folder`` for the ``with`` block."""
    folder.mkdir()
    server = FaultServer(folder)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fault_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A ``FaultServer`` for one test (no proxy in the way)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(tmp_path / "served") as server:
        yield server


@pytest.fixture
def second_server(tmp_path: Path, fault_server: FaultServer):
    """A second ``FaultServer`` on another port (another host in messages), e.g. a mirror."""
    with serving(tmp_path / "served-2") as server:
        yield server


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> tuple[float, float]:
    """Downloads give up after 0.5 s of silence and 1 s of trickling, so that every test ends in seconds.

    The speed floor is scaled down too: a source that delivers less than 100 kB/s over 0.5 s is
    left for the next one (the tiny archives here are about 100 kB).
    """
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "0.5")
    monkeypatch.setenv("COURSE_DOWNLOAD_STALL", "1.0")
    monkeypatch.setenv("COURSE_SPEED_FLOOR", "100000")
    monkeypatch.setenv("COURSE_SPEED_WINDOW", "0.5")
    monkeypatch.delenv("COURSE_MIRRORS", raising=False)
    return 0.5, 1.0


def timed(function, *args, **kwargs) -> tuple[object, float]:
    """(what ``function`` raised or returned, seconds it took)."""
    start = time.monotonic()
    try:
        result = function(*args, **kwargs)
    except BaseException as error:   # noqa: BLE001 (the caller inspects it)
        result = error
    return result, time.monotonic() - start


# ---------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------

#: Put before a child's code to import modules of course_utils without its __init__, which imports
#: everything (torch, matplotlib, torchsummary ...): a child that only downloads starts in a fraction
#: of a second instead of seconds.
WITHOUT_PACKAGE_INIT = f"""
import sys, types
_package = types.ModuleType("course_utils")
_package.__path__ = [{str(REPO / "course_utils")!r}]
sys.modules["course_utils"] = _package
"""


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def drop_write_capabilities_prefix() -> list[str] | None:
    """A command prefix under which root cannot write to folders it is denied (None where impossible).

    As root, ``chmod a-w`` stops nothing: the capability CAP_DAC_OVERRIDE lets
    root write anyway. ``setpriv --inh-caps=-all --bounding-set=-all`` starts the
    child without any capabilities (it stays uid 0, so it can still read the test's
    private folders). A user that is not root needs no prefix at all.
    """
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]
    if shutil.which("setpriv") is None:
        return None
    probe = Path(f"/tmp/.faultkit-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        probe.chmod(0o555)
        denied = not _works(prefix + ["sh", "-c", f"touch {probe}/x"])
    finally:
        probe.chmod(0o755)
        shutil.rmtree(probe, ignore_errors=True)
    return prefix if denied else None


def small_disk_prefix(mount_point: Path, size_kib: int) -> list[str] | None:
    """A command prefix that runs the child with a private ``size_kib`` KiB tmpfs on ``mount_point``.

    ``unshare --mount`` gives the child its own mount table, so the tmpfs exists
    only for it and disappears with it. None where mounting is not allowed.
    """
    if shutil.which("unshare") is None:
        return None
    if not _works(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   f"mount -t tmpfs -o size=16k tmpfs {mount_point} && umount {mount_point}"]):
        return None
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'mount -t tmpfs -o size={size_kib}k tmpfs "$0" && exec "$@"', str(mount_point)]


def run_child(code: str, *, prefix: list[str] | None = None, env: dict[str, str] | None = None,
              timeout: float = 120) -> object:
    """Run ``code`` (which prints one JSON line last) in a fresh Python; return that JSON."""
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO), child_env.get("PYTHONPATH", "")])
    child_env.setdefault("OMP_NUM_THREADS", "1")
    command = [*(prefix or []), sys.executable, "-c", textwrap.dedent(code)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=child_env, cwd=REPO)
    assert result.returncode == 0, f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, compute) -> object:
    """``compute()`` (JSON-able) once per test run, shared by all pytest-xdist workers.

    Under xdist every worker runs module fixtures on its own; a child process that
    takes seconds would then run once per worker. The workers of one run share the
    parent of their temporary folders, so the first one computes and saves the
    result there (under a lock) and the others read it (the pattern of the
    pytest-xdist documentation). Without xdist, it simply computes.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return compute()
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / f"faultkit-{name}.json"
    with FileLock(str(shared) + ".lock"):
        if shared.is_file():
            return json.loads(shared.read_text())
        result = compute()
        shared.write_text(json.dumps(result))
        return result


def start_child(code: str, *, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``code`` in a fresh Python (a spawned process) without waiting for it."""
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO), child_env.get("PYTHONPATH", "")])
    child_env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env, cwd=REPO)
