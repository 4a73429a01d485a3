"""Tests for what the rewritten training loop adds: validation, schedulers, read-backs only at
log points, mixed precision and channels_last chosen without side effects, up-front checks,
and the progress display. Tiny synthetic tensors only; no timing assertions."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils import progress, speed, training
from course_utils.devices import seed_everything
from course_utils.evaluation import evaluate
from course_utils.speed import Settings, choose_settings
from course_utils.training import train


class Batches:
    """A minimal re-iterable loader with class names, like a TensorLoader."""

    def __init__(self, pairs, classes):
        self.pairs, self.classes = pairs, classes

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self):
        return len(self.pairs)


def image_data(n=48, num_classes=3, seed=0):
    """Tiny 3×8×8 'images' whose class is a bright square at a class-specific place."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (n,), generator=generator)
    X = torch.randn(n, 3, 8, 8, generator=generator) * 0.1
    for i, label in enumerate(y.tolist()):
        X[i, :, 2 * label:2 * label + 3, 1:4] += 1.5
    return X, y


def batches(n=48, batch_size=8, num_classes=3, seed=0):
    X, y = image_data(n, num_classes, seed)
    pairs = [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n, batch_size)]
    return Batches(pairs, tuple("abcdefgh"[:num_classes]))


def conv_model(num_classes=3):
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, num_classes))


