"""load_dataset, ImageSet, the cache, fast mode, normalisation and TensorLoader.

Real CIFAR-10 (the repository's data folder) and real Fashion-MNIST (Debian's
copy) are used where they exist; otherwise those tests are skipped.
"""
from __future__ import annotations

import math
import os
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SIGN_LABELS, write_cifar_batch, write_sign_csv, write_tiny_cifar_folder
from course_utils.batches import TensorLoader, make_loaders
from course_utils.data import DATASETS, ImageSet, denormalize, load_dataset, normalize
from course_utils.data import load as loaders
from course_utils.data.arrays import cache_path
from course_utils.data.load import balanced_subset_indices


def tiny_cifar_root(root: Path) -> Path:
    """A data dir holding a tiny CIFAR-10 folder (load it with ``info=TINY_CIFAR``)."""
    write_tiny_cifar_folder(root / "cifar-10-batches-py")
    return root


#: The CIFAR-10 entry with the sizes of the tiny generated folder.
TINY_CIFAR = replace(DATASETS["cifar10"], train_size=20, test_size=10)


def real_cifar_view(tmp_path: Path, real_data_dir: Path) -> Path:
    """A fresh data dir whose cifar-10-batches-py is a link to the real one (so its cache is private)."""
    root = tmp_path / "real-cifar-view"
    root.mkdir()
    os.symlink(real_data_dir / "cifar-10-batches-py", root / "cifar-10-batches-py")
    return root


# ---------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cifar_train(real_data_dir) -> ImageSet:
    return load_dataset("cifar10", "train", root=real_data_dir, download=False, fast=False)


@pytest.fixture(scope="module")
def cifar_test(real_data_dir) -> ImageSet:
    return load_dataset("cifar10", "test", root=real_data_dir, download=False, fast=False)


def test_real_cifar10(cifar_train, cifar_test):
    assert cifar_train.images.shape == (50_000, 3, 32, 32) and cifar_test.images.shape == (10_000, 3, 32, 32)
    assert cifar_train.images.dtype == torch.uint8 and cifar_train.labels.dtype == torch.int64
    assert cifar_train.class_counts().tolist() == [5000] * 10
    assert cifar_test.class_counts().tolist() == [1000] * 10
    assert list(cifar_test.class_counts().index) == list(DATASETS["cifar10"].classes)
    assert cifar_train.labels.min() == 0 and cifar_train.labels.max() == 9
    assert 50 < cifar_test.images.float().mean() < 200      # real photos, not blank
    assert cifar_test.title == "CIFAR-10 — test" and not cifar_test.synthetic and not cifar_test.fast
    assert repr(cifar_test) == "ImageSet(CIFAR-10 — test: 10,000 images of 3×32×32, 10 classes)"


def test_real_fashion_mnist(fashion_root):
    train = load_dataset("fashion_mnist", "train", root=fashion_root, download=False)
    test = load_dataset("fashion_mnist", "test", root=fashion_root, download=False)
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.class_counts().tolist() == [6000] * 10 and test.class_counts().tolist() == [1000] * 10
    assert (train.mean, train.std) == ((0.2860,), (0.3530,))
    # The registry's statistics really are those of the training images:
    x = train.images[::10].float() / 255
    assert abs(x.mean().item() - 0.2860) < 0.005 and abs(x.std().item() - 0.3530) < 0.005


def test_real_cifar10_knows_its_raw_files(cifar_test, real_data_dir):
    folder = (real_data_dir / "cifar-10-batches-py").absolute()
    assert cifar_test.source == folder
    assert cifar_test.files == (folder / "test_batch", folder / "batches.meta")
    assert all(path.is_file() for path in cifar_test.files)
    part = cifar_test.subset([3, 1])
    assert (part.source, part.files) == (cifar_test.source, cifar_test.files)
    fast = load_dataset("cifar10", "train", root=real_data_dir, fast=True)
    assert fast.fast and fast.source == folder
    assert [path.name for path in fast.files] == [f"data_batch_{i}" for i in range(1, 6)] + ["batches.meta"]


