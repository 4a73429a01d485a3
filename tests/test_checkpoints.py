"""Training that survives a disconnect: cu.train(..., checkpoint=...) saves, resumes, refuses, keeps Ctrl-C's history.

The central test kills a real child process (SIGKILL) in the middle of an epoch, resumes
in a fresh process and compares with an uninterrupted run in a third one: the weights
must be equal bit for bit. The other tests do the same inside this process, and check
what is refused, what a finished checkpoint does, and that no interrupt or error ever
leaves a broken checkpoint file. Tiny synthetic images only (tests/resumable_run.py).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils import checkpoints, saving, training
from course_utils.training import TrainingInterrupted

sys.path.insert(0, str(Path(__file__).resolve().parent))
import resumable_run  # noqa: E402
from resumable_run import BATCHES_PER_EPOCH, EPOCHS, interrupt_at, run  # noqa: E402

SCRIPT = Path(resumable_run.__file__)


@pytest.fixture(autouse=True)
def no_fast_mode(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)


def same_weights(a: nn.Module | dict, b: nn.Module | dict) -> bool:
    a = a.state_dict() if isinstance(a, nn.Module) else a
    b = b.state_dict() if isinstance(b, nn.Module) else b
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def same_history(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal in every column but the clock (NaN equals NaN: the rows without validation)."""
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"), check_exact=True)


def training_steps():
    """A forward hook that counts training steps, and the list it counts into."""
    steps = []
    return (lambda module, inputs, output: steps.append(1) if module.training else None), steps


# --- the real thing: SIGKILL a child process mid-epoch, resume in a fresh one ----------------------


def child(out: Path, *arguments: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COURSE_LIVE_OUTPUT": "0"}
    env.pop("COURSE_FAST", None)
    return subprocess.Popen([sys.executable, str(SCRIPT), str(out), *arguments], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_run_killed_mid_epoch_resumes_in_a_fresh_process_to_the_same_weights_bit_for_bit(tmp_path):
    checkpoint, marker = tmp_path / "run.pt", tmp_path / "stalled"
    kill_at = 2 * BATCHES_PER_EPOCH + 3          # the 3rd training step of epoch 3

    reference = child(tmp_path / "uninterrupted.pt")             # meanwhile: the run nobody disturbs
    killed = child(tmp_path / "never-written.pt", "--checkpoint", str(checkpoint),
                   "--stall-after", str(kill_at), "--marker", str(marker))
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert killed.poll() is None, f"the child ended before it was killed:\n{killed.stdout.read()}"
        assert time.monotonic() < deadline, "the child never reached the step where it is killed"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=60) == -signal.SIGKILL
    printed_before = killed.stdout.read()
    saved = checkpoints.read_checkpoint(checkpoint)
    assert saved["epochs_done"] == 2                             # epochs 1 and 2 finished, epoch 3 did not
    assert not list(tmp_path.glob(".run.pt.*"))                  # no temporary file left behind

    resumed = child(tmp_path / "resumed.pt", "--checkpoint", str(checkpoint))
    printed_resumed = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, printed_resumed
    assert reference.wait(timeout=300) == 0, reference.stdout.read()
    assert f"Resuming after epoch 2 of {EPOCHS} from {checkpoint}" in printed_resumed

    a = torch.load(tmp_path / "uninterrupted.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert a["weights"].keys() == b["weights"].keys()
    differing = [name for name in a["weights"] if not torch.equal(a["weights"][name], b["weights"][name])]
    assert differing == [], f"weights that differ from the uninterrupted run: {differing}"
    torch.testing.assert_close(a["history"], b["history"], rtol=0, atol=0, equal_nan=True)
    assert all(torch.equal(a["after"][k], b["after"][k]) for k in a["after"])   # generators left as they would be
    print(f"\nkilled (SIGKILL) in training step {kill_at} = epoch 3, batch 3; the checkpoint held "
          f"{saved['epochs_done']} of {EPOCHS} epochs.\n"
          f"output before the kill: {printed_before.strip()!r}\n"
          f"resumed in a fresh process: {printed_resumed.strip()!r}\n"
          f"{len(a['weights'])} weight tensors compared with an uninterrupted run in a third process: "
          f"all equal bit for bit; history rows {len(a['history'])} equal; random draws after training equal.")


# --- resuming in this process --------------------------------------------------------------------


@pytest.mark.parametrize("settings", [dict(precision="float32", channels_last=False),
                                      dict(precision="float32", channels_last=True),
                                      dict(precision="float16", channels_last=False)],   # the GradScaler path
                         ids=["float32", "channels_last", "float16+GradScaler"])
def test_ctrl_c_mid_epoch_then_running_the_cell_again_gives_the_uninterrupted_result(tmp_path, capsys, settings):
    reference_model, reference_history, reference_after = run(**settings)
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(TrainingInterrupted) as interrupted:
        run(checkpoint, hook=interrupt_at(3 * BATCHES_PER_EPOCH + 2), **settings)   # epoch 4, batch 2
    assert isinstance(interrupted.value, KeyboardInterrupt)                      # it stops the cell like Ctrl-C
    assert interrupted.value.history["epoch"].unique().tolist() == [1, 2, 3]    # the finished epochs only
    same_history(interrupted.value.history, reference_history[reference_history["epoch"] <= 3])
    assert "holds epoch 3: run this cell again to resume" in str(interrupted.value)

    model, history, after = run(checkpoint, **settings)
    assert "Resuming after epoch 3 of 5 from" in capsys.readouterr().out
    assert same_weights(model, reference_model)
    same_history(history, reference_history)
    assert all(torch.equal(after[k], reference_after[k]) for k in after)
    assert history.attrs["settings"]["precision"] == settings["precision"]


def test_a_torch_dataloader_that_shuffles_resumes_to_the_same_weights(tmp_path):
    """A DataLoader draws its shuffling seed from torch's generator: restored with the checkpoint."""
    def train_once(checkpoint=None, hook=None):
        cu.seed_everything(0)
        data = resumable_run.image_set(64, 1, "train")
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data.images.float() / 255, data.labels),
                                             batch_size=16, shuffle=True)
        model = resumable_run.make_model()
        if hook is not None:
            model.register_forward_hook(hook)
        cu.train(model, loader, epochs=3, log_every=2, progress=False, precision="float32", channels_last=False,
                 checkpoint=checkpoint)
        return model

    reference = train_once()
    with pytest.raises(KeyboardInterrupt):
        train_once(tmp_path / "loader.pt", hook=interrupt_at(6))
    assert same_weights(train_once(tmp_path / "loader.pt"), reference)


