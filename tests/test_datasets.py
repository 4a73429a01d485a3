"""The registry, and the readers' structure checks on small generated files."""
from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import (
    FASHION_SYSTEM_DIR,
    SIGN_LABELS,
    idx_bytes,
    write_cifar_batch,
    write_gz,
    write_sign_csv,
    write_tiny_cifar_folder,
    write_tiny_fashion,
)
from course_utils.data.arrays import IDX_LABELS_MAGIC, read_idx
from course_utils.data.fetch import find_local_files, local_archive
from course_utils.data.registry import DATASETS, DataFormatError, DatasetInfo, dataset_info

CIFAR = DATASETS["cifar10"]
FASHION = DATASETS["fashion_mnist"]
SIGN = DATASETS["sign_language_mnist"]


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

def test_registry_names_and_official_sources():
    assert list(DATASETS) == ["cifar10", "fashion_mnist", "sign_language_mnist"]
    assert CIFAR.files[0].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert CIFAR.files[0].md5 == "c58f30108f718f92721af3b95e74349a"
    assert [f.filename for f in FASHION.files] == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert all(f.md5 and len(f.md5) == 32 for f in FASHION.files)
    assert [f.git_blob for f in SIGN.files] == ["ac853c483879f6dc2d529d876f54a4d1c3c024b8",
                                                 "92d57ca6970e5e6dd8f09937798902fbb7ce4746"]


def test_every_file_has_a_strong_checksum_and_documented_sources():
    """One truth per file: every source is held to checksums that a public project documents."""
    for info in DATASETS.values():
        for remote in info.files:
            checks = remote.checksums()
            assert {"md5", "sha256", "git blob"} & set(checks), remote.filename
            sources = remote.sources()
            assert sources[-1].url == remote.url                       # the origin comes last
            assert len({source.url for source in sources}) == len(sources)
            assert all(source.url.startswith("https://") or source.url.startswith("http://fashion-mnist.s3")
                       for source in sources), sources
            assert all(len(source.documented_by) > 20 for source in sources), sources
    assert len(CIFAR.files[0].sources()) == 3 and len(CIFAR.files[0].sha256) == 64
    assert all(len(remote.sources()) == 3 and remote.size for remote in FASHION.files)
    assert [len(remote.sources()) for remote in SIGN.files] == [1, 2]
    assert dict(CIFAR.unpacked_md5).keys() == set(CIFAR.raw_files())


def test_class_names():
    assert CIFAR.classes == ("airplane", "automobile", "bird", "cat", "deer",
                             "dog", "frog", "horse", "ship", "truck")
    assert FASHION.classes[0] == "T-shirt/top" and FASHION.classes[-1] == "Ankle boot"
    assert len(SIGN.classes) == 25 and SIGN.classes[0] == "A" and SIGN.classes[9] == "J"
    assert SIGN.classes[24] == "Y"


def test_image_shapes_and_statistics():
    assert CIFAR.image_shape == (3, 32, 32) and FASHION.image_shape == (1, 28, 28)
    assert CIFAR.mean == (0.4914, 0.4822, 0.4465) and CIFAR.std == (0.2470, 0.2435, 0.2616)
    assert FASHION.mean == (0.2860,) and FASHION.std == (0.3530,)
    assert SIGN.mean is None   # computed from the training split


def test_dataset_info_accepts_dashes_and_case():
    assert dataset_info("Fashion-MNIST") is FASHION


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"data sets \('cifar10'.*'sign_language_mnist'\), got 'mnist', an unknown data set"):
        dataset_info("mnist")


def test_bad_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        CIFAR.split_files("val")


# ---------------------------------------------------------------------------
# CIFAR-10 reader
# ---------------------------------------------------------------------------

def test_cifar_reader_on_tiny_folder(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "cifar-10-batches-py")
    images, labels = CIFAR.read(folder, "train", check_count=False)
    assert images.shape == (20, 3, 32, 32) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.min() >= 0 and labels.max() <= 9


def test_cifar_reader_keeps_channel_order(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "c")
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)]).astype(np.uint8)
    write_cifar_batch(folder / "test_batch", row[None, :], [3])
    images, _ = CIFAR.read(folder, "test", check_count=False)
    assert images[0, :, 5, 7].tolist() == [10, 20, 30]   # red, green, blue planes


def test_cifar_reader_checks_counts(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "c")
    with pytest.raises(DataFormatError, match="expected 10,000 images in this batch, found 4"):
        CIFAR.read(folder, "train")          # the official sizes are expected


