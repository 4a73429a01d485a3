"""The synthetic Sign-Language MNIST stand-in: its format, its labelling, and that it is learnable."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from course_utils.data.arrays import SIGN_COLUMNS
from course_utils.batches import TensorLoader, make_loaders
from course_utils.data import load_dataset
from course_utils.data.synthetic import MARKER_TEXT, SYNTHETIC_MARKER, main, synthetic_images, write_synthetic_sign_language


def test_files_have_exactly_the_real_format(tmp_path):
    train_csv, test_csv = write_synthetic_sign_language(tmp_path, n_train=3, n_test=2)
    assert (train_csv.name, test_csv.name) == ("sign_mnist_train.csv", "sign_mnist_test.csv")
    assert train_csv.read_text().splitlines()[0] == ",".join(SIGN_COLUMNS)
    table = pd.read_csv(train_csv)
    assert table.shape == (24 * 3, 785)
    assert all(dtype.kind == "i" for dtype in table.dtypes)
    assert table.iloc[:, 1:].to_numpy().min() >= 0 and table.iloc[:, 1:].to_numpy().max() <= 255
    counts = table["label"].value_counts()
    assert sorted(counts.index) == [label for label in range(25) if label != 9]
    assert set(counts) == {3}
    assert len(pd.read_csv(test_csv)) == 24 * 2
    assert "NOT the real data" in (tmp_path / SYNTHETIC_MARKER).read_text()


def test_same_seed_same_files(tmp_path):
    a = write_synthetic_sign_language(tmp_path / "a", n_train=2, n_test=1, seed=5)
    b = write_synthetic_sign_language(tmp_path / "b", n_train=2, n_test=1, seed=5)
    c = write_synthetic_sign_language(tmp_path / "c", n_train=2, n_test=1, seed=6)
    assert a[0].read_bytes() == b[0].read_bytes() and a[1].read_bytes() == b[1].read_bytes()
    assert a[0].read_bytes() != c[0].read_bytes()


def test_letters_are_drawn_at_different_positions():
    images = synthetic_images(np.zeros(50, dtype=int), np.random.default_rng(0)).astype(float)
    rows_of_brightest = {int(np.argmax(image.sum(axis=1))) for image in images}
    assert len(rows_of_brightest) > 5   # the pattern moves around


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="per letter"):
        write_synthetic_sign_language(tmp_path, n_train=0)


def test_command_line(tmp_path, capsys):
    main([str(tmp_path / "cli"), "--n-train", "1", "--n-test", "1"])
    assert (tmp_path / "cli" / "sign_mnist_train.csv").is_file()
    assert "SYNTHETIC" in capsys.readouterr().out


def test_fallback_loads_a_loudly_labelled_stand_in(monkeypatch, data_root, capsys):
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    train = load_dataset("sign_language_mnist", "train")
    test = load_dataset("sign_language_mnist", "test")
    out = capsys.readouterr().out
    assert "SYNTHETIC stand-in for Sign-Language MNIST (train)" in out and "NOT the real data" in out
    assert train.synthetic and test.synthetic
    assert train.title == "SYNTHETIC stand-in for Sign-Language MNIST — train (not real data)"
    assert "SYNTHETIC" in repr(train)
    assert (len(train), len(test)) == (24 * 100, 24 * 40)
    assert train.class_counts()["J"] == 0 and train.class_counts()["A"] == 100
    # It lives in its own folder, never mixed with real files, and says so:
    folder = data_root / "synthetic" / "sign_language_mnist"
    assert (folder / SYNTHETIC_MARKER).is_file()
    assert train.source == test.source == folder
    assert train.files == (folder / "sign_mnist_train.csv",) and test.files == (folder / "sign_mnist_test.csv",)
    assert not (data_root / "sign-language-mnist").exists()
    # mean/std come from the (synthetic) training split:
    x = train.images.float() / 255
    assert train.mean[0] == pytest.approx(x.mean().item(), abs=1e-4)
    assert test.mean == train.mean and train.std[0] == pytest.approx(x.std().item(), abs=1e-4)


def test_files_lead_back_to_the_csv_rows(monkeypatch, data_root):
    """``files`` is the CSV the images were decoded from: row i is image i, reshaped to 1×28×28."""
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    load_dataset("sign_language_mnist", "test")                  # decodes and writes the cache
    test = load_dataset("sign_language_mnist", "test")           # from the cache
    fast = load_dataset("sign_language_mnist", "test", fast=True)
    assert fast.fast and (fast.source, fast.files) == (test.source, test.files)
    (csv_path,) = test.files
    rows = pd.read_csv(csv_path, nrows=5)
    pixels = torch.tensor(rows.drop(columns="label").to_numpy(), dtype=torch.uint8)
    assert torch.equal(pixels.reshape(-1, 1, 28, 28), test.images[:5])
    assert rows["label"].tolist() == test.labels[:5].tolist()


def test_fast_mode_keeps_the_whole_stand_in(monkeypatch):
    """The defaults (100 train / 40 test rows per letter) are exactly fast mode's per-class sizes."""
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    for split, per_letter in (("train", 100), ("test", 40)):
        full = load_dataset("sign_language_mnist", split, fast=False)
        fast = load_dataset("sign_language_mnist", split, fast=True)
        assert fast.class_counts().tolist() == [per_letter] * 9 + [0] + [per_letter] * 15
        assert torch.equal(fast.images, full.images) and torch.equal(fast.labels, full.labels)
        assert fast.title.endswith("(not real data) [fast-mode subset]")


