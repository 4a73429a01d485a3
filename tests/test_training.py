"""Tests for course_utils.training, on tiny synthetic tensors (no data sets needed)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.config import HISTORY_COLUMNS
from course_utils.devices import eval_mode, get_device, model_device, seed_everything
from course_utils.evaluation import (
    CPU_SLICE,
    Evaluation,
    accuracy,
    confusion_matrix,
    evaluate,
    per_class_accuracy,
    predict,
)
from course_utils.training import train


class Batches:
    """A minimal loader: a list of (X, y) pairs plus class names, like a TensorLoader."""

    def __init__(self, pairs: list, classes: tuple[str, ...]):
        self.pairs = pairs
        self.classes = classes

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


def make_data(n: int = 64, num_classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Small images (1 x 4 x 4) whose class is easy to learn: a bright pixel per class."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (n,), generator=generator)
    X = torch.randn(n, 1, 4, 4, generator=generator) * 0.1
    X[torch.arange(n), 0, y // 4, y % 4] += 2.0
    return X, y


def make_model(num_classes: int = 3) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, num_classes))


def make_loader(batch_size: int = 8, shuffle: bool = False) -> DataLoader:
    X, y = make_data()
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle)


@pytest.fixture(autouse=True)
def no_fast_mode(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)


# --- devices and seeds ------------------------------------------------------


def test_get_device_cpu_and_default():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device().type in ("cuda", "mps", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_get_device_unavailable_preference_is_a_clear_error():
    with pytest.raises(ValueError, match="not available.*Available here: .*cpu"):
        get_device("cuda")


@pytest.mark.parametrize("prefer", ["gpu", "GPU", "", "cuda:x", "tpu"])
def test_get_device_unknown_name_is_a_clear_error(prefer):
    with pytest.raises(ValueError, match=r"get_device: prefer must be a device such as 'cpu', 'cuda' or 'mps'") as error:
        get_device(prefer)
    assert f"got {prefer!r}" in str(error.value)
    assert error.value.__context__ is None   # torch's own error is not shown underneath
    if prefer.lower() == "gpu":
        assert "Did you mean 'cuda'?" in str(error.value)


def test_model_device_handles_parameterless_models():
    assert model_device(nn.Linear(2, 2)) == torch.device("cpu")
    assert model_device(nn.ReLU()) == torch.device("cpu")


def test_seed_everything_seeds_cuda_once_through_torch_manual_seed(monkeypatch):
    """torch.manual_seed already seeds every CUDA device: seed_everything does not do it a second time."""
    seeded = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)   # as on a machine with a GPU
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    seed_everything(3)
    assert seeded == [3]


def test_seed_everything_makes_training_repeatable():
    histories = []
    for _ in range(2):
        seed_everything(0)
        model = make_model()
        histories.append(train(model, make_loader(shuffle=True), epochs=2, log_every=3, progress=False))
    # Everything but the wall-clock column repeats exactly.
    pd.testing.assert_frame_equal(histories[0].drop(columns="seconds"), histories[1].drop(columns="seconds"))


# --- train ------------------------------------------------------------------


def test_train_history_rows_and_columns(capsys):
    seed_everything(0)
    history = train(make_model(), make_loader(batch_size=8), epochs=2, log_every=3, progress=False)
    assert list(history.columns) == HISTORY_COLUMNS
    # 8 batches per epoch: rows after batches 3 and 6, and at the epoch's end (8).
    assert history["epoch"].tolist() == [1, 1, 1, 2, 2, 2]
    assert history["batch"].tolist() == [3, 6, 8, 3, 6, 8]
    assert history["examples"].tolist() == [24, 48, 64, 88, 112, 128]
    assert history["accuracy"].between(0, 1).all()
    assert (history["loss"] > 0).all()
    out = capsys.readouterr()
    epoch_lines = [line for line in out.out.splitlines() if line.startswith("epoch")]
    assert len(epoch_lines) == 2 and "train accuracy" in epoch_lines[0]
    assert out.err == ""  # progress=False: no progress bar


def test_a_short_last_window_joins_the_row_before_it():
    """7 batches logged every 3: a row after batch 6 would leave one batch (4 images) for the last row."""
    seed_everything(0)
    history = train(make_model(), make_loader(batch_size=10), epochs=2, log_every=3, progress=False)
    assert history["batch"].tolist() == [3, 7, 3, 7]
    assert history["examples"].tolist() == [30, 64, 94, 128]


def test_train_learns_something():
    seed_everything(0)
    model = make_model()
    loader = make_loader()
    before = evaluate(model, loader).accuracy
    train(model, loader, epochs=15, lr=1e-2, progress=False)
    assert evaluate(model, loader).accuracy > max(before, 0.8)


def test_train_accepts_a_list_of_pairs_and_a_custom_optimizer():
    X, y = make_data(n=20)
    pairs = [(X[:10], y[:10]), (X[10:], y[10:])]
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = train(model, pairs, optimizer=optimizer, device="cpu", progress=False)
    assert history["examples"].tolist() == [20]
    assert model.training


def test_train_shows_a_progress_bar_by_default(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_LIVE_OUTPUT", raising=False)   # make test switches live output off
    train(make_model(), make_loader(), progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


def test_fast_mode_caps_epochs_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FAST", "1")
    history = train(make_model(), make_loader(), epochs=3, progress=False)
    assert history["epoch"].unique().tolist() == [1]
    lines = capsys.readouterr().out.splitlines()
    assert sum("Fast mode" in line for line in lines) == 1
    assert any("1 epoch instead of 3" in line for line in lines)


def test_train_empty_loader_is_an_error():
    with pytest.raises(ValueError, match="train: loader must be a loader that gives .* got \\[\\], which gives no batch"):
        train(make_model(), [], progress=False)
    with pytest.raises(ValueError, match="no batches"):                  # a loader without len(): found when run
        train(make_model(), (batch for batch in []), progress=False)


def test_train_generator_runs_out_after_one_epoch():
    X, y = make_data(n=8)
    batches = ((X, y) for _ in range(1))
    with pytest.raises(ValueError, match="generator"):
        train(make_model(), batches, epochs=2, progress=False)


def test_train_labels_out_of_range():
    X, y = make_data(num_classes=5)
    with pytest.raises(ValueError, match="outputs 3 scores"):
        train(make_model(num_classes=3), [(X, y)], progress=False)


def test_train_output_must_be_2d():
    X, y = make_data()
    model = nn.Conv2d(1, 3, kernel_size=3)  # forgot nn.Flatten and nn.Linear
    with pytest.raises(ValueError, match="must be 2-D.*Flatten"):
        train(model, [(X, y)], progress=False)


def test_train_integer_inputs_are_an_error():
    X, y = make_data()
    with pytest.raises(TypeError, match="floating point.*uint8"):
        train(make_model(), [((X * 50).to(torch.uint8), y)], progress=False)


def test_train_float_labels_are_an_error():
    X, y = make_data()
    with pytest.raises(TypeError, match="class indices"):
        train(make_model(), [(X, y.float())], progress=False)


def test_train_batches_must_be_pairs():
    X, y = make_data()
    with pytest.raises(TypeError, match=r"pair \(X, y\)"):
        train(make_model(), [(X, y, y)], progress=False)


def same_bits(a: dict, b: dict) -> bool:
    """Two state dicts hold exactly the same numbers (NaN included)."""
    return a.keys() == b.keys() and all(torch.equal(a[k].view(torch.uint8), b[k].view(torch.uint8)) for k in a)


def state(model: nn.Module) -> dict:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def test_a_model_with_nan_weights_is_refused_before_any_step_and_left_as_it_was():
    model = make_model()
    with torch.no_grad():
        model[1].weight[0, 0] = float("nan")
    model[3].eval()                                   # a layer the student put in eval mode on purpose
    before = state(model)
    with pytest.raises(ValueError, match=r"train: model must be .* weights hold NaN or infinite values \(1.weight\)"):
        train(model, make_loader(), progress=False)
    assert same_bits(state(model), before) and not model[3].training and model.training


def test_a_nan_pixel_in_the_first_batch_is_refused_before_any_step():
    X, y = make_data(16)
    X[5, 0, 1, 1] = float("nan")
    model = make_model()
    before = state(model)
    with pytest.raises(ValueError, match=r"first batch's inputs X must be finite .* \(image 5\)"):
        train(model, [(X[:8], y[:8]), (X[8:], y[8:])], progress=False)
    assert same_bits(state(model), before)


def test_a_diverging_run_is_put_back_to_before_training_when_its_first_window_diverges():
    """lr 1e30: the loss is NaN within the first window; the model is exactly as before, never left with NaN."""
    seed_everything(0)
    model = make_model()
    before = state(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(FloatingPointError, match="smaller learning rate") as caught:
        train(model, make_loader(), optimizer=optimizer, epochs=3, log_every=2, progress=False)
    assert "it is exactly as it was before training" in str(caught.value)
    assert same_bits(state(model), before) and caught.value.history.empty


def test_a_run_that_diverges_later_keeps_the_weights_of_the_last_finite_point():
    """A loss that turns NaN at the 5th batch: the model gets the weights it had after batch 4 (the last log point)."""
    calls = []

    def loss_that_breaks(scores, y):
        calls.append(1)
        loss = nn.functional.cross_entropy(scores, y)
        return loss * float("nan") if len(calls) >= 5 else loss

    seed_everything(0)
    model = make_model()
    before = state(model)
    with pytest.raises(FloatingPointError, match="the loss became nan during epoch 1 \\(between batches 5 and 6\\)") as caught:
        train(model, make_loader(), loss_fn=loss_that_breaks, log_every=2, progress=False)
    message = str(caught.value)
    assert "the weights it had after batch 4 of epoch 1" in message and "smaller learning rate" in message
    assert all(bool(torch.isfinite(value).all()) for value in model.state_dict().values())
    assert list(caught.value.history["batch"]) == [2, 4]
    assert not same_bits(state(model), before)                      # the 4 good steps were kept


def test_a_nan_pixel_in_a_later_batch_is_reported_as_the_data_and_no_step_with_it_is_kept():
    X, y = make_data(64)
    X[40, 0, 0, 0] = float("nan")                    # in batch 6 of 8
    loader = [(X[i:i + 8], y[i:i + 8]) for i in range(0, 64, 8)]
    model = make_model()
    with pytest.raises(FloatingPointError, match="inputs X in those batches are NaN or infinite") as caught:
        train(model, loader, log_every=2, progress=False)
    assert "after batch 4 of epoch 1" in str(caught.value)
    assert len(caught.value.history) == 2                # the rows of batches 1-2 and 3-4
    assert all(bool(torch.isfinite(value).all()) for value in model.state_dict().values())


def test_train_model_without_parameters_is_an_error():
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(nn.Flatten(), make_loader(), progress=False)


def test_train_rejects_bad_log_every_and_epochs():
    with pytest.raises(ValueError, match="log_every"):
        train(make_model(), make_loader(), log_every=0, progress=False)
    with pytest.raises(ValueError, match="at least 1"):
        train(make_model(), make_loader(), epochs=0, progress=False)


# --- predict and evaluate ------------------------------------------------------


def test_predict_from_a_tensor_in_batches_and_from_a_loader():
    seed_everything(0)
    model = make_model().eval()
    X, _ = make_data()
    expected = model(X).argmax(dim=1)
    model.train()
    from_tensor = predict(model, X, batch_size=5)
    from_loader = predict(model, make_loader())
    assert from_tensor.dtype == torch.int64 and from_tensor.device.type == "cpu"
    assert torch.equal(from_tensor, expected)
    assert torch.equal(from_loader, expected)
    assert model.training  # mode restored


def test_predict_errors():
    with pytest.raises(ValueError, match="no batches"):
        predict(make_model(), [])
    with pytest.raises(TypeError, match="floating point"):
        predict(make_model(), torch.zeros(4, 1, 4, 4, dtype=torch.uint8))


@pytest.mark.parametrize("start_in_training_mode", [True, False])
def test_evaluate_restores_each_layers_mode(start_in_training_mode):
    model = make_model()
    model.train(start_in_training_mode)
    model[3].eval()  # a layer with its own mode must keep it
    before = [m.training for m in model.modules()]
    evaluate(model, make_loader())
    assert [m.training for m in model.modules()] == before


def test_evaluate_numbers_match_a_hand_computation():
    seed_everything(0)
    model = make_model().eval()
    X, y = make_data()
    scores = model(X)
    result = evaluate(model, Batches([(X[:40], y[:40]), (X[40:], y[40:])], ("a", "b", "c")))
    assert isinstance(result, Evaluation)
    assert result.accuracy == pytest.approx((scores.argmax(1) == y).float().mean().item())
    assert result.loss == pytest.approx(nn.functional.cross_entropy(scores, y).item(), rel=1e-5)
    assert torch.equal(result.labels, y)
    assert result.classes == ("a", "b", "c")
    assert result.confusion.sum() == 64 and result.confusion.shape == (3, 3)
    assert list(result.per_class.index) == ["a", "b", "c"]
    assert repr(result).startswith("Evaluation(accuracy=") and "on 64 images, loss=" in repr(result)


def test_evaluate_falls_back_to_numbered_classes():
    result = evaluate(make_model(), make_loader())
    assert result.classes == ("0", "1", "2")


def test_evaluate_class_count_must_match_the_model():
    X, y = make_data()
    with pytest.raises(ValueError, match="outputs 3 scores per image, but the loader has 4 classes"):
        evaluate(make_model(), Batches([(X, y)], ("a", "b", "c", "d")))


def test_evaluate_empty_loader_is_an_error():
    with pytest.raises(ValueError, match="no batches"):
        evaluate(make_model(), [])


def test_evaluation_repr_and_most_confused():
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    predictions = torch.tensor([1, 1, 0, 0, 1, 2])
    result = Evaluation(4 / 6, 1.2345, predictions, labels, ("cat", "dog", "frog"))
    assert repr(result) == "Evaluation(accuracy=66.7% on 6 images, loss=1.23)"
    table = result.most_confused(k=5)
    assert list(table.columns) == ["true", "predicted", "count"]
    assert table.iloc[0].tolist() == ["cat", "dog", 2]
    assert table["count"].tolist() == [2, 1]
    assert len(result.most_confused(k=1)) == 1


# --- helpers -------------------------------------------------------------------


def test_accuracy_helper():
    assert accuracy(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2])) == 0.75
    assert accuracy([1, 1], np.array([1, 0])) == 0.5
    with pytest.raises(ValueError, match="2 predictions but 3 labels"):
        accuracy([0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="argmax"):
        accuracy(torch.zeros(3, 2), torch.zeros(3))


def test_confusion_matrix_rows_are_true_classes():
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert np.issubdtype(matrix.dtype, np.integer)
    with pytest.raises(ValueError, match="0 .. 2"):
        confusion_matrix([0, 3], [0, 0], num_classes=3)


def test_per_class_accuracy_has_nan_for_missing_classes():
    table = per_class_accuracy([0, 0, 1], [0, 1, 1], ["cat", "dog", "frog"])
    assert list(table.columns) == ["correct", "total", "accuracy"]
    assert table.loc["cat", "accuracy"] == 0.5
    assert table.loc["dog", "total"] == 1
    assert np.isnan(table.loc["frog", "accuracy"])


def test_eval_mode_restores_mode_after_an_error():
    model = make_model()
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            assert not model.training
            raise RuntimeError("boom")
    assert all(m.training for m in model.modules())


class BatchSizeRecorder(nn.Module):
    """A small convolutional classifier that remembers how many inputs each forward pass got."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(32, 3))
        self.seen: list[int] = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        self.seen.append(len(X))
        return self.layers(X)