def test_cifar_reader_missing_key(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "c")
    import pickle
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8)}, f, protocol=2)
    with pytest.raises(DataFormatError, match="b'labels' is missing"):
        CIFAR.read(folder, "test", check_count=False)


def test_cifar_reader_wrong_shape(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "c")
    write_cifar_batch(folder / "test_batch", np.zeros((2, 3000), np.uint8), [0, 1])
    with pytest.raises(DataFormatError, match="uint8 array N x 3072"):
        CIFAR.read(folder, "test", check_count=False)


def test_cifar_reader_label_out_of_range(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "c")
    write_cifar_batch(folder / "test_batch", np.zeros((2, 3072), np.uint8), [0, 10])
    with pytest.raises(DataFormatError, match=r"labels should lie in 0\.\.9, found 0\.\.10"):
        CIFAR.read(folder, "test", check_count=False)


def test_cifar_reader_garbage_file(tmp_path):
    folder = write_tiny_cifar_folder(tmp_path / "c")
    (folder / "test_batch").write_bytes(b"this is not a pickle")
    with pytest.raises(DataFormatError, match="cannot be unpickled"):
        CIFAR.read(folder, "test", check_count=False)


# ---------------------------------------------------------------------------
# Fashion-MNIST reader (IDX)
# ---------------------------------------------------------------------------

def test_idx_reader_on_tiny_files(tmp_path):
    folder = write_tiny_fashion(tmp_path / "f", n_train=30, n_test=20)
    images, labels = FASHION.read(folder, "train", check_count=False)
    assert images.shape == (30, 1, 28, 28) and labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    with pytest.raises(DataFormatError, match="expected 60,000 images, found 30"):
        FASHION.read(folder, "train")


def test_idx_wrong_magic(tmp_path):
    path = write_gz(tmp_path / "labels.gz", idx_bytes(np.zeros((3, 2), np.uint8)))   # 2-D: magic 2050
    with pytest.raises(DataFormatError, match="magic number should be 2049, found 2050"):
        read_idx(path, IDX_LABELS_MAGIC)


def test_idx_truncated_content(tmp_path):
    path = write_gz(tmp_path / "labels.gz", idx_bytes(np.zeros(10, np.uint8))[:-3])
    with pytest.raises(DataFormatError, match="promises"):
        read_idx(path, IDX_LABELS_MAGIC)


