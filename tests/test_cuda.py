"""What only a CUDA GPU can show: the paths a Colab student's GPU takes through cu.train, checkpoints and saved models.

Skipped without CUDA (every test here, and every other test whose skip reason names CUDA,
gets the ``cuda`` marker: ``make gpu-check`` runs ``pytest -m cuda``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import course_utils as cu
from course_utils import checkpoints, speed

sys.path.insert(0, str(Path(__file__).resolve().parent))
import resumable_run  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    speed.forget_measurements()


def cuda_run(checkpoint=None, **options):
    """resumable_run's run, on the GPU (the loaders' tensors there too)."""
    cu.seed_everything(0)
    train_loader = cu.TensorLoader(resumable_run.image_set(96, 1, "train"), 16, shuffle=True, seed=3, device="cuda",
                                   augment=cu.Augment(padding=1, flip=True))
    val_loader = cu.TensorLoader(resumable_run.image_set(32, 2, "test"), 32, device="cuda")
    model = resumable_run.make_model().cuda()
    history = cu.train(model, train_loader, epochs=3, validation=val_loader, log_every=2, progress=False,
                       checkpoint=checkpoint, **options)
    return model, history


def test_auto_precision_on_this_gpu_is_bfloat16_where_supported_else_float16():
    model, history = cuda_run()
    settings = history.attrs["settings"]
    assert settings["device"].startswith("cuda")
    assert speed.low_precision_candidate(torch.device("cuda")) == (
        "bfloat16" if torch.cuda.is_bf16_supported() else "float16")
    assert settings["precision"] in ("float32", speed.low_precision_candidate(torch.device("cuda")))


@pytest.mark.parametrize("precision", ["float16", "bfloat16", "float32"])
def test_each_precision_trains_on_the_gpu(precision):
    if precision == "bfloat16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16 (a T4, for instance)")
    model, history = cuda_run(precision=precision, channels_last=True)
    assert history.attrs["settings"]["precision"] == precision
    assert history["loss"].notna().all() and history["val_accuracy"].dropna().iloc[-1] > 0.5
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_a_checkpoint_made_on_the_gpu_resumes_on_the_gpu_to_the_same_history(tmp_path):
    _, reference = cuda_run(precision="float16", channels_last=False)
    checkpoint = tmp_path / "gpu.pt"
    cuda_run(checkpoint, precision="float16", channels_last=False)
    saved = checkpoints.read_checkpoint(checkpoint)
    assert saved["grad_scaler"] is not None and saved["rng"]["cuda"]
    _, again = cuda_run(checkpoint, precision="float16", channels_last=False)      # finished: returned as saved
    assert again["val_accuracy"].dropna().tolist() == reference["val_accuracy"].dropna().tolist()


def test_a_checkpoint_made_on_the_gpu_goes_on_on_the_cpu_with_a_note(tmp_path, capsys):
    checkpoint = tmp_path / "gpu.pt"
    steps = []

    def stop(module, inputs, output):
        """Ctrl-C in the 8th training step: epoch 2, batch 2 (epoch 1 is in the checkpoint)."""
        if module.training:
            steps.append(1)
            if len(steps) == 8:
                raise KeyboardInterrupt

    with pytest.raises(cu.training.TrainingInterrupted):
        cu.seed_everything(0)
        loader = cu.TensorLoader(resumable_run.image_set(96, 1, "train"), 16, shuffle=True, device="cuda")
        model = resumable_run.make_model().cuda()
        model.register_forward_hook(stop)
        cu.train(model, loader, epochs=3, progress=False, checkpoint=checkpoint, precision="float32")
    cu.seed_everything(0)
    loader = cu.TensorLoader(resumable_run.image_set(96, 1, "train"), 16, shuffle=True)
    history = cu.train(resumable_run.make_model(), loader, epochs=3, progress=False, checkpoint=checkpoint,
                       precision="float32")
    out = capsys.readouterr().out
    assert "Resuming after epoch 1 of 3" in out and "the run started on cuda and goes on on cpu" in out
    assert history["epoch"].max() == 3


def test_a_model_saved_on_the_gpu_loads_on_the_cpu(tmp_path):
    model, _ = cuda_run(precision="float32")
    path = cu.save_model(model, tmp_path / "gpu-model.pt")
    on_cpu = cu.load_model(path, resumable_run.make_model())
    assert cu.devices.model_device(on_cpu).type == "cpu"
    assert all(torch.equal(a.cpu(), b) for a, b in zip(model.state_dict().values(), on_cpu.state_dict().values()))
    assert cu.saving.saved_model_info(path).saved_with["device"] == torch.cuda.get_device_name(0)
    back_on_gpu = cu.load_model(path, resumable_run.make_model(), device="cuda")
    assert cu.devices.model_device(back_on_gpu).type == "cuda"