@pytest.mark.parametrize("tta", [False, True])
def test_evaluate_on_a_cpu_feeds_big_batches_in_slices_with_the_same_results(tta):
    seed_everything(0)
    model = BatchSizeRecorder()
    X, y = make_data(n=CPU_SLICE * 2 + 22)
    result = evaluate(model, Batches([(X, y)], ("a", "b", "c")), tta=tta)
    passes = 2 if tta else 1
    assert model.seen == [CPU_SLICE] * (2 * passes) + [22] * passes
    with torch.no_grad():
        scores = model.layers(X) if not tta else (model.layers(X) + model.layers(X.flip(dims=[-1]))) / 2
    assert torch.equal(result.predictions, scores.argmax(1))
    assert result.loss == pytest.approx(nn.functional.cross_entropy(scores, y).item(), rel=1e-5)


def test_predict_on_a_cpu_feeds_big_batches_in_slices():
    model = BatchSizeRecorder()
    X, _ = make_data(n=CPU_SLICE + 1)
    predictions = predict(model, X, batch_size=len(X))
    assert model.seen == [CPU_SLICE, 1]
    with torch.no_grad():
        assert torch.equal(predictions, model.layers(X).argmax(1))


def test_a_wrong_score_shape_in_a_slice_is_named_with_the_slice_and_the_batch():
    class FlattensTheBatchAway(nn.Module):
        """The typical bug: a view that mixes images of the batch together (x.view(-1, 32))."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)

        def forward(self, X):
            return self.conv(X).view(-1, 16)[:, :3]

    X, y = make_data(n=CPU_SLICE * 2)
    message = (rf"gave {2 * CPU_SLICE} rows of scores for a batch of {CPU_SLICE} inputs.*"
               rf"slices of at most {CPU_SLICE} images: this was a slice of a batch of {2 * CPU_SLICE}")
    with pytest.raises(ValueError, match=message):
        evaluate(FlattensTheBatchAway(), Batches([(X, y)], ("a", "b", "c")))
    with pytest.raises(ValueError, match=message):
        predict(FlattensTheBatchAway(), Batches([(X, y)], ("a", "b", "c")))


def test_predict_from_a_loader_slices_each_batch():
    model = BatchSizeRecorder()
    X, y = make_data(n=CPU_SLICE + 10)
    predictions = predict(model, Batches([(X, y), (X[:5], y[:5])], ("a", "b", "c")))
    assert model.seen == [CPU_SLICE, 10, 5]
    with torch.no_grad():
        assert torch.equal(predictions[:len(X)], model.layers(X).argmax(1))


def test_a_fully_connected_model_gets_whole_batches_on_a_cpu():
    model = BatchSizeRecorder()
    model.layers = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    X, y = make_data(n=CPU_SLICE * 3)
    evaluate(model, Batches([(X, y)], ("a", "b", "c")))
    assert model.seen == [CPU_SLICE * 3]


def test_a_batch_with_fewer_labels_than_inputs_is_named():
    X, y = make_data()
    with pytest.raises(ValueError, match="gave 64 rows of scores for a batch of 60 inputs"):
        evaluate(make_model(), Batches([(X, y[:60])], ("a", "b", "c")))