def test_real_fashion_mnist_knows_its_raw_files(fashion_root):
    from conftest import FASHION_SYSTEM_DIR
    for _ in range(2):   # decoded (or cached by another test), then surely from the cache
        test = load_dataset("fashion_mnist", "test", root=fashion_root, download=False)
        assert test.source == FASHION_SYSTEM_DIR   # Debian's copy, read in place
        assert test.files == (FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz",
                              FASHION_SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz")
    assert cache_path(fashion_root, "fashion_mnist", "test").is_file()


def test_normalisation_of_real_cifar(cifar_test):
    x = cifar_test.normalized()
    assert x.dtype == torch.float32 and x.shape == cifar_test.images.shape
    per_channel_mean = x.mean(dim=(0, 2, 3))
    per_channel_std = x.std(dim=(0, 2, 3))
    assert torch.all(per_channel_mean.abs() < 0.1) and torch.all((per_channel_std - 1).abs() < 0.1)
    back = denormalize(x[:100], cifar_test.mean, cifar_test.std)
    assert torch.allclose(back, cifar_test.images[:100].float() / 255, atol=1e-5)


def test_normalize_single_image_round_trip():
    image = torch.arange(0, 256, dtype=torch.uint8)[:12].reshape(3, 2, 2)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    x = normalize(image, mean, std)
    assert x.shape == (3, 2, 2)
    assert x[1, 0, 0].item() == pytest.approx((4 / 255 - 0.2) / 0.25)
    assert torch.allclose(denormalize(x, mean, std), image.float() / 255, atol=1e-6)


def test_normalize_rejects_wrong_channel_count():
    with pytest.raises(ValueError, match="3 values but the images have 1 channel"):
        normalize(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))


def test_denormalize_clips_to_unit_range():
    x = torch.tensor([[[-100.0, 100.0]]])
    assert denormalize(x, (0.5,), (0.1,)).tolist() == [[[0.0, 1.0]]]


# ---------------------------------------------------------------------------
# Fast mode
# ---------------------------------------------------------------------------

def test_fast_subset_is_balanced_and_stable(real_data_dir, monkeypatch):
    first = load_dataset("cifar10", "train", root=real_data_dir, fast=True)
    monkeypatch.setenv("COURSE_FAST", "1")
    second = load_dataset("cifar10", "train", root=real_data_dir)   # fast=None: from COURSE_FAST
    test = load_dataset("cifar10", "test", root=real_data_dir)
    assert first.class_counts().tolist() == [100] * 10
    assert test.class_counts().tolist() == [40] * 10
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert first.fast and first.title == "CIFAR-10 — train [fast-mode subset]"


def test_fast_subset_is_part_of_the_full_set(cifar_test, real_data_dir):
    fast = load_dataset("cifar10", "test", root=real_data_dir, fast=True)
    index = balanced_subset_indices(cifar_test.labels.numpy(), 40, 10)
    assert torch.equal(fast.images, cifar_test.images[torch.from_numpy(index)])


def test_balanced_subset_is_capped_by_availability():
    labels = np.array([0] * 5 + [1] * 50 + [3] * 2)
    index = balanced_subset_indices(labels, per_class=10, num_classes=4)
    assert np.bincount(labels[index], minlength=4).tolist() == [5, 10, 0, 2]
    assert np.array_equal(index, np.sort(index)) and len(set(index)) == len(index)


# ---------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------

