"""The synthetic Sign-Language MNIST stand-in: its format, its labelling, and that it is learnable."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from course_utils.datasets import SIGN_COLUMNS, SYNTHETIC_MARKER
from course_utils.loaders import TensorLoader, load_dataset, make_loaders
from course_utils.synthetic import main, synthetic_images, write_synthetic_sign_language


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
    assert (len(train), len(test)) == (24 * 40, 24 * 15)
    assert train.class_counts()["J"] == 0 and train.class_counts()["A"] == 40
    # It lives in its own folder, never mixed with real files:
    assert (data_root / "synthetic" / "sign_language_mnist" / SYNTHETIC_MARKER).is_file()
    assert not (data_root / "sign-language-mnist").exists()
    # mean/std come from the (synthetic) training split:
    x = train.images.float() / 255
    assert train.mean[0] == pytest.approx(x.mean().item(), abs=1e-4)
    assert test.mean == train.mean and train.std[0] == pytest.approx(x.std().item(), abs=1e-4)


def test_fast_mode_on_the_stand_in_is_capped_by_availability(monkeypatch):
    monkeypatch.setenv("COURSE_SYNTHETIC_FALLBACK", "1")
    test = load_dataset("sign_language_mnist", "test", fast=True)
    assert test.class_counts().tolist() == [15] * 9 + [0] + [15] * 15    # fewer than 40 exist
    assert test.title.endswith("(not real data) [fast-mode subset]")


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
