"""Downloads against a local web server: success, and every way a download can fail.

After a failure the data directory must hold exactly what it held before.
"""
from __future__ import annotations

import shutil
import tarfile
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conftest import (
    git_blob_of,
    listing,
    md5_of,
    sha256_of,
    tiny_cifar_info,
    tiny_sign_info,
    write_sign_csv,
    write_tiny_fashion,
)
from course_utils.data import DATASETS, DataFormatError, DownloadError, RemoteFile, load_dataset
from course_utils.data.sources import fetch_file, file_problems


@pytest.fixture
def data_with_notes(data_root: Path) -> Path:
    """The data dir with one file of the user's, which must survive every failure."""
    (data_root / "my-notes.txt").write_text("keep me")
    return data_root


def serve(server, archive: Path) -> str:
    shutil.copy(archive, server.folder / archive.name)
    return server.url(archive.name)


# ---------------------------------------------------------------------------
# Successful downloads
# ---------------------------------------------------------------------------

def test_archive_download_unpacks_and_loads(http_server, tiny_cifar_archive, data_with_notes):
    info = tiny_cifar_info(serve(http_server, tiny_cifar_archive), md5_of(tiny_cifar_archive))

    train = load_dataset("cifar10", "train", info=info)
    test = load_dataset("cifar10", "test", info=info)

    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (10, 3, 32, 32)
    assert sorted(test.labels.tolist()) == list(range(10))
    top_level = sorted(path.name for path in data_with_notes.iterdir())
    assert top_level == ["cache", "cifar-10-batches-py", "my-notes.txt"]   # no temporary leftovers
    assert sorted(path.name for path in (data_with_notes / "cifar-10-batches-py").iterdir()) == [
        "batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


def test_second_load_needs_no_network(http_server, tiny_cifar_archive, data_root, refused_url):
    info = tiny_cifar_info(serve(http_server, tiny_cifar_archive), md5_of(tiny_cifar_archive))
    first = load_dataset("cifar10", "test", info=info)
    offline = tiny_cifar_info(refused_url, md5_of(tiny_cifar_archive))
    again = load_dataset("cifar10", "test", info=offline)
    assert torch.equal(first.images, again.images)


def test_archive_placed_by_hand_is_unpacked_without_network(tiny_cifar_archive, data_root, refused_url):
    shutil.copy(tiny_cifar_archive, data_root / tiny_cifar_archive.name)
    info = tiny_cifar_info(refused_url, md5_of(tiny_cifar_archive))
    data = load_dataset("cifar10", "train", info=info)
    assert len(data) == 20
    assert (data_root / "cifar-10-batches-py" / "data_batch_5").is_file()


def test_archive_placed_by_hand_with_wrong_md5_is_refused(tiny_cifar_archive, data_root, refused_url):
    shutil.copy(tiny_cifar_archive, data_root / tiny_cifar_archive.name)
    info = tiny_cifar_info(refused_url, "0" * 32)
    with pytest.raises(DataFormatError, match="not the official archive"):
        load_dataset("cifar10", "train", info=info)
    assert not (data_root / "cifar-10-batches-py").exists()


def test_fashion_mnist_download(http_server, data_root, tmp_path):
    source = write_tiny_fashion(tmp_path / "tiny-fashion")
    files = []
    for path in sorted(source.iterdir()):
        shutil.copy(path, http_server.folder / path.name)
        files.append(RemoteFile(http_server.url(path.name), path.name, md5=md5_of(path)))
    # No system copy here, so that the download path is taken.
    info = replace(DATASETS["fashion_mnist"], files=tuple(files), train_size=30, test_size=20, system_folders=())

    data = load_dataset("fashion_mnist", "test", info=info)

    assert data.images.shape == (20, 1, 28, 28)
    assert data.class_counts().tolist() == [2] * 10
    assert sorted(p.name for p in (data_root / "fashion-mnist").iterdir()) == sorted(p.name for p in source.iterdir())


def test_sign_language_download_checks_the_git_blob_ids(http_server, tiny_sign_csvs, data_root):
    train, test = tiny_sign_csvs
    for path in (train, test):
        shutil.copy(path, http_server.folder / path.name)
    info = tiny_sign_info(http_server, train, test, git_blob=(git_blob_of(train), git_blob_of(test)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dataset("sign_language_mnist", "train", info=info)
    assert len(data) == 48 and not data.synthetic
    assert (data_root / "sign-language-mnist" / "sign_mnist_train.csv").read_bytes() == train.read_bytes()


def test_sign_language_download_with_another_git_blob_is_refused(http_server, tiny_sign_csvs, data_root):
    """A file whose bytes differ from the course's (here: one more space) is not the course's file."""
    train, test = tiny_sign_csvs
    for path in (train, test):
        shutil.copy(path, http_server.folder / path.name)
    info = tiny_sign_info(http_server, train, test, git_blob=("f" * 40, git_blob_of(test)))
    with pytest.raises(DownloadError, match=f"sign_mnist_train.csv has git blob {git_blob_of(train)}, expected f{{40}}"):
        load_dataset("sign_language_mnist", "train", info=info)
    assert listing(data_root) == []


def test_fetch_file_returns_the_verified_file(http_server, tmp_path, capsys):
    content = b"hello course\n" * 100
    (http_server.folder / "hello.txt").write_bytes(content)
    remote = RemoteFile(http_server.url("hello.txt"), "hello.txt", size=len(content),
                        md5=md5_of(http_server.folder / "hello.txt"))
    path = fetch_file(remote, tmp_path / "new" / "folder")
    assert path == tmp_path / "new" / "folder" / "hello.txt"
    assert path.read_bytes() == content
    assert listing(tmp_path / "new") == ["folder", "folder/hello.txt"]
    closing = capsys.readouterr().out.splitlines()[-1]
    assert closing.startswith(f"hello.txt: 1,300 bytes in ") and f"from 127.0.0.1:{http_server.port}" in closing
    assert closing.endswith("checked: size, md5.")


def test_file_problems_lists_each_mismatch(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    good = RemoteFile("http://x/a.bin", "a.bin", md5=md5_of(path), sha256=sha256_of(path), size=3,
                      git_blob=git_blob_of(path))
    assert file_problems(path, good) == []
    assert git_blob_of(path) == "f2ba8f84ab5c1bce84a7b441cb1959cfc7093b7f"   # what `git hash-object a.bin` says
    bad = RemoteFile("http://x/a.bin", "a.bin", md5="0" * 32, sha256="0" * 64, size=4, git_blob="0" * 40)
    problems = file_problems(path, bad)
    assert len(problems) == 4 and "MD5" in problems[1] and "SHA-256" in problems[2] and "git blob" in problems[3]


# ---------------------------------------------------------------------------
# Failed downloads: a clear DownloadError, and nothing left behind
# ---------------------------------------------------------------------------

def assert_clear_error(error: DownloadError, url: str, filename: str, folder: Path) -> None:
    message = str(error)
    assert url in message, message
    assert filename in message, message
    assert str(folder) in message, message


def test_wrong_checksum(http_server, tiny_cifar_archive, data_with_notes):
    before = listing(data_with_notes)
    url = serve(http_server, tiny_cifar_archive)
    info = tiny_cifar_info(url, "0" * 32)
    with pytest.raises(DownloadError, match="MD5") as caught:
        load_dataset("cifar10", "train", info=info)
    assert_clear_error(caught.value, url, "cifar-10-python.tar.gz", data_with_notes)
    assert listing(data_with_notes) == before


def test_truncated_file(http_server, tiny_cifar_archive, data_with_notes):
    before = listing(data_with_notes)
    md5 = md5_of(tiny_cifar_archive)
    served = http_server.folder / tiny_cifar_archive.name
    served.write_bytes(tiny_cifar_archive.read_bytes()[:1000])   # the server has only half a file
    info = tiny_cifar_info(http_server.url(served.name), md5)
    with pytest.raises(DownloadError, match="damaged or incomplete"):
        load_dataset("cifar10", "train", info=info)
    assert listing(data_with_notes) == before


def test_connection_cut_during_download(http_server, tiny_cifar_archive, data_with_notes):
    before = listing(data_with_notes)
    url = serve(http_server, tiny_cifar_archive)
    http_server.cut_after[tiny_cifar_archive.name] = 500   # promises the whole file, sends 500 bytes
    info = tiny_cifar_info(url, md5_of(tiny_cifar_archive))
    with pytest.raises(DownloadError) as caught:
        load_dataset("cifar10", "train", info=info)
    assert_clear_error(caught.value, url, "cifar-10-python.tar.gz", data_with_notes)
    assert listing(data_with_notes) == before


def test_http_404(http_server, data_with_notes):
    before = listing(data_with_notes)
    url = http_server.url("cifar-10-python.tar.gz")   # nothing is served under that name
    with pytest.raises(DownloadError, match="404") as caught:
        load_dataset("cifar10", "test", info=tiny_cifar_info(url, "0" * 32))
    assert_clear_error(caught.value, url, "cifar-10-python.tar.gz", data_with_notes)
    assert listing(data_with_notes) == before


def test_refused_connection(refused_url, data_with_notes):
    before = listing(data_with_notes)
    with pytest.raises(DownloadError, match="refused") as caught:
        load_dataset("cifar10", "test", info=tiny_cifar_info(refused_url, "0" * 32))
    assert_clear_error(caught.value, refused_url, "cifar-10-python.tar.gz", data_with_notes)
    assert listing(data_with_notes) == before


def test_one_missing_file_of_several(http_server, data_with_notes, tmp_path):
    """Three Fashion-MNIST files download fine, the fourth is 404: none may stay behind."""
    before = listing(data_with_notes)
    source = write_tiny_fashion(tmp_path / "tiny-fashion")
    files = []
    for path in sorted(source.iterdir()):
        if "t10k-labels" not in path.name:
            shutil.copy(path, http_server.folder / path.name)
        files.append(RemoteFile(http_server.url(path.name), path.name, md5=md5_of(path)))
    info = replace(DATASETS["fashion_mnist"], files=tuple(files), system_folders=())
    with pytest.raises(DownloadError) as caught:
        load_dataset("fashion_mnist", "train", info=info)
    assert_clear_error(caught.value, files[0].url, "t10k-labels-idx1-ubyte.gz", data_with_notes / "fashion-mnist")
    assert listing(data_with_notes) == before


def test_downloaded_csv_with_wrong_structure(http_server, data_with_notes, tmp_path):
    """The checksums match (the entry was made for these files), yet the structure is wrong: nothing is kept."""
    before = listing(data_with_notes)
    train = write_sign_csv(tmp_path / "bad" / "sign_mnist_train.csv", [0, 1, 2], header=["lbl"] + [f"p{i}" for i in range(784)])
    test = write_sign_csv(tmp_path / "bad" / "sign_mnist_test.csv", [0, 1, 2])
    for path in (train, test):
        shutil.copy(path, http_server.folder / path.name)
    info = tiny_sign_info(http_server, train, test, git_blob=(git_blob_of(train), git_blob_of(test)))
    with pytest.raises(DownloadError, match="785 columns"):
        load_dataset("sign_language_mnist", "train", info=info)
    assert listing(data_with_notes) == before


def test_fetch_file_failure_leaves_folder_as_it_was(http_server, tmp_path):
    folder = tmp_path / "not-yet-there" / "data"
    remote = RemoteFile(http_server.url("missing.bin"), "missing.bin")
    with pytest.raises(DownloadError) as caught:
        fetch_file(remote, folder)
    assert_clear_error(caught.value, remote.url, "missing.bin", folder)
    assert not (tmp_path / "not-yet-there").exists()   # the folders it created are removed again


def test_download_false_says_what_to_place_where(data_root):
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("cifar10", "train", download=False)
    message = str(caught.value)
    assert "cifar-10-python.tar.gz" in message and DATASETS["cifar10"].files[0].url in message
    assert str(data_root) in message
    assert listing(data_root) == []


def test_archive_without_the_expected_folder(http_server, data_with_notes, tmp_path):
    before = listing(data_with_notes)
    archive = tmp_path / "cifar-10-python.tar.gz"
    (tmp_path / "wrong-folder").mkdir()
    (tmp_path / "wrong-folder" / "readme.txt").write_text("not CIFAR-10")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "wrong-folder", arcname="wrong-folder")
    info = tiny_cifar_info(serve(http_server, archive), md5_of(archive))
    with pytest.raises(DownloadError, match="does not contain the folder cifar-10-batches-py"):
        load_dataset("cifar10", "train", info=info)
    assert listing(data_with_notes) == before


def test_info_of_another_data_set_is_refused(refused_url):
    with pytest.raises(ValueError, match="pass the same name"):
        load_dataset("fashion_mnist", info=tiny_cifar_info(refused_url, None))


def test_importing_the_package_does_not_load_torchvision():
    """torchvision loads all of itself (models, torch._dynamo): seconds per import. Only downloads need it."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    code = ("import sys, course_utils; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torchvision', 'torchviz')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"imported eagerly: {result.stdout.strip()}"
