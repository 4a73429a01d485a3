"""Shared pytest set-up.

- a non-interactive matplotlib backend for every test;
- every test runs with its own empty data directory (``COURSE_DATA_DIR``), its
  own per-user cache folder (``XDG_CACHE_HOME``), and with ``COURSE_FAST``,
  ``COURSE_SYNTHETIC_FALLBACK``, ``COURSE_MIRRORS`` and the speed-floor settings
  unset, so that nothing depends on the machine's environment; tests that want the real data use the
  ``real_data_dir`` fixture (or pass ``root=`` themselves);
- ``http_server``: a small web server on 127.0.0.1 that serves a temporary
  folder, to test downloads without the internet; ``refused_url``: a URL
  whose connection is refused;
- generated files in the real formats: a tiny CIFAR-10 archive, tiny
  Sign-Language MNIST CSVs and tiny Fashion-MNIST IDX files.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import socket
import struct
import tarfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

import course_utils  # noqa: E402  (after choosing the backend)
from course_utils.data.arrays import SIGN_COLUMNS  # noqa: E402
from course_utils.data.registry import DATASETS, DatasetInfo, RemoteFile  # noqa: E402

#: The repository's data folder, found from the package (not from the environment).
REAL_DATA_DIR = Path(course_utils.__file__).resolve().parents[1] / "data"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------------------
# Environment isolation
# ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Give each test an empty data directory and cache folder; switch fast/synthetic modes and mirrors off."""
    data = tmp_path / "course-data"
    data.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))   # never the real ~/.cache
    for variable in ("COURSE_FAST", "COURSE_SYNTHETIC_FALLBACK", "COURSE_MIRRORS", "COURSE_SPEED_FLOOR",
                     "COURSE_SPEED_WINDOW"):
        monkeypatch.delenv(variable, raising=False)
    return data


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test left open, to save memory."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def kernel():
    """A running IPython kernel that tests talk to as a notebook front end does (see tests/ipython_kernel.py)."""
    from ipython_kernel import start_kernel   # (skips the tests that use it when jupyter_client is missing)

    running = start_kernel()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def data_root(isolated_env: Path) -> Path:
    """The empty data directory that COURSE_DATA_DIR points to in this test."""
    return isolated_env


@pytest.fixture
def course_data(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's data folder and the labelled synthetic stand-in where real data is absent.

    For tests that run whole lectures in a kernel (which inherits this environment); the
    tools that run them switch fast mode on themselves (``COURSE_FAST=1`` in the kernel).
    """
    monkeypatch.setenv("COURSE_DATA_DIR", str(REAL_DATA_DIR))
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    return REAL_DATA_DIR


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The repository's data folder with the real CIFAR-10 files; skips when they are absent."""
    folder = REAL_DATA_DIR / "cifar-10-batches-py"
    if not (folder / "data_batch_1").is_file():
        pytest.skip(f"real CIFAR-10 not found in {folder} (build it with shared/data/build_cifar10.py)")
    return REAL_DATA_DIR


@pytest.fixture(scope="session")
def fashion_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory for the real Fashion-MNIST (read from the Debian copy; cached here)."""
    if not (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST system copy not found in {FASHION_SYSTEM_DIR} "
                    f"(apt-get install dataset-fashion-mnist)")
    return tmp_path_factory.mktemp("fashion-data")


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones included), to compare before and after."""
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*"))


# ---------------------------------------------------------------------------
# A local web server
# ---------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the server's folder; can also cut a response short on purpose."""

    def log_message(self, format: str, *args: object) -> None:   # keep test output quiet
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        cut = self.server.cut_after.get(name)   # type: ignore[attr-defined]
        if cut is None:
            return super().do_GET()
        body = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))   # promise everything ...
        self.end_headers()
        self.wfile.write(body[:cut])                         # ... send only the start
        self.close_connection = True