def test_cache_hit_is_faster_than_decoding(fashion_root, tmp_path, capsys):
    root = tmp_path / "fresh"
    start = time.perf_counter()
    decoded = load_dataset("fashion_mnist", "train", root=root)
    decode_seconds = time.perf_counter() - start
    assert "Decoding" in capsys.readouterr().out
    start = time.perf_counter()
    cached = load_dataset("fashion_mnist", "train", root=root)
    cached_seconds = time.perf_counter() - start
    assert "Decoding" not in capsys.readouterr().out
    assert torch.equal(decoded.images, cached.images)
    assert cache_path(root, "fashion_mnist", "train").is_file()
    assert cached_seconds < decode_seconds, (cached_seconds, decode_seconds)


def test_real_cifar_cache_is_used_and_rebuilt_when_damaged(real_data_dir, tmp_path, capsys):
    root = real_cifar_view(tmp_path, real_data_dir)
    first = load_dataset("cifar10", "test", root=root)
    path = cache_path(root, "cifar10", "test")
    assert "Decoding" in capsys.readouterr().out and path.is_file()

    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])   # truncate the cache
    again = load_dataset("cifar10", "test", root=root)
    assert "damaged" in capsys.readouterr().out
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)

    cached = load_dataset("cifar10", "test", root=root)               # the rebuilt cache is good
    assert capsys.readouterr().out == ""
    # Read from the cache, it still knows which raw files it came from:
    assert cached.source == first.source == (root / "cifar-10-batches-py").absolute()
    assert cached.files == first.files == (cached.source / "test_batch", cached.source / "batches.meta")


def test_cache_file_with_garbage_is_rebuilt(tmp_path, capsys):
    root = tiny_cifar_root(tmp_path / "d")
    first = load_dataset("cifar10", "test", root=root, info=TINY_CIFAR)
    cache_path(root, "cifar10", "test").write_bytes(b"not a zip file at all")
    again = load_dataset("cifar10", "test", root=root, info=TINY_CIFAR)
    assert "damaged" in capsys.readouterr().out
    assert torch.equal(first.images, again.images)


def test_cache_is_rebuilt_when_the_source_changes(tmp_path, capsys):
    root = tiny_cifar_root(tmp_path / "d")
    before = load_dataset("cifar10", "test", root=root, info=TINY_CIFAR)
    new_images = np.full((10, 3072), 7, dtype=np.uint8)
    write_cifar_batch(root / "cifar-10-batches-py" / "test_batch", new_images, list(range(10)))
    after = load_dataset("cifar10", "test", root=root, info=TINY_CIFAR)
    assert "changed" in capsys.readouterr().out
    assert not torch.equal(before.images, after.images) and int(after.images.max()) == 7


def test_cache_is_written_atomically_and_uncompressed(tmp_path):
    root = tiny_cifar_root(tmp_path / "d")
    load_dataset("cifar10", "train", root=root, info=TINY_CIFAR)
    assert sorted(p.name for p in (root / "cache").iterdir()) == ["cifar10-train.npz"]   # no temp names left
    with zipfile.ZipFile(root / "cache" / "cifar10-train.npz") as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


#: The Sign-Language MNIST entry with the sizes of the tiny CSV files below (real format, no marker).
TINY_SIGN = replace(DATASETS["sign_language_mnist"], train_size=48, test_size=24)