def test_a_finished_checkpoint_returns_its_history_and_weights_without_training(tmp_path, capsys):
    checkpoint = tmp_path / "done.pt"
    model, history, after = run(checkpoint)
    before = checkpoint.stat().st_mtime_ns
    hook, steps = training_steps()
    again, again_history, again_after = run(checkpoint, hook=hook)
    assert steps == []                                             # not one training step
    assert "holds this finished run (5 of 5 epochs" in capsys.readouterr().out
    assert same_weights(again, model)
    pd.testing.assert_frame_equal(again_history, history)          # the clock column too: it is the saved one
    assert all(torch.equal(again_after[k], after[k]) for k in after)
    assert checkpoint.stat().st_mtime_ns == before                 # nothing written
    assert again.training


@pytest.mark.parametrize("change, reason", [
    (dict(width=6), r"the model's weights differ \(other shapes: 0.weight 4×3×3×3 then, 6×3×3×3 now"),
    (dict(epochs=7), r"epochs: 5 then, 7 now"),
    (dict(lr=0.02), r"the optimizer: lr 0.01 then, 0.02 now"),
    (dict(log_every=3), r"log_every: 2 then, 3 now"),
    (dict(precision="bfloat16"), r"precision: float32 then, bfloat16 now"),
])
def test_a_checkpoint_of_another_run_is_refused_with_the_reason_and_left_alone(tmp_path, change, reason):
    checkpoint = tmp_path / "other.pt"
    run(checkpoint, epochs=5 if "epochs" not in change else 2)
    content = checkpoint.read_bytes()
    if "epochs" in change:
        reason = r"epochs: 2 then, 7 now"
    hook, steps = training_steps()
    with pytest.raises(ValueError, match=r"was made by a different training run[\s\S]*" + reason) as error:
        run(checkpoint, hook=hook, **change)
    assert "delete the file or pass another checkpoint name" in str(error.value)
    assert steps == []
    assert checkpoint.read_bytes() == content


