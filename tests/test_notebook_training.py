"""cu.train as a student meets it in a notebook: a real IPython kernel, driven the way Jupyter drives it.

- ``%env COURSE_FAST=1`` typed into a cell in the middle of a session switches fast mode on
  (the advice that cu.train prints for long runs says exactly that), and ``=0`` off again;
- the progress line of a slow epoch moves before the first log point (clock and batch count);
- "Interrupt the kernel" (SIGINT, as Jupyter sends it) during training stops the cell with a
  ``TrainingInterrupted`` whose history, picked up in the next cell as ``sys.last_value.history``,
  holds exactly the finished epochs.

`.ci/colab-check` also runs this file on Colab's IPython 7.34 and ipykernel 6.17.
"""
from __future__ import annotations

import json
import os
import queue
import textwrap
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

RESULT = "@@result@@"


class Kernel:
    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.manager = jupyter_client.KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env, cwd=cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def messages(self, msg_id: str, timeout: float = 120):
        """The IOPub messages of request ``msg_id`` as they come, until the kernel is idle again."""
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the kernel sent nothing for {timeout} s") from None
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return
            yield message

    def run(self, code: str):
        """Run a cell that sets ``result``; return ``result`` (through JSON)."""
        msg_id = self.client.execute(textwrap.dedent(code) + f"\nprint({RESULT!r} + __import__('json').dumps(result))")
        messages = list(self.messages(msg_id))
        errors = [m["content"] for m in messages if m["msg_type"] == "error"]
        assert not errors, "the kernel raised:\n" + "\n".join(errors[0]["traceback"])
        text = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
        return json.loads(text.split(RESULT)[-1])


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    env = {key: value for key, value in os.environ.items() if not key.startswith("COURSE_")}
    env["OMP_NUM_THREADS"] = "1"
    folder = tmp_path_factory.mktemp("notebook")
    env["COURSE_CHECKPOINT_DIR"] = str(folder / "checkpoints")
    running = Kernel(env, str(folder))
    try:
        running.run("import sys, time, torch\nfrom torch import nn\nimport course_utils as cu\nresult = None")
        yield running
    finally:
        running.stop()


def test_env_magic_in_the_middle_of_a_session_switches_fast_mode_on_and_off(kernel):
    assert kernel.run("result = [cu.fast_mode(), cu.num_epochs(15)]") == [False, 15]
    assert kernel.run("%env COURSE_FAST=1\nresult = [cu.fast_mode(), cu.num_epochs(15)]") == [True, 1]
    assert kernel.run("%env COURSE_FAST=0\nresult = [cu.fast_mode(), cu.num_epochs(15)]") == [False, 15]


SLOW_TRAINING = """
class Slow(nn.Module):
    '''A linear model whose every forward pass takes 0.15 s, as a big model on a busy CPU.'''
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(16, 3)
    def forward(self, x):
        time.sleep(0.15)
        return self.linear(x)

g = torch.Generator().manual_seed(0)
pairs = [(torch.randn(4, 16, generator=g), torch.randint(0, 3, (4,), generator=g)) for _ in range(8)]
history = cu.train(Slow(), pairs, epochs=20, log_every=100, precision="float32", channels_last=False)
"""


def test_interrupting_the_kernel_keeps_the_finished_epochs_and_the_line_moved_before_any_log_point(kernel):
    msg_id = kernel.client.execute(SLOW_TRAINING)
    lines: dict[str, list[str]] = {}                  # display id -> the texts it showed, in order
    error = None
    interrupted_at = None
    for message in kernel.messages(msg_id):
        content = message["content"]
        if message["msg_type"] in ("display_data", "update_display_data"):
            lines.setdefault(content["transient"]["display_id"], []).append(content["data"]["text/plain"])
            if interrupted_at is None and content["data"]["text/plain"].startswith("epoch 2/20 ▕"):
                interrupted_at = time.monotonic()
                kernel.manager.interrupt_kernel()     # Jupyter's "Interrupt the kernel" (SIGINT)
        elif message["msg_type"] == "error":
            error = content
    assert interrupted_at is not None, f"epoch 2 never started: {lines}"
    assert error is not None and error["ename"] == "TrainingInterrupted", error
    assert "history = sys.last_value.history" in error["evalue"]

    first_epoch = next(iter(lines.values()))
    moving = [text for text in first_epoch if "batches" in text]
    assert len(moving) >= 3, first_epoch              # it moved while no log point came (log_every=100 > 8)
    assert any(" 3/8 batches" in text or " 4/8 batches" in text for text in moving), moving
    assert first_epoch[-1].startswith("epoch 1/20: loss")

    picked_up = kernel.run("result = {'type': type(sys.last_value).__name__, "
                           "'epochs': sorted(set(sys.last_value.history['epoch'].tolist()))}")
    assert picked_up["type"] == "TrainingInterrupted"
    finished = picked_up["epochs"]
    assert finished and finished == list(range(1, len(finished) + 1)) and len(finished) <= 2, finished
