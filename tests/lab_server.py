"""A JupyterLab server for tests: on 127.0.0.1, with a random token, in a folder the test chooses.

Used by tests/test_roundtrip.py (the contents API, as JupyterLab uses it) and
tests/test_browser.py (a real browser). The server is always stopped when the
``with`` block ends, also after a failure; its log is kept for the failure message.

Example:
    with running_lab(folder) as lab:
        notebook = lab.get("api/contents/notebooks/05-convolution.ipynb?content=1")
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Lab:
    """A running server: its address, token and log file; small helpers for its REST API."""

    url: str
    token: str
    log: Path

    def request(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def get(self, path: str) -> object:
        return self.request("GET", path)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_lab(root: Path, env: dict[str, str] | None = None, *, expose_app: bool = False,
                user_settings: dict[str, dict] | None = None, timeout: float = 120) -> Iterator[Lab]:
    """Start ``jupyter lab`` serving ``root``; stop it (and its kernels) when the block ends.

    ``user_settings`` maps a plugin id (``"@jupyterlab/notebook-extension:tracker"``) to the
    settings JupyterLab should use for it, as a user would set them in the Settings Editor.
    """
    port, token = free_port(), secrets.token_hex(16)
    log = root.parent / f"{root.name}-jupyterlab.log"
    settings = root.parent / f"{root.name}-jupyter"   # config, runtime and data dirs of its own
    for plugin, values in (user_settings or {}).items():
        package, name = plugin.split(":")
        file = settings / "config" / "lab" / "user-settings" / package / f"{name}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    environment = dict(os.environ if env is None else env)
    environment.update(JUPYTER_CONFIG_DIR=str(settings / "config"), JUPYTER_RUNTIME_DIR=str(settings / "runtime"),
                       JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--ServerApp.allow_root=True", "--ServerApp.open_browser=False",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if expose_app:   # lets a browser test call JupyterLab's commands (window.jupyterapp)
        command.append("--LabApp.expose_app_in_browser=True")
    with open(log, "w") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=environment)
    lab = Lab(f"http://127.0.0.1:{port}/", token, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {server.returncode}:\n{lab.log_tail()}")
            try:
                lab.get("api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{lab.log_tail()}") from None
                time.sleep(0.5)
        yield lab
    finally:
        server.terminate()   # SIGTERM: the server shuts its kernels down, then exits
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