def test_sign_language_statistics_are_computed_once_and_kept(tmp_path, monkeypatch):
    root = tmp_path / "d"
    train_csv = write_sign_csv(root / "sign-language-mnist" / "sign_mnist_train.csv", SIGN_LABELS * 2, seed=1)
    write_sign_csv(root / "sign-language-mnist" / "sign_mnist_test.csv", SIGN_LABELS, seed=2)
    computed, loaded = [], []   # record every computation of the statistics, every split loaded
    real_statistics, real_load_arrays = loaders._statistics, loaders.load_arrays
    monkeypatch.setattr(loaders, "_statistics", lambda images: computed.append(len(images)) or real_statistics(images))
    monkeypatch.setattr(loaders, "load_arrays",
                        lambda info, split, *args: loaded.append(split) or real_load_arrays(info, split, *args))

    train = load_dataset("sign_language_mnist", "train", root=root, info=TINY_SIGN)
    x = train.images.double() / 255
    assert train.mean[0] == pytest.approx(x.mean().item()) and train.std[0] == pytest.approx(x.std().item())
    assert computed == [48]

    # Later loads read the kept statistics: no second computation, and the test split
    # no longer loads the training split at all.
    loaded.clear()
    test = load_dataset("sign_language_mnist", "test", root=root, info=TINY_SIGN)
    again = load_dataset("sign_language_mnist", "train", root=root, info=TINY_SIGN)
    assert computed == [48] and loaded == ["test", "train"]
    assert (test.mean, test.std) == (again.mean, again.std) == (train.mean, train.std)
    assert (root / "cache" / "sign_language_mnist-train.stats.json").is_file()   # kept beside the cache

    # New raw training images: new statistics (the kept ones are stale).
    write_sign_csv(train_csv, SIGN_LABELS * 2, seed=3)
    changed = load_dataset("sign_language_mnist", "test", root=root, info=TINY_SIGN)
    assert computed == [48, 48] and changed.mean != train.mean

    # A damaged file is computed again, too.
    (root / "cache" / "sign_language_mnist-train.stats.json").write_text("{not json")
    assert load_dataset("sign_language_mnist", "test", root=root, info=TINY_SIGN).mean == changed.mean
    assert computed == [48, 48, 48]


# ---------------------------------------------------------------------------
# ImageSet
# ---------------------------------------------------------------------------