@pytest.fixture(autouse=True)
def fresh_measurements(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    speed.forget_measurements()
    yield
    speed.forget_measurements()


def weights(model):
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- validation and the history table ---------------------------------------------


def test_validation_is_measured_after_each_epoch_and_recorded_in_the_last_row(capsys):
    seed_everything(0)
    model = conv_model()
    history = train(model, batches(), epochs=3, validation=batches(seed=1), log_every=4, progress=False)
    epoch_ends = history.groupby("epoch").tail(1)
    assert len(epoch_ends) == 3
    assert epoch_ends["val_accuracy"].between(0, 1).all() and (epoch_ends["val_loss"] > 0).all()
    others = history.drop(index=epoch_ends.index)
    assert others["val_loss"].isna().all() and others["val_accuracy"].isna().all()
    # The recorded number is what evaluate says about the final model.
    assert epoch_ends["val_accuracy"].iloc[-1] == pytest.approx(evaluate(model, batches(seed=1)).accuracy)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and all("validation loss" in line for line in lines)
    assert model.training   # left in training mode after the validation passes


def test_without_validation_the_validation_columns_are_empty():
    history = train(conv_model(), batches(), progress=False)
    assert history[["val_loss", "val_accuracy"]].isna().all().all()
    assert history["seconds"].is_monotonic_increasing and (history["seconds"] > 0).all()


def test_a_scheduler_is_stepped_after_every_batch_and_the_lr_is_recorded():
    model = conv_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    history = train(model, batches(), epochs=2, optimizer=optimizer, scheduler=scheduler,
                    log_every=2, progress=False)
    assert scheduler.last_epoch == 12          # 6 batches × 2 epochs
    # The lr column is the rate after the batches of that row: 0.1 / (1 + steps taken).
    steps = [2, 4, 6, 8, 10, 12]
    assert history["lr"].tolist() == pytest.approx([0.1 / (1 + s) for s in steps])


def test_results_are_read_back_from_the_device_only_at_log_points(monkeypatch):
    calls = []
    original = training._Running.means
    monkeypatch.setattr(training._Running, "means", lambda self: calls.append(1) or original(self))
    history = train(conv_model(), batches(n=64), epochs=2, log_every=4, progress=False)
    # 8 batches per epoch: two log rows per epoch plus one read of the epoch's totals: 6 read-backs, not 16.
    assert len(history) == 4
    assert len(calls) == 6


def test_a_history_records_its_settings():
    history = train(conv_model(), batches(), progress=False, precision="float32", channels_last=False)
    assert history.attrs["settings"]["precision"] == "float32"
    assert history.attrs["settings"]["channels_last"] is False
    assert history.attrs["settings"]["device"] == "cpu"


# --- precision and memory layout ----------------------------------------------------


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_low_precision_training_runs_and_learns_on_the_cpu(precision):
    """The autocast + (for float16) GradScaler code paths, which CUDA uses, run here on the CPU."""
    seed_everything(0)
    model = conv_model()
    data = batches(n=96)
    history = train(model, data, epochs=8, lr=1e-2, precision=precision, progress=False)
    assert history.attrs["settings"]["precision"] == precision
    assert all(p.dtype == torch.float32 for p in model.parameters())   # weights stay float32
    assert evaluate(model, data).accuracy > 0.8


def test_channels_last_training_keeps_the_model_in_that_layout_and_learns():
    seed_everything(0)
    model = conv_model()
    data = batches(n=96)
    train(model, data, epochs=8, lr=1e-2, channels_last=True, precision="float32", progress=False)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert evaluate(model, data).accuracy > 0.8


def test_measuring_the_settings_changes_nothing_in_the_model_or_the_random_numbers():
    seed_everything(0)
    model = conv_model()
    X, y = image_data()
    before = weights(model)
    model[1].running_mean.add_(0.5)            # batch-norm statistics that a train-mode pass would move
    before_buffers = weights(model)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    settings = choose_settings(model, X, y, nn.CrossEntropyLoss(), torch.device("cpu"))
    assert torch.equal(torch.rand(3), expected_next)                   # RNG untouched (dropout ran)
    assert same_weights(weights(model), before_buffers)                  # weights and buffers untouched
    assert not same_weights(before, before_buffers)                      # (the check above can fail)
    assert all(p.grad is None for p in model.parameters())               # no gradients left behind
    assert isinstance(settings, Settings) and settings.precision in ("float32", "bfloat16")


def choice_for(times: dict, monkeypatch) -> Settings:
    """What "auto" chooses when a step takes ``times[(precision, channels_last)]`` seconds."""
    monkeypatch.setattr(speed, "time_step", lambda model, X, y, loss_fn, s: times[(s.precision, s.channels_last)])
    monkeypatch.setattr(speed, "low_precision_candidate", lambda device: "bfloat16")
    speed.forget_measurements()
    X, y = image_data()
    return choose_settings(conv_model(), X, y, nn.CrossEntropyLoss(), torch.device("cpu"))


def test_auto_keeps_float32_and_standard_layout_unless_clearly_faster(monkeypatch):
    """The decision rule, with the timing replaced by fixed numbers."""
    # channels_last 1.05× (needs 1.10×), bfloat16 1.11× (needs 1.20×), both 1.08×: nothing pays.
    times = {("float32", False): 1.0, ("float32", True): 0.95, ("bfloat16", False): 0.9, ("bfloat16", True): 0.92}
    settings = choice_for(times, monkeypatch)
    assert (settings.precision, settings.channels_last) == ("float32", False)
    assert dict(settings.speed_ups) == pytest.approx({"channels_last": 1 / 0.95, "bfloat16": 1 / 0.9})


def test_auto_takes_two_changes_that_only_help_together(monkeypatch):
    """Seen on an AMD EPYC (AVX-512 BF16): each alone barely helps, both together are twice as fast."""
    times = {("float32", False): 1.0, ("float32", True): 0.95, ("bfloat16", False): 0.9, ("bfloat16", True): 0.5}
    settings = choice_for(times, monkeypatch)
    assert (settings.precision, settings.channels_last) == ("bfloat16", True)
    assert dict(settings.speed_ups) == pytest.approx({"channels_last": 0.9 / 0.5, "bfloat16": 0.95 / 0.5})


def test_auto_drops_a_change_that_adds_nothing_to_the_other(monkeypatch):
    # bfloat16 halves the step; channels_last on top of it is only 1.02× faster: not worth it.
    times = {("float32", False): 1.0, ("float32", True): 0.98, ("bfloat16", False): 0.5, ("bfloat16", True): 0.49}
    settings = choice_for(times, monkeypatch)
    assert (settings.precision, settings.channels_last) == ("bfloat16", False)
    assert dict(settings.speed_ups)["bfloat16"] == pytest.approx(2.0)
    # ... and the other way round: channels_last alone pays, bfloat16 adds 1.1× (needs 1.2×).
    times = {("float32", False): 1.0, ("float32", True): 0.7, ("bfloat16", False): 0.95, ("bfloat16", True): 0.64}
    settings = choice_for(times, monkeypatch)
    assert (settings.precision, settings.channels_last) == ("float32", True)


def test_the_choice_is_measured_once_per_model_shape_and_device(monkeypatch):
    measured = []
    real = speed._measure
    monkeypatch.setattr(speed, "_measure", lambda *args: measured.append(1) or real(*args))
    X, y = image_data()
    for _ in range(3):
        choose_settings(conv_model(), X, y, nn.CrossEntropyLoss(), torch.device("cpu"))
    assert len(measured) == 1


def test_models_without_convolutions_are_never_switched_to_channels_last():
    X, y = image_data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 3))
    settings = choose_settings(model, X, y, nn.CrossEntropyLoss(), torch.device("cpu"), channels_last=True)
    assert settings.channels_last is False


