"""The course's data sets: where they come from, how they are checked, and how they are loaded.

Read the modules in this order; each one is one step of the way from a URL to an ``ImageSet``:

- ``registry``  each data set, and each of its files with its checksums and its sources in order
- ``sources``   one file from its sources: a partial name, a speed floor, resume, checksums, rename
- ``fetch``     a data set's files into the data folder, under one lock; repairs; placed archives
- ``arrays``    raw files decoded into uint8 arrays, and the cache of those arrays
- ``imageset``  ``ImageSet`` (a split in memory), ``normalize``, ``denormalize``
- ``load``      ``load_dataset``: all of the above for one split, plus fast mode
- ``synthetic`` a labelled synthetic Sign-Language MNIST stand-in for tests
- ``bundle``    the class bundle: ``python -m course_utils.data download|verify|pack|unpack|sources``

Batches (``TensorLoader``, ``make_loaders``) live in ``course_utils.batches``.

Example::

    import course_utils as cu
    cu.data.dataset_info("cifar10").files[0].sources()   # where CIFAR-10 comes from, in order
    test = cu.data.load_dataset("cifar10", "test")
"""
from __future__ import annotations

from ..config import data_dir
from .arrays import DataFormatError
from .registry import DATASETS, DatasetInfo, RemoteFile, Source, dataset_info
from .sources import DownloadError
from .imageset import ImageSet, denormalize, normalize
from .load import load_dataset

__all__ = ["DATASETS", "DatasetInfo", "RemoteFile", "Source", "DataFormatError", "DownloadError",
           "ImageSet", "load_dataset", "dataset_info", "data_dir", "normalize", "denormalize"]