def test_a_stand_in_from_an_older_generator_is_regenerated(monkeypatch, data_root):
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    folder = data_root / "synthetic" / "sign_language_mnist"
    write_synthetic_sign_language(folder, n_train=2, n_test=1)
    (folder / SYNTHETIC_MARKER).write_text("SYNTHETIC stand-in (old generator)\n")
    test = load_dataset("sign_language_mnist", "test")
    assert len(test) == 24 * 40
    assert (folder / SYNTHETIC_MARKER).read_text() == MARKER_TEXT


def test_an_interrupted_regeneration_leaves_no_current_marker(monkeypatch, data_root):
    """The marker is deleted first and written last, so half-old CSV files are never trusted."""
    folder = data_root / "synthetic" / "sign_language_mnist"
    write_synthetic_sign_language(folder, n_train=2, n_test=1)
    (folder / SYNTHETIC_MARKER).write_text("SYNTHETIC stand-in (old generator)\n")
    real_savetxt = np.savetxt

    def savetxt_then_fail(fname, *args, **kwargs):   # the disk fills up while the test CSV is written
        real_savetxt(fname, *args, **kwargs)
        if "test" in Path(fname).name:
            raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(np, "savetxt", savetxt_then_fail)
        with pytest.raises(OSError, match="No space left"):
            write_synthetic_sign_language(folder)
    # New train CSV, old test CSV, no marker at all (and no temporary file):
    assert sorted(p.name for p in folder.iterdir()) == ["sign_mnist_test.csv", "sign_mnist_train.csv"]
    # So the loader writes the whole stand-in again:
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    assert len(load_dataset("sign_language_mnist", "test")) == 24 * 40
    assert (folder / SYNTHETIC_MARKER).read_text() == MARKER_TEXT


def test_without_fallback_the_real_download_path_is_taken(data_root):
    with pytest.raises(FileNotFoundError, match="sign_mnist_train.csv"):
        load_dataset("sign_language_mnist", "train", download=False)


def test_marker_in_the_real_folder_skips_the_row_count(data_root):
    """Synthetic files are recognised by their marker, wherever they are."""
    write_synthetic_sign_language(data_root / "sign-language-mnist", n_train=2, n_test=1)
    data = load_dataset("sign_language_mnist", "test")
    assert data.synthetic and len(data) == 24


def train_and_score(model: nn.Module, train: TensorLoader, test: TensorLoader, epochs: int, lr: float) -> float:
    """A minimal training loop (Adam + cross-entropy), then accuracy on the test loader."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for X, y in train:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = sum((model(X).argmax(dim=1) == y).sum().item() for X, y in test)
    return correct / len(test.dataset)


def test_convnet_beats_a_linear_model(monkeypatch):
    """The stand-in rewards convolution: the same strokes appear at random positions."""
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    train, test = make_loaders("sign_language_mnist", batch_size=64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # far faster than 2 threads on a busy 2-core machine
    try:
        torch.manual_seed(0)
        linear = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 25))
        torch.manual_seed(0)
        convnet = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
            nn.Flatten(), nn.Linear(32, 25),
        )
        linear_accuracy = train_and_score(linear, train, test, epochs=30, lr=1e-2)
        conv_accuracy = train_and_score(convnet, train, test, epochs=12, lr=3e-3)
    finally:
        torch.set_num_threads(threads)
    assert conv_accuracy > 0.8, conv_accuracy
    assert conv_accuracy > linear_accuracy + 0.4, (conv_accuracy, linear_accuracy)


def test_one_epoch_is_enough_to_learn_something(monkeypatch):
    """As in notebook 07 (fast mode: ONE epoch, batch 64, Adam lr 1e-3): a ConvNet is far above chance
    (1/24 ≈ 4 %), and a linear model clearly below the ConvNet."""
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    train, test = make_loaders("sign_language_mnist", batch_size=64)
    assert len(train) == 38   # 2,400 images: 38 steps per epoch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        convnet = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),     # 32×24×24 -> 32×12×12
            nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),    # 32×10×10 -> 32×5×5
            nn.Flatten(), nn.Linear(32 * 5 * 5, 25),
        )
        torch.manual_seed(0)
        linear = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 25))
        conv_accuracy = train_and_score(convnet, train, test, epochs=1, lr=1e-3)
        linear_accuracy = train_and_score(linear, train, test, epochs=1, lr=1e-3)
    finally:
        torch.set_num_threads(threads)
    assert conv_accuracy > 0.3, conv_accuracy
    assert conv_accuracy > linear_accuracy + 0.1, (conv_accuracy, linear_accuracy)