def test_fast_mode_and_a_full_run_do_not_share_a_checkpoint(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.pt"
    run(checkpoint, epochs=3)
    monkeypatch.setenv("COURSE_FAST", "1")
    with pytest.raises(ValueError, match=r"epochs: 3 then, 1 now[\s\S]*total_steps 18 then, 6 now"):
        run(checkpoint, epochs=3)


def test_files_that_are_not_checkpoints_are_refused_and_left_alone(tmp_path):
    garbage = tmp_path / "notes.pt"
    garbage.write_text("my lecture notes, not a checkpoint")
    with pytest.raises(ValueError, match="is not a checkpoint file"):
        run(garbage)
    assert garbage.read_text() == "my lecture notes, not a checkpoint"
    model_file = cu.save_model(resumable_run.make_model(), tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"is not a training checkpoint \(it holds saved model\)"):
        run(model_file)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ValueError, match="is not a checkpoint file .or it is damaged."):
        run(truncated)


def test_ctrl_c_without_a_checkpoint_still_keeps_the_finished_epochs():
    with pytest.raises(TrainingInterrupted) as interrupted:
        run(hook=interrupt_at(BATCHES_PER_EPOCH + 1))
    assert interrupted.value.history["epoch"].unique().tolist() == [1]
    assert "Training interrupted during epoch 2 of 5" in str(interrupted.value)
    assert "history = sys.last_value.history" in str(interrupted.value)
    assert 'checkpoint=\\"a-name\\"' in repr(interrupted.value) or 'checkpoint="a-name"' in str(interrupted.value)
    with pytest.raises(TrainingInterrupted) as first_epoch:
        run(hook=interrupt_at(2))
    assert first_epoch.value.history.empty and "No epoch had finished" in str(first_epoch.value)


# --- saving: never half-written ---------------------------------------------------------------------


def test_a_keyboard_interrupt_inside_a_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.pt"
    real_save, saves = torch.save, []

    def save_then_break(data, file, *args, **kwargs):
        saves.append(1)
        if len(saves) == 2:                  # the save after epoch 2: write half, then "Ctrl-C"
            file.write(b"half a checkpoint")
            raise KeyboardInterrupt
        real_save(data, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_then_break)
    with pytest.raises(TrainingInterrupted) as interrupted:
        run(checkpoint)
    assert checkpoints.read_checkpoint(checkpoint)["epochs_done"] == 1
    assert sorted(p.name for p in tmp_path.glob("*.pt*")) + sorted(p.name for p in tmp_path.glob(".*")) == ["run.pt"]      # no temporary file left
    assert "holds epoch 1" in str(interrupted.value)
    assert interrupted.value.history["epoch"].unique().tolist() == [1, 2]  # epoch 2 did finish, in memory


def test_a_real_sigint_during_a_save_waits_for_the_save_to_finish(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.pt"
    real_save = torch.save

    def interrupted_save(data, file, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)         # what Jupyter's "Interrupt the kernel" sends
        time.sleep(0.05)                            # (the signal arrives while the save is under way)
        real_save(data, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", interrupted_save)
    with pytest.raises(TrainingInterrupted) as interrupted:
        run(checkpoint)
    saved = checkpoints.read_checkpoint(checkpoint)
    assert saved["epochs_done"] == 1                      # the save completed, then the interrupt came
    assert "holds epoch 1: run this cell again to resume" in str(interrupted.value)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_failed_save_keeps_training_and_says_what_the_file_holds(tmp_path, monkeypatch, capsys):
    checkpoint = tmp_path / "run.pt"
    real_replace, calls = os.replace, []

    def full_disk_on_second_save(source, target):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_disk_on_second_save)
    model, history, _ = run(checkpoint, epochs=3)
    assert history["epoch"].max() == 3
    assert "Could not save the checkpoint after epoch 2" in capsys.readouterr().out
    assert checkpoints.read_checkpoint(checkpoint)["epochs_done"] == 3
    assert sorted(p.name for p in tmp_path.glob("*.pt*")) + sorted(p.name for p in tmp_path.glob(".*")) == ["run.pt"]


def test_write_atomically_never_leaves_a_mixture(tmp_path, monkeypatch):
    path = tmp_path / "file.pt"
    saving.write_atomically({"n": torch.tensor([1])}, path)
    monkeypatch.setattr(torch, "save", lambda data, file: (file.write(b"xx"), (_ for _ in ()).throw(RuntimeError("boom"))))
    with pytest.raises(RuntimeError, match="boom"):
        saving.write_atomically({"n": torch.tensor([2])}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["n"].tolist() == [1]
    assert sorted(p.name for p in tmp_path.glob("*.pt*")) + sorted(p.name for p in tmp_path.glob(".*")) == ["file.pt"]


# --- names and paths --------------------------------------------------------------------------------


def test_a_name_goes_to_the_checkpoint_folder_and_a_path_is_used_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "drive"))
    assert checkpoints.checkpoint_path("08-final") == tmp_path / "drive" / "08-final.pt"
    assert checkpoints.checkpoint_path(tmp_path / "x.pt") == tmp_path / "x.pt"
    assert checkpoints.checkpoint_path("runs/final.pt") == Path("runs/final.pt")
    monkeypatch.delenv("COURSE_CHECKPOINT_DIR")
    assert checkpoints.checkpoint_path("08-final") == Path("checkpoints/08-final.pt")