@dataclass
class LocalServer:
    """A web server on 127.0.0.1 serving ``folder``; put files there, then use ``url(name)``."""

    folder: Path
    port: int
    cut_after: dict[str, int]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Start a local web server in a thread for one test."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")   # never go through a proxy
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    folder = tmp_path / "served"
    folder.mkdir()

    def handler(*args, **kwargs):
        return _Handler(*args, directory=str(folder), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.cut_after = {}   # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LocalServer(folder=folder, port=server.server_address[1], cut_after=server.cut_after)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def refused_url(monkeypatch: pytest.MonkeyPatch) -> str:
    """A URL on 127.0.0.1 whose port was bound and closed again: connecting is refused."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


def md5_of(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# Tiny CIFAR-10 in the official "python version" layout
# ---------------------------------------------------------------------------

TINY_CIFAR_PER_BATCH = 4     # 5 training batches -> 20 training images
TINY_CIFAR_TEST = 10


def write_cifar_batch(path: Path, data: np.ndarray, labels: list[int]) -> None:
    """Pickle one batch as the official files are (Python 2 style, keys as bytes)."""
    batch = {b"batch_label": b"tiny", b"labels": labels, b"data": data,
             b"filenames": [b"img%d.png" % i for i in range(len(labels))]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def write_tiny_cifar_folder(folder: Path, seed: int = 0) -> Path:
    """Write ``folder`` = a tiny ``cifar-10-batches-py`` (20 train, 10 test images)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {b"num_cases_per_batch": TINY_CIFAR_PER_BATCH, b"num_vis": 3072,
            b"label_names": [name.encode() for name in DATASETS["cifar10"].classes]}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    for b in range(1, 6):
        labels = [(b * TINY_CIFAR_PER_BATCH + i) % 10 for i in range(TINY_CIFAR_PER_BATCH)]
        data = rng.integers(0, 256, size=(TINY_CIFAR_PER_BATCH, 3072), dtype=np.uint8)
        write_cifar_batch(folder / f"data_batch_{b}", data, labels)
    data = rng.integers(0, 256, size=(TINY_CIFAR_TEST, 3072), dtype=np.uint8)
    write_cifar_batch(folder / "test_batch", data, list(range(10)))
    return folder


def tiny_cifar_info(url: str, md5: str | None) -> DatasetInfo:
    """The CIFAR-10 registry entry, pointed at ``url`` and sized for the tiny archive."""
    cifar = DATASETS["cifar10"]
    return replace(cifar, files=(RemoteFile(url, cifar.files[0].filename, md5=md5),),
                   train_size=5 * TINY_CIFAR_PER_BATCH, test_size=TINY_CIFAR_TEST)


@pytest.fixture
def tiny_cifar_archive(tmp_path: Path) -> Path:
    """A tiny ``cifar-10-python.tar.gz`` in the official layout (outside the data dir)."""
    source = write_tiny_cifar_folder(tmp_path / "tiny-cifar-source" / "cifar-10-batches-py")
    archive = tmp_path / "tiny-cifar-archive" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
    return archive


# ---------------------------------------------------------------------------
# Tiny Sign-Language MNIST CSVs (real format, random pixels, no SYNTHETIC marker)
# ---------------------------------------------------------------------------

SIGN_LABELS = [label for label in range(25) if label != 9]


def write_sign_csv(path: Path, labels: list[int], seed: int = 0, header: list[str] | None = None) -> Path:
    """Write a CSV in the Sign-Language MNIST format with random pixels."""
    rng = np.random.default_rng(seed)
    header = SIGN_COLUMNS if header is None else header
    lines = [",".join(header)]
    for label in labels:
        pixels = rng.integers(0, 256, size=784)
        lines.append(",".join(str(v) for v in [label, *pixels]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tiny_sign_csvs(tmp_path: Path) -> tuple[Path, Path]:
    """``sign_mnist_train.csv`` (48 rows) and ``sign_mnist_test.csv`` (24 rows), one folder."""
    folder = tmp_path / "tiny-sign"
    train = write_sign_csv(folder / "sign_mnist_train.csv", SIGN_LABELS * 2, seed=1)
    test = write_sign_csv(folder / "sign_mnist_test.csv", SIGN_LABELS, seed=2)
    return train, test


def git_blob_of(path: Path) -> str:
    """The id git gives the file's content: sha1(b"blob <size>\\0" + content)."""
    content = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def tiny_sign_info(server, train: Path, test: Path, git_blob: tuple[str | None, str | None]) -> DatasetInfo:
    """The Sign-Language registry entry, pointed at the local server and sized for the tiny CSVs."""
    sign = DATASETS["sign_language_mnist"]
    files = tuple(
        RemoteFile(server.url(path.name), path.name, git_blob=digest)
        for path, digest in ((train, git_blob[0]), (test, git_blob[1]))
    )
    return replace(sign, files=files, train_size=48, test_size=24)


# ---------------------------------------------------------------------------
# Tiny Fashion-MNIST IDX files
# ---------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format: magic 0x0000_08_<ndim>, sizes, data."""
    header = struct.pack(">i", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_gz(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
        f.write(content)
    path.write_bytes(buffer.getvalue())
    return path


def write_tiny_fashion(folder: Path, n_train: int = 30, n_test: int = 20, seed: int = 0) -> Path:
    """The four Fashion-MNIST IDX .gz files with random images, labels cycling 0..9."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_gz(folder / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
        write_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))
    return folder