def test_idx_not_gzip(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(DataFormatError, match="cannot be decompressed"):
        read_idx(path, IDX_LABELS_MAGIC)


def test_idx_label_count_must_match_images(tmp_path):
    folder = write_tiny_fashion(tmp_path / "f")
    write_gz(folder / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(DataFormatError, match="7 labels for 20 images"):
        FASHION.read(folder, "test", check_count=False)


def test_debian_copy_has_official_structure():
    """The system copy's .gz files differ from the official ones, but their content must not."""
    if not (FASHION_SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"no Fashion-MNIST system copy in {FASHION_SYSTEM_DIR}")
    labels = read_idx(FASHION_SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz", IDX_LABELS_MAGIC)
    assert labels.shape == (10_000,) and np.bincount(labels).tolist() == [1000] * 10
    with gzip.open(FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz") as f:
        assert f.read(16) == bytes.fromhex("00000803 00002710 0000001c 0000001c")


def test_a_system_folder_is_used_when_its_files_are_there_and_checked_when_decoded(tmp_path):
    """What DatasetInfo's docstring says about system_folders: only presence, then the reader checks."""
    folder = write_tiny_fashion(tmp_path / "usr-share-fashion")
    write_gz(folder / "t10k-labels-idx1-ubyte.gz", b"xx")                 # damaged
    system = replace(FASHION, system_folders=(str(folder),))
    assert find_local_files(system, tmp_path / "data", "test") == folder   # taken: its files are there
    with pytest.raises(DataFormatError, match="too short"):
        system.read(folder, "test", check_count=False)                     # the content is checked here
    doc = " ".join(DatasetInfo.__doc__.split())
    assert "checked by structure" not in doc
    assert "used in place when all of a split's files are there; nothing else is checked" in doc


def test_damaged_file_in_a_system_folder_is_not_to_be_deleted(tmp_path):
    """A system folder's files belong to an OS package: the advice is to reinstall it, or to bypass it."""
    folder = write_tiny_fashion(tmp_path / "usr-share-fashion")
    write_gz(folder / "t10k-labels-idx1-ubyte.gz", b"xx")                 # damaged
    system = replace(FASHION, system_folders=(str(folder),))
    with pytest.raises(DataFormatError, match="too short to hold an IDX header") as error:
        system.read(folder, "test", check_count=False)
    message = str(error.value)
    assert "Delete it" not in message and "reinstall" in message
    assert "fashion-mnist/ of your data directory (COURSE_DATA_DIR or root=)" in message
    assert error.value.path == folder / "t10k-labels-idx1-ubyte.gz"
    # The same file elsewhere is yours: delete it and download again.
    with pytest.raises(DataFormatError, match="Delete it"):
        FASHION.read(folder, "test", check_count=False)


# ---------------------------------------------------------------------------
# Sign-Language MNIST reader (CSV)
# ---------------------------------------------------------------------------

def sign_folder(tmp_path: Path, labels: list[int], **kwargs) -> Path:
    folder = tmp_path / "sign"
    write_sign_csv(folder / "sign_mnist_test.csv", labels, **kwargs)
    return folder


def test_sign_reader_on_tiny_csv(tmp_path):
    folder = sign_folder(tmp_path, SIGN_LABELS)
    images, labels = SIGN.read(folder, "test", check_count=False)
    assert images.shape == (24, 1, 28, 28) and images.dtype == np.uint8
    assert sorted(labels.tolist()) == SIGN_LABELS


def test_sign_reader_checks_the_official_row_count(tmp_path):
    folder = sign_folder(tmp_path, SIGN_LABELS)
    with pytest.raises(DataFormatError, match="expected 7,172 images, found 24"):
        SIGN.read(folder, "test")


def test_sign_reader_wrong_header(tmp_path):
    folder = sign_folder(tmp_path, [0, 1], header=["label"] + [f"px{i}" for i in range(784)])
    with pytest.raises(DataFormatError, match="785 columns"):
        SIGN.read(folder, "test", check_count=False)


def test_sign_reader_label_nine_never_occurs(tmp_path):
    folder = sign_folder(tmp_path, [0, 9])
    with pytest.raises(DataFormatError, match="label 9 should never occur"):
        SIGN.read(folder, "test", check_count=False)


def test_sign_reader_label_out_of_range(tmp_path):
    folder = sign_folder(tmp_path, [0, 25])
    with pytest.raises(DataFormatError, match=r"0\.\.24"):
        SIGN.read(folder, "test", check_count=False)


def test_sign_reader_pixel_out_of_range(tmp_path):
    folder = sign_folder(tmp_path, [0, 1])
    path = folder / "sign_mnist_test.csv"
    lines = path.read_text().splitlines()
    lines[1] = "0," + ",".join(["300"] * 784)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"0\.\.255"):
        SIGN.read(folder, "test", check_count=False)


def test_sign_reader_missing_value(tmp_path):
    folder = sign_folder(tmp_path, [0, 1])
    path = folder / "sign_mnist_test.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ","      # last pixel empty
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match="whole number"):
        SIGN.read(folder, "test", check_count=False)


def test_sign_reader_accepts_windows_line_endings(tmp_path):
    folder = sign_folder(tmp_path, [0, 1, 2])
    path = folder / "sign_mnist_test.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    images, labels = SIGN.read(folder, "test", check_count=False)
    assert labels.tolist() == [0, 1, 2]


def test_modified_info_changes_the_expected_counts(tmp_path):
    folder = sign_folder(tmp_path, SIGN_LABELS)
    small = replace(SIGN, test_size=24)
    assert len(small.read(folder, "test")[1]) == 24


def test_find_local_files_only_looks_and_a_placed_archive_is_found_apart(tmp_path):
    """find_local_files changes nothing: an archive placed in the data folder is local_archive's (fetch_dataset unpacks it)."""
    root = tmp_path / "data"
    root.mkdir()
    (root / CIFAR.files[0].filename).write_bytes(b"an archive placed by hand")
    assert find_local_files(CIFAR, root, "test") is None
    assert sorted(p.name for p in root.iterdir()) == [CIFAR.files[0].filename]   # nothing unpacked, nothing added
    assert local_archive(CIFAR, root) == root / CIFAR.files[0].filename
    assert local_archive(FASHION, root) is None                                  # not an archive data set


def test_the_examples_in_the_data_modules_run():
    """The docstrings' examples are part of the teaching: those that are not marked +SKIP must be right."""
    import doctest
    import importlib

    for name in ("course_utils.config", "course_utils.batches", "course_utils.data.registry",
                 "course_utils.data.arrays", "course_utils.data.sources", "course_utils.data.fetch",
                 "course_utils.data.imageset", "course_utils.data.load", "course_utils.data.synthetic",
                 "course_utils.data.bundle"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0, name
