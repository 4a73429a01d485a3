"""Opening a lecture in JupyterLab and saving it must not change it.

The test starts JupyterLab on 127.0.0.1 (with a token) in a temporary copy of the
repository, and for every lecture does what JupyterLab does when you open a
notebook, save it and close it:

1. open: ``GET /api/contents/<path>`` (the notebook model) and ``POST /api/sessions``
   (its kernel starts); JupyterLab then asks the kernel for its ``kernel_info``;
2. before saving, JupyterLab writes into the notebook's metadata the kernelspec
   of the kernel it uses (name, ``display_name``, language, as the server's
   ``/api/kernelspecs`` lists them) and the kernel's ``language_info``; and the
   browser serialises the notebook with JavaScript's ``JSON.stringify``, which
   writes a whole number stored as a float (``938.0``) as ``938``;
3. save: ``PUT /api/contents/<path>`` with that model; close: ``DELETE /api/sessions/<id>``.

(These are exactly the changes headless Chromium + JupyterLab 4.6 made when it opened
and saved every lecture without running it: tests/test_browser.py can show it.)

Afterwards ``python -m course_tools.live --check`` must pass in the copy, and
``git diff`` of the notebooks must be empty. When it is not, the failure lists, per
notebook, which fields the round trip changed, so the committed lectures can be
normalised to the form JupyterLab saves.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab")
pytestmark = pytest.mark.slow   # a Jupyter server opens and saves every lecture
websocket = pytest.importorskip("tornado.websocket")

from lab_server import Lab, running_lab  # noqa: E402  (tests/ is on sys.path)

REPO = Path(__file__).resolve().parents[1]
from course_tools.run_lectures import as_javascript_writes_it  # noqa: E402  (the lectures are saved the same way)

LECTURES = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


# ---------------------------------------------------------------------------
# What JupyterLab does
# ---------------------------------------------------------------------------


def kernel_info(lab: Lab, kernel_id: str) -> dict:
    """Ask a kernel for its kernel_info over the server's websocket, as JupyterLab does."""
    async def ask() -> dict:
        url = f"{lab.url.replace('http', 'ws', 1)}api/kernels/{kernel_id}/channels?token={lab.token}"
        connection = await asyncio.wait_for(websocket.websocket_connect(url), 60)
        msg_id = uuid.uuid4().hex
        connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "username": "test",
                       "session": uuid.uuid4().hex, "date": datetime.now(timezone.utc).isoformat(), "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell", "buffers": []}))
        try:
            while True:
                text = await asyncio.wait_for(connection.read_message(), 120)
                if text is None:
                    raise RuntimeError("the kernel's websocket closed before kernel_info_reply")
                message = json.loads(text)
                if message.get("msg_type") == "kernel_info_reply" and message["parent_header"].get("msg_id") == msg_id:
                    return message["content"]
        finally:
            connection.close()

    return asyncio.run(ask())


def open_save_close(lab: Lab, path: str, kernelspecs: dict) -> None:
    """Open the notebook at ``path`` with a kernel, save it as JupyterLab would, close it."""
    model = lab.get(f"api/contents/{path}?content=1&type=notebook")
    session = lab.request("POST", "api/sessions", {"path": path, "type": "notebook", "name": Path(path).name,
                                                   "kernel": {"name": kernelspecs["default"]}})
    try:
        info = kernel_info(lab, session["kernel"]["id"])
        spec = kernelspecs["kernelspecs"][session["kernel"]["name"]]["spec"]
        notebook = model["content"]
        notebook["metadata"]["kernelspec"] = {"name": session["kernel"]["name"],
                                              "display_name": spec["display_name"], "language": spec["language"]}
        notebook["metadata"]["language_info"] = info["language_info"]
        lab.request("PUT", f"api/contents/{path}",
                    {"type": "notebook", "format": "json", "content": as_javascript_writes_it(notebook)})
    finally:
        lab.request("DELETE", f"api/sessions/{session['id']}")


# ---------------------------------------------------------------------------
# The copy, the round trip, and what changed
# ---------------------------------------------------------------------------


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@127.0.0.1", *arguments],
                          cwd=folder, check=True, capture_output=True, text=True).stdout