def test_fast_mode_keeps_its_named_checkpoints_apart_from_full_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path))
    run("same-name", epochs=2)                                   # a full run's checkpoint ...
    full = (tmp_path / "same-name.pt").read_bytes()
    monkeypatch.setenv("COURSE_FAST", "1")
    assert checkpoints.checkpoint_path("same-name") == tmp_path / "fast-mode" / "same-name.pt"
    assert checkpoints.checkpoint_path(tmp_path / "x.pt") == tmp_path / "x.pt"     # a path is used as it is
    run("same-name", epochs=2)             # ... is neither refused nor overwritten in fast mode (1 epoch there)
    assert (tmp_path / "same-name.pt").read_bytes() == full
    assert checkpoints.read_checkpoint(tmp_path / "same-name.pt")["epochs_done"] == 2
    assert checkpoints.read_checkpoint(tmp_path / "fast-mode" / "same-name.pt")["epochs_done"] == 1


def test_a_name_saves_into_the_folder_and_creates_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "on" / "drive"))
    run("tiny", epochs=1)
    assert checkpoints.read_checkpoint(tmp_path / "on" / "drive" / "tiny.pt")["epochs_done"] == 1


@pytest.mark.parametrize("value, error, text", [
    ("", ValueError, "empty string"),
    ("what?", ValueError, "not a usable name"),
    (42, TypeError, "checkpoint must be a name"),
])
def test_bad_checkpoint_arguments_are_refused_before_anything_runs(value, error, text):
    hook, steps = training_steps()
    with pytest.raises(error, match=text):
        run(value, hook=hook)
    assert steps == []


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        checkpoints.checkpoint_path(tmp_path)


def test_the_checkpoint_is_read_with_weights_only(tmp_path):
    checkpoint = tmp_path / "run.pt"
    run(checkpoint, epochs=1)
    data = torch.load(checkpoint, weights_only=True)      # plain tensors and values: loads without pickled code
    assert data["format"] == saving.CHECKPOINT_FORMAT and data["epochs_done"] == 1
    assert set(data["rng"]) == {"torch", "cuda", "numpy", "python"}
    assert data["loaders"]["loader"] == {"epoch": 2}          # used once before train, then one epoch


def test_the_seconds_column_goes_on_across_sessions(tmp_path):
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(TrainingInterrupted):
        run(checkpoint, hook=interrupt_at(2 * BATCHES_PER_EPOCH + 1))
    first = checkpoints.read_checkpoint(checkpoint)
    _, history, _ = run(checkpoint)
    assert history["seconds"].is_monotonic_increasing
    assert history[history["epoch"] == 3]["seconds"].iloc[0] >= first["seconds"]
    assert history.attrs["seconds"] >= history["seconds"].iloc[-1]


def test_train_refuses_a_checkpoint_before_moving_the_model(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.pt"
    run(checkpoint, epochs=2)
    moved = []
    monkeypatch.setattr(training, "use_device", lambda model, device: moved.append(1))
    with pytest.raises(ValueError, match="different training run"):
        run(checkpoint, epochs=3)
    assert moved == []


def test_a_scheduler_whose_public_state_moves_with_each_step_still_resumes(tmp_path):
    """CosineAnnealingWarmRestarts keeps its position in T_cur: the checkpoint compares the call as it started."""
    def train_once(checkpoint=None, hook=None):
        cu.seed_everything(0)
        loader = cu.TensorLoader(resumable_run.image_set(64, 1, "train"), 16, shuffle=True)
        model = resumable_run.make_model()
        if hook is not None:
            model.register_forward_hook(hook)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3)
        history = cu.train(model, loader, epochs=3, optimizer=optimizer, scheduler=scheduler, log_every=2,
                           progress=False, precision="float32", channels_last=False, checkpoint=checkpoint)
        return model, history

    reference, reference_history = train_once()
    with pytest.raises(TrainingInterrupted):
        train_once(tmp_path / "cosine.pt", hook=interrupt_at(7))
    model, history = train_once(tmp_path / "cosine.pt")
    assert same_weights(model, reference)
    same_history(history, reference_history)