def test_flip_test_time_augmentation_averages_the_scores_of_an_image_and_its_mirror():
    seed_everything(0)
    model = conv_model().eval()
    X, y = image_data(n=16)
    with torch.no_grad():
        expected = ((model(X) + model(X.flip(-1))) / 2).argmax(1)
    result = evaluate(model, Batches([(X, y)], ("a", "b", "c")), tta=True)
    assert torch.equal(result.predictions, expected)


# --- checks before any training step --------------------------------------------------


def test_more_outputs_than_classes_is_refused_before_any_step():
    model = conv_model(num_classes=5)
    before = weights(model)
    with pytest.raises(ValueError, match="outputs 5 scores per image, but the loader has 3 classes"):
        train(model, batches(num_classes=3), progress=False)
    assert same_weights(weights(model), before)


def test_a_generator_with_several_epochs_is_refused_before_any_step():
    model = conv_model()
    before = weights(model)
    X, y = image_data()
    with pytest.raises(ValueError, match="generator.*only once.*3 times"):
        train(model, ((X[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8)), epochs=3, progress=False)
    assert same_weights(weights(model), before)


def test_a_generator_is_fine_for_one_epoch():
    X, y = image_data()
    history = train(conv_model(), ((X[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8)), progress=False)
    assert history["examples"].iloc[-1] == 48


def test_an_optimizer_for_another_model_is_refused():
    old_model, model = conv_model(), conv_model()
    optimizer = torch.optim.Adam(old_model.parameters())
    with pytest.raises(ValueError, match="made for another model"):
        train(model, batches(), optimizer=optimizer, progress=False)


def test_a_scheduler_without_its_optimizer_is_refused():
    model = conv_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    with pytest.raises(ValueError, match="pass that optimizer too"):
        train(model, batches(), scheduler=scheduler, progress=False)
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="different optimizer"):
        train(model, batches(), optimizer=other, scheduler=scheduler, progress=False)


@pytest.mark.parametrize("call, error, text", [
    (lambda: train(nn.Linear, batches()), TypeError, "the class Linear itself"),
    (lambda: train("model", batches()), TypeError, "torch.nn.Module"),
    (lambda: train(conv_model(), image_data()), TypeError, r"one batch \(X, y\)"),
    (lambda: train(conv_model(), torch.zeros(4, 3, 8, 8)), TypeError, "not a single tensor"),
    (lambda: train(conv_model(), 42), TypeError, "cannot be looped over"),
    (lambda: train(conv_model(), batches(), lr=-1), ValueError, "positive number"),
    (lambda: train(conv_model(), batches(), lr=float("nan")), ValueError, "positive number"),
    (lambda: train(conv_model(), batches(), precision="half"), ValueError, "precision must be one of"),
    (lambda: train(conv_model(), batches(), channels_last="yes"), ValueError, "channels_last must be one of"),
    (lambda: train(conv_model(), batches(), progress="no"), TypeError, "progress must be True or False"),
    (lambda: train(conv_model(), batches(), loss_fn=nn.CrossEntropyLoss), TypeError, "create one"),
    (lambda: train(conv_model(), batches(), validation=torch.zeros(3)), TypeError, "validation"),
    (lambda: train(conv_model(), batches(), optimizer="adam"), TypeError, "torch.optim optimizer"),
])
def test_wrong_arguments_get_messages_that_name_them(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_evaluate_and_predict_check_their_arguments():
    from course_utils.evaluation import predict
    with pytest.raises(TypeError, match="the class"):
        evaluate(nn.Linear, batches())
    with pytest.raises(TypeError, match=r"one batch \(X, y\)"):
        evaluate(conv_model(), image_data())
    with pytest.raises(ValueError, match="batch_size"):
        predict(conv_model(), image_data()[0], batch_size=0)


# --- the progress display ---------------------------------------------------------------


class FakeHandle:
    def __init__(self, first):
        self.shown = [first]

    def update(self, data, raw=False):
        self.shown.append(data["text/plain"])


def test_notebook_progress_rewrites_one_line_per_epoch_and_ends_with_the_summary(monkeypatch):
    import IPython.display

    handles = []

    def fake_display(data, raw=False, display_id=False):
        handles.append(FakeHandle(data["text/plain"]))
        return handles[-1]

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(training, "make_progress", lambda show: progress.NotebookProgress())
    train(conv_model(), batches(n=64), epochs=2, log_every=4, progress=True)
    assert len(handles) == 2                                    # one output line per epoch
    for epoch, handle in enumerate(handles, start=1):
        assert handle.shown[0].startswith(f"epoch {epoch}/2 ▕")
        assert any("4/8 batches · loss" in line for line in handle.shown[1:-1])
        assert handle.shown[-1].startswith(f"epoch {epoch}/2: loss") and "train accuracy" in handle.shown[-1]
        assert "▕" not in handle.shown[-1]                    # what a saved notebook keeps: no bar


def test_live_output_is_off_outside_notebooks_and_with_the_variable(monkeypatch):
    assert progress.in_notebook() is False                 # pytest is not a Jupyter kernel
    monkeypatch.setenv("COURSE_LIVE_OUTPUT", "0")
    assert isinstance(progress.make_progress(True), progress.PlainProgress)
    assert type(progress.make_progress(True)) is progress.PlainProgress


def test_text_bar_fills_in_eighths():
    assert progress.text_bar(0, 10, width=4) == "▕    ▏"
    assert progress.text_bar(10, 10, width=4) == "▕████▏"
    assert progress.text_bar(1, 16, width=4) == "▕▎   ▏"     # 1/16 of 32 eighths = 2 eighths


def test_live_plot_draws_a_live_curve_only_in_a_notebook(monkeypatch):
    from course_utils import training_plots

    made = []

    class RecordingCurve:
        def __init__(self):
            made.append(self)
            self.updates, self.closed = 0, False

        def update(self, history):
            self.updates += 1

        def close(self):
            self.closed = True

    monkeypatch.setattr(training_plots, "LiveCurve", RecordingCurve)
    train(conv_model(), batches(), live_plot=True, progress=False, log_every=2)
    assert made == [], "outside a notebook no live curve is made"
    monkeypatch.setattr(progress, "in_notebook", lambda: True)      # as if in a Jupyter kernel
    history = train(conv_model(), batches(), live_plot=True, progress=False, log_every=2)
    assert len(made) == 1 and made[0].closed
    assert made[0].updates == len(history)                           # redrawn at every history row


def test_nan_loss_is_reported_with_the_epoch():
    model = conv_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(FloatingPointError, match="during epoch 1.*smaller learning rate"):
        train(model, batches(), optimizer=optimizer, precision="float32", progress=False)


def test_candidates_are_timed_in_turns_after_a_warm_up(monkeypatch):
    calls = []
    monkeypatch.setattr(speed, "time_step", lambda model, X, y, loss_fn, s: calls.append(s.precision) or 1.0)
    candidates = [Settings(torch.device("cpu"), "float32", False), Settings(torch.device("cpu"), "bfloat16", False)]
    speed.time_candidates(None, None, None, None, candidates)
    assert calls == ["float32", "bfloat16"] * (1 + speed.TIMED_STEPS)