def small_set(n: int = 10, classes: tuple[str, ...] = ("a", "b", "c")) -> ImageSet:
    images = torch.arange(n * 4, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(n, 1, 2, 2)
    return ImageSet(images=images, labels=torch.arange(n) % 2, classes=classes, mean=(0.5,), std=(0.25,),
                    name="toy", split="train", dataset_title="Toy")


def test_imageset_indexing_and_counts():
    data = small_set()
    image, label = data[3]
    assert image.shape == (1, 2, 2) and image.dtype == torch.uint8 and label == 1 and isinstance(label, int)
    assert data.class_counts().to_dict() == {"a": 5, "b": 5, "c": 0}   # zeros included
    with pytest.raises(TypeError, match="subset"):
        data[1:3]


def test_imageset_subset_keeps_order_and_metadata():
    data = small_set()
    part = data.subset([4, 1])
    assert len(part) == 2 and torch.equal(part.images[0], data.images[4]) and part.labels.tolist() == [0, 1]
    assert (part.classes, part.mean, part.name) == (data.classes, data.mean, data.name)
    assert (data.source, data.files) == (None, ())   # made by hand: no raw files
    placed = replace(data, source="/somewhere", files=["/somewhere/a.csv"])
    assert placed.subset([0]).source == Path("/somewhere")
    assert placed.subset([0]).files == (Path("/somewhere/a.csv"),)
    assert len(data.subset(range(3))) == 3 and len(data.subset(torch.tensor([0]))) == 1


def test_imageset_subset_accepts_boolean_masks():
    data = small_set()                                  # labels 0, 1, 0, 1, ...
    for mask in (data.labels == 1, (data.labels == 1).numpy()):
        part = data.subset(mask)
        assert part.labels.tolist() == [1] * 5          # not the images at positions 0 and 1
        assert torch.equal(part.images, data.images[1::2])
    assert len(data.subset(torch.zeros(10, dtype=torch.bool))) == 0
    with pytest.raises(ValueError, match="one True/False per image: Toy — train has 10 images"):
        data.subset(torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="a mask of shape"):
        data.subset(np.ones((10, 1), dtype=bool))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_imageset_subset_accepts_masks_and_indices_on_the_gpu():
    data = small_set()
    assert data.subset((data.labels == 1).cuda()).labels.tolist() == [1] * 5
    assert data.subset(torch.tensor([4, 1], device="cuda")).labels.tolist() == [0, 1]


def test_imageset_rejects_wrong_dtypes_and_lengths():
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(torch.zeros(2, 1, 2, 2), torch.zeros(2), ("a",), (0.5,), (0.2,), "x", "train")
    with pytest.raises(ValueError, match="one label per image"):
        ImageSet(torch.zeros(2, 1, 2, 2, dtype=torch.uint8), torch.zeros(3), ("a",), (0.5,), (0.2,), "x", "train")


def test_load_dataset_errors():
    with pytest.raises(ValueError, match="got 'cifar100', an unknown data set"):
        load_dataset("cifar100")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_dataset("cifar10", "validation")


# ---------------------------------------------------------------------------
# TensorLoader
# ---------------------------------------------------------------------------

def numbered_set(n: int) -> ImageSet:
    """Images that carry their own index (two pixels: index // 256, index % 256)."""
    index = torch.arange(n)
    images = torch.stack([index // 256, index % 256], dim=1).to(torch.uint8).reshape(n, 1, 1, 2)
    return ImageSet(images=images, labels=index % 3, classes=("a", "b", "c"), mean=(0.0,), std=(1.0,),
                    name="numbered", split="train")


def ids(X: torch.Tensor) -> list[int]:
    pixels = torch.round(X * 255).long().reshape(len(X), 2)
    return (pixels[:, 0] * 256 + pixels[:, 1]).tolist()


@pytest.mark.parametrize("shuffle", [False, True])
def test_each_example_exactly_once_per_epoch(shuffle):
    loader = TensorLoader(numbered_set(1000), batch_size=64, shuffle=shuffle)
    assert len(loader) == math.ceil(1000 / 64) == 16
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == 16 and [len(y) for _, y in batches][-1] == 1000 - 15 * 64
        seen = [i for X, _ in batches for i in ids(X)]
        assert sorted(seen) == list(range(1000))
        labels = torch.cat([y for _, y in batches])
        assert labels.tolist() == [i % 3 for i in seen]      # images and labels stay paired
    assert (seen == list(range(1000))) is (not shuffle)


def test_drop_last():
    loader = TensorLoader(numbered_set(100), batch_size=30, drop_last=True)
    assert len(loader) == 3 and [len(y) for _, y in loader] == [30, 30, 30]


def test_shuffle_is_reproducible_with_a_seed():
    def epochs(seed: int) -> list[list[int]]:
        loader = TensorLoader(numbered_set(200), batch_size=50, shuffle=True, seed=seed)
        return [[i for X, _ in loader for i in ids(X)] for _ in range(2)]

    first, again, other = epochs(0), epochs(0), epochs(1)
    assert first == again                 # same seed: same order, epoch by epoch
    assert first[0] != first[1]           # a new order each epoch
    assert first[0] != other[0]           # another seed: another order


def test_shuffle_a_peek_moves_the_order_on_and_a_fresh_loader_repeats_it():
    """As the docstring says: every pass counts, a peek included; a fresh loader starts again."""
    def one_pass(loader: TensorLoader) -> list[int]:
        return [i for X, _ in loader for i in ids(X)]

    fresh = TensorLoader(numbered_set(200), batch_size=50, shuffle=True, seed=7)
    first, second = one_pass(fresh), one_pass(fresh)
    peeked = TensorLoader(numbered_set(200), batch_size=50, shuffle=True, seed=7)
    X, _ = next(iter(peeked))                    # a look at one batch ...
    assert ids(X) == first[:50]
    assert one_pass(peeked) == second            # ... and the training loop gets the second order
    again = TensorLoader(numbered_set(200), batch_size=50, shuffle=True, seed=7)
    assert one_pass(again) == first              # a fresh loader with the same seed repeats the first
    doc = " ".join(TensorLoader.__doc__.split())
    assert "next(iter(loader))" in doc and "seed + k" in doc and "seed + epoch number" not in doc


def test_loader_batches_are_normalised_float32():
    data = small_set()
    X, y = next(iter(TensorLoader(data, batch_size=4)))
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and X.shape == (4, 1, 2, 2)
    assert torch.equal(X, normalize(data.images[:4], data.mean, data.std))


def test_loader_keeps_uint8_and_normalises_each_batch_exactly_as_normalize():
    """No float32 copy of the split (a quarter of the memory); every batch is exactly normalize() of its images."""
    data = cifar_like_set()
    loader = TensorLoader(data, batch_size=7, shuffle=True, seed=3)
    assert loader.images.dtype == torch.uint8
    assert loader.images.data_ptr() == data.images.data_ptr()     # on the CPU: the loaded tensor itself, no copy
    assert not any(isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel() >= data.images.numel()
                   for value in vars(loader).values())
    before = data.images.clone()
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(3))
    for b, (X, y) in enumerate(loader):
        index = order[b * 7:(b + 1) * 7]
        assert torch.equal(X, normalize(data.images[index], data.mean, data.std))
        assert torch.equal(y, data.labels[index])
        X.add_(1.0)                                                # changing a batch changes nothing stored
    assert torch.equal(data.images, before) and torch.equal(loader.images, before)
    assert torch.equal(loader.X, normalize(data.images, data.mean, data.std))   # all images, on demand


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_loader_on_the_gpu_keeps_uint8_there_and_gives_the_cpu_batches():
    data = cifar_like_set()
    gpu, cpu = TensorLoader(data, batch_size=8, device="cuda"), TensorLoader(data, batch_size=8)
    assert loader_images_on(gpu) == ("cuda", torch.uint8)
    for (X_gpu, y_gpu), (X_cpu, y_cpu) in zip(gpu, cpu):
        assert X_gpu.is_cuda and torch.equal(X_gpu.cpu(), X_cpu) and torch.equal(y_gpu.cpu(), y_cpu)


def cifar_like_set(n: int = 30) -> ImageSet:
    """Random 3×4×4 uint8 images with CIFAR-10's per-channel mean and std (three channels, uneven constants)."""
    images = torch.randint(0, 256, (n, 3, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return ImageSet(images=images, labels=torch.arange(n) % 3, classes=("a", "b", "c"),
                    mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), name="toy", split="train")


def loader_images_on(loader: TensorLoader) -> tuple[str, torch.dtype]:
    return loader.images.device.type, loader.images.dtype


def test_loader_attributes():
    data = small_set()
    loader = TensorLoader(data, batch_size=4, device="cpu")
    assert loader.dataset is data and loader.classes == data.classes
    assert (loader.mean, loader.std, loader.batch_size) == (data.mean, data.std, 4)
    assert loader.device == torch.device("cpu")


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (2.5, ValueError), (True, TypeError)])
def test_loader_rejects_bad_batch_size(bad, error):
    with pytest.raises(error, match="TensorLoader: batch_size must be a whole number of at least 1"):
        TensorLoader(small_set(), batch_size=bad)


def test_loader_rejects_empty_data():
    with pytest.raises(ValueError, match="empty"):
        TensorLoader(small_set().subset([]), batch_size=4)


def test_loader_rejects_drop_last_without_batches():
    with pytest.raises(ValueError, match="no batch at all"):
        TensorLoader(small_set(10), batch_size=64, drop_last=True)


def test_make_loaders_on_real_cifar(real_data_dir):
    train_loader, test_loader = make_loaders("cifar10", batch_size=32, root=real_data_dir, fast=True,
                                             test_batch_size=100)
    assert train_loader.shuffle and not test_loader.shuffle
    assert (len(train_loader), len(test_loader)) == (math.ceil(1000 / 32), 4)
    X, y = next(iter(train_loader))
    assert X.shape == (32, 3, 32, 32) and y.shape == (32,)
    assert train_loader.dataset.split == "train" and test_loader.dataset.split == "test"
    assert train_loader.classes == DATASETS["cifar10"].classes
