"""A real IPython kernel that tests talk to as a notebook front end does (for widgets and redrawn pictures).

``start_kernel()`` starts one with jupyter_client, with the course's variables unset, and
imports ``course_utils`` in it (the ``kernel`` fixture in conftest.py shares one per test
session, and so per xdist worker); ``kernel.run(code)`` runs a cell and
returns what the cell put into ``result`` (through JSON) and the IOPub messages;
``kernel.send_update`` sends what a browser sends when a widget's control changes.
"""
from __future__ import annotations

import json
import os
import queue
import textwrap
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

REPO = Path(__file__).resolve().parents[1]
RESULT_MARK = "@@result@@"


class Kernel:
    """A running IPython kernel: ``run`` code as a cell would, ``send_update`` as a browser would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.manager = jupyter_client.KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env, cwd=str(REPO))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def _collect(self, msg_id: str, timeout: float = 120) -> list[dict]:
        """The IOPub messages caused by request ``msg_id``, up to the kernel going idle."""
        messages = []
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the kernel sent nothing for {timeout} s; messages so far: "
                                     f"{[m['msg_type'] for m in messages]}") from None
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return messages
            messages.append(message)

    def run(self, code: str) -> tuple[object, list[dict]]:
        """Run ``code`` (which sets ``result``); return ``result`` (through JSON) and the IOPub messages."""
        code = textwrap.dedent(code) + f"\nprint({RESULT_MARK!r} + __import__('json').dumps(result))\n"
        msg_id = self.client.execute(code)
        messages = self._collect(msg_id)
        errors = [m["content"] for m in messages if m["msg_type"] == "error"]
        if errors:
            raise AssertionError("the kernel raised:\n" + "\n".join(errors[0]["traceback"]))
        text = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
        lines = [line for line in text.splitlines() if line.startswith(RESULT_MARK)]
        assert lines, f"no result printed; output was:\n{text}"
        return json.loads(lines[-1][len(RESULT_MARK):]), messages

    def send_update(self, model_id: str, state: dict) -> list[dict]:
        """Send what a browser sends when a control changes; return the IOPub messages it causes."""
        content = {"comm_id": model_id, "data": {"method": "update", "state": state, "buffer_paths": []}}
        message = self.client.session.msg("comm_msg", content)
        self.client.shell_channel.send(message)
        messages = self._collect(message["header"]["msg_id"])
        errors = [m["content"] for m in messages if m["msg_type"] == "error"]
        assert not errors, "a widget callback raised:\n" + "\n".join(errors[0]["traceback"])
        return messages


def start_kernel() -> Kernel:
    """A kernel without the course's environment variables, with course_utils and its picture modules imported."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COURSE_")}
    env["OMP_NUM_THREADS"] = "1"
    running = Kernel(env)
    running.run("""
        import numpy as np
        import torch
        from scipy.signal import convolve2d
        from torch import nn
        import course_utils as cu
        from course_utils import redraw, training_plots, widgets
        from course_utils.data import ImageSet
        result = None
    """)
    return running


def pictures(messages: list[dict]) -> list[tuple[str, str]]:
    """(message type, display id) of every PNG sent: a new picture, or one replaced in place."""
    return [(m["msg_type"], m["content"]["transient"]["display_id"]) for m in messages
            if m["msg_type"] in ("display_data", "update_display_data") and "image/png" in m["content"]["data"]]


def widget_views(messages: list[dict]) -> list[dict]:
    """The widget views displayed (data of each display_data that shows a widget)."""
    return [m["content"]["data"] for m in messages
            if m["msg_type"] == "display_data" and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