def copy_repository(target: Path) -> None:
    """The working tree's packages, notebooks and settings, committed in a git repository of its own."""
    target.mkdir()
    for package in ("course_utils", "course_tools"):
        shutil.copytree(REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "notebooks", target / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in ("pyproject.toml", ".gitignore", "README.md"):
        shutil.copy2(REPO / name, target / name)
    git(target, "init", "-q")
    git(target, "add", "notebooks")
    git(target, "commit", "-q", "-m", "the notebooks as they are in the working tree")


def changes(before: object, after: object, path: str = "") -> list[str]:
    """The fields that differ between two JSON values, as readable lines."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}.{key}" if path else key
            if key not in before:
                found.append(f"added   {where} = {json.dumps(after[key])[:100]}")
            elif key not in after:
                found.append(f"removed {where}")
            else:
                found += changes(before[key], after[key], where)
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [line for i, (b, a) in enumerate(zip(before, after)) for line in changes(b, a, f"{path}[{i}]")]
    if before == after and type(before) is not type(after):   # 938.0 == 938: only the way it is written
        return [f"number  {path}: {json.dumps(before)} -> {json.dumps(after)}"]
    if before != after:
        return [f"changed {path}: {json.dumps(before)[:60]} -> {json.dumps(after)[:60]}"]
    return []


def summary_of_changes(before_text: str, after_text: str) -> list[str]:
    """What the round trip changed in one notebook: metadata fields one by one, the rest counted."""
    lines = changes(json.loads(before_text), json.loads(after_text))
    numbers = [line for line in lines if line.startswith("number")]
    others = [line for line in lines if not line.startswith("number")]
    widgets = [line for line in others if " metadata.widgets" in line]
    cells = [line for line in others if line.split(None, 1)[1].startswith("cells[")]
    summary = [line for line in others if line not in widgets and line not in cells]   # notebook metadata
    if numbers:
        summary.append(f"{len(numbers)} whole numbers stored as floats now written as integers, as JavaScript's "
                       f"JSON.stringify writes them (e.g. {numbers[0].split(None, 1)[1]})")
    if widgets:
        summary.append(f"{len(widgets)} other changes in the widget state, e.g. {widgets[0]}")
    if cells:
        summary.append(f"{len(cells)} changes in cells, e.g. {cells[0]}")
    if not lines and before_text != after_text:
        summary.append("only the JSON formatting differs (indentation, key order or a final newline)")
    return summary


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = tmp_path_factory.mktemp("roundtrip") / "repository"
    copy_repository(copy)
    originals = {name: (copy / "notebooks" / name).read_text(encoding="utf-8") for name in LECTURES}
    with running_lab(copy) as lab:
        kernelspecs = lab.get("api/kernelspecs")
        for name in LECTURES:
            open_save_close(lab, f"notebooks/{name}", kernelspecs)
    saved = {name: (copy / "notebooks" / name).read_text(encoding="utf-8") for name in LECTURES}
    return {"copy": copy, "originals": originals, "saved": saved}


def test_there_are_lectures() -> None:
    assert len(LECTURES) >= 7, LECTURES


def test_saving_in_jupyterlab_leaves_the_notebooks_unchanged(round_trip: dict) -> None:
    diff = git(round_trip["copy"], "diff", "--stat", "--", "notebooks")
    report = []
    for name in LECTURES:
        before, after = round_trip["originals"][name], round_trip["saved"][name]
        if before != after:
            report.append(f"{name}:\n    " + "\n    ".join(summary_of_changes(before, after)))
    assert diff == "" and not report, (
        "opening and saving the lectures in JupyterLab changed them (git diff is not empty), so `git status`, "
        "`make test` and `make live-check` would see changes nobody made. Commit the lectures in the form "
        "JupyterLab saves them. What changed:\n" + "\n".join(report) + "\n\ngit diff --stat:\n" + diff)


def test_the_live_check_passes_after_saving(round_trip: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "course_tools.live", "--check"], cwd=round_trip["copy"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, ("`python -m course_tools.live --check` fails after the lectures were opened "
                                    f"and saved in JupyterLab:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


# --- the helpers themselves ---------------------------------------------------


def test_numbers_are_written_as_a_browser_writes_them() -> None:
    assert as_javascript_writes_it({"max": 938.0, "x": [0.5, 2.0], "n": 3, "flag": True}) == \
        {"max": 938, "x": [0.5, 2], "n": 3, "flag": True}
    assert json.dumps(as_javascript_writes_it(1563.0)) == "1563"


def test_the_summary_names_changed_metadata_fields() -> None:
    before = {"metadata": {"kernelspec": {"display_name": "Python 3"}, "widgets": {"s": {"max": 938.0}}}, "cells": []}
    after = {"metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)"}, "widgets": {"s": {"max": 938}},
                          "language_info": {"name": "python"}}, "cells": []}
    summary = summary_of_changes(json.dumps(before), json.dumps(after))
    assert summary[0] == 'changed metadata.kernelspec.display_name: "Python 3" -> "Python 3 (ipykernel)"'
    assert summary[1] == 'added   metadata.language_info = {"name": "python"}'
    assert summary[2].startswith("1 whole numbers stored as floats now written as integers")
    assert "(e.g. metadata.widgets.s.max: 938.0 -> 938)" in summary[2]
