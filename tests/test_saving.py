"""cu.save_model / cu.load_model / cu.saving.saved_model_info: a trained network kept in a file, and refusals that explain."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils import saving

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resumable_run import CLASSES, image_set, make_model  # noqa: E402


def trained(width: int = 4) -> tuple[nn.Module, "cu.TensorLoader"]:
    cu.seed_everything(0)
    loader = cu.TensorLoader(image_set(48, 1, "train"), 16, shuffle=True)
    model = make_model(width)
    cu.train(model, loader, epochs=2, progress=False, precision="float32", channels_last=False)
    return model, loader


def test_a_saved_model_loads_into_a_new_instance_with_the_same_weights_and_predictions(tmp_path):
    model, loader = trained()
    path = cu.save_model(model, tmp_path / "models" / "tiny.pt", loader=loader, notes={"epochs": 2, "accuracy": 0.9})
    assert path == tmp_path / "models" / "tiny.pt"
    fresh = make_model()
    assert not all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
    loaded = cu.load_model(path, fresh)
    assert loaded is fresh
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    images = cu.TensorLoader(loader.dataset, 16).X                 # (not shuffled: the same order twice)
    assert torch.equal(cu.predict(loaded, images), cu.predict(model, images))


def test_the_file_says_what_a_later_lecture_needs_to_use_the_model(tmp_path):
    model, loader = trained()
    path = cu.save_model(model, tmp_path / "tiny.pt", loader=loader, notes={"test accuracy": torch.tensor(0.875)})
    info = cu.saving.saved_model_info(path)
    assert info.classes == CLASSES
    assert info.input_shape == (3, 8, 8)
    assert info.mean == pytest.approx((0.3, 0.3, 0.3)) and info.std == pytest.approx((0.25, 0.25, 0.25))
    assert info.notes == {"test accuracy": 0.875}
    assert info.architecture["class"] == "Sequential"
    assert ["0.weight", [4, 3, 3, 3]] in info.architecture["weights"]
    assert info.saved_with["torch"] == str(torch.__version__) and info.saved_with["device"] == "cpu"
    assert "3 classes" in repr(info) and "input 3×8×8" in repr(info)


def test_the_file_holds_only_weights_and_plain_values(tmp_path):
    model, loader = trained()
    path = cu.save_model(model, tmp_path / "tiny.pt", loader=loader)
    data = torch.load(path, weights_only=True)              # PyTorch's safe loader reads it as it is
    assert data["format"] == saving.MODEL_FORMAT
    assert all(t.device.type == "cpu" for t in data["state_dict"].values())


def test_classes_and_normalisation_can_be_given_by_hand_and_are_checked_against_the_outputs(tmp_path):
    model = make_model()
    info = cu.saving.saved_model_info(cu.save_model(model, tmp_path / "a.pt", classes=["x", "y", "z"], input_shape=(3, 8, 8),
                                             mean=[0.5] * 3, std=[0.2] * 3))
    assert info.classes == ("x", "y", "z") and info.mean == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="outputs 3 scores per input, but 2 class names"):
        cu.save_model(model, tmp_path / "b.pt", classes=["x", "y"], input_shape=(3, 8, 8))
    assert not (tmp_path / "b.pt").exists()


def test_a_file_of_another_architecture_is_refused_and_nothing_is_loaded(tmp_path):
    path = cu.save_model(make_model(width=4), tmp_path / "narrow.pt")
    wide = make_model(width=6)
    before = {k: v.clone() for k, v in wide.state_dict().items()}
    with pytest.raises(ValueError, match=r"does not fit this model, so nothing was loaded[\s\S]*"
                                         r"0.weight has shape 4×3×3×3 in the file, 6×3×3×3 in this model"):
        cu.load_model(path, wide)
    assert all(torch.equal(before[k], v) for k, v in wide.state_dict().items())
    with pytest.raises(ValueError, match=r"saved from a Sequential, this model is a Linear[\s\S]*not in the file"):
        cu.load_model(path, nn.Linear(3, 3))


def test_a_missing_file_names_the_folder_and_the_saved_models_in_it(tmp_path):
    cu.save_model(make_model(), tmp_path / "resnet.pt")
    with pytest.raises(FileNotFoundError, match=r"no file .*resnt\.pt[\s\S]*Saved models in .*: resnet\.pt"):
        cu.load_model(tmp_path / "resnt.pt", make_model())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cu.load_model(tmp_path / "nowhere" / "model.pt", make_model())


def test_files_that_are_not_saved_models_are_refused_with_what_they_are(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="is not a saved model file"):
        cu.load_model(text, make_model())
    state_dict = tmp_path / "state.pt"
    torch.save(make_model().state_dict(), state_dict)
    with pytest.raises(ValueError, match=r"plain state dict[\s\S]*model.load_state_dict"):
        cu.load_model(state_dict, make_model())
    pickled = tmp_path / "whole.pt"
    torch.save(make_model(), pickled)                     # the whole object, pickled: can run code when loaded
    with pytest.raises(ValueError, match=r"holds Python objects[\s\S]*refused"):
        cu.load_model(pickled, make_model())
    checkpoint = tmp_path / "run.pt"
    model, loader = make_model(), cu.TensorLoader(image_set(32, 1, "train"), 16)
    cu.train(model, loader, progress=False, checkpoint=checkpoint, precision="float32", channels_last=False)
    with pytest.raises(ValueError, match="is a training checkpoint of cu.train, not a saved model"):
        cu.saving.saved_model_info(checkpoint)


def test_save_model_replaces_a_saved_model_but_never_another_file(tmp_path):
    path = cu.save_model(make_model(), tmp_path / "m.pt", notes={"version": 1})
    cu.save_model(make_model(), path, notes={"version": 2})
    assert cu.saving.saved_model_info(path).notes == {"version": 2}
    other = tmp_path / "data.pt"
    torch.save({"my": torch.zeros(3)}, other)
    content = other.read_bytes()
    with pytest.raises(FileExistsError, match="exists and is not a saved model"):
        cu.save_model(make_model(), other)
    assert other.read_bytes() == content
    with pytest.raises(IsADirectoryError, match="is a folder"):
        cu.save_model(make_model(), tmp_path)


def test_an_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = cu.save_model(make_model(), tmp_path / "m.pt", notes={"version": 1})

    def broken_save(data, file):
        file.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        cu.save_model(make_model(), path, notes={"version": 2})
    monkeypatch.undo()
    assert cu.saving.saved_model_info(path).notes == {"version": 1}
    assert sorted(p.name for p in tmp_path.glob("*m.pt*")) == ["m.pt"]


@pytest.mark.parametrize("call, error, text", [
    (lambda p: cu.save_model(nn.Linear, p), TypeError, "the class Linear itself"),
    (lambda p: cu.save_model(make_model(), 42), TypeError, "path must be a file name"),
    (lambda p: cu.save_model(make_model(), p, notes={"model": make_model()}), TypeError, "notes may hold only"),
    (lambda p: cu.load_model(p, "model"), TypeError, "torch.nn.Module"),
])
def test_wrong_arguments_are_named(tmp_path, call, error, text):
    with pytest.raises(error, match=text):
        call(tmp_path / "m.pt")


def test_load_model_moves_the_weights_to_the_device_asked_for(tmp_path):
    path = cu.save_model(make_model(), tmp_path / "m.pt")
    model = cu.load_model(path, make_model(), device="cpu")
    assert cu.devices.model_device(model).type == "cpu"
