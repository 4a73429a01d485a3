"""Helpers for the deep image classification course.

Notebooks use the package through one short name::

    import course_utils as cu

    cu.seed_everything(0)
    device = cu.get_device()
    train_loader, test_loader = cu.make_loaders("cifar10", batch_size=64, device=device)
    history = cu.train(model, train_loader, epochs=2)
    evaluation = cu.evaluate(model, test_loader)

Each concern lives in its own short module (read them!):

- ``config``      data directory, fast mode, epoch cap
- ``datasets``    the registry of data sets and the readers that decode their files
- ``download``    find, unpack or download a data set's files (one process at a time)
- ``fetch``       downloading one file: timeouts, progress bar, checksums
- ``folders``     temporary names, cleaning up after crashes, the lock, full/read-only disks
- ``loaders``     ``ImageSet``, ``load_dataset``
- ``cache``       the cache of decoded arrays
- ``batches``     ``validation_split``, ``TensorLoader``, ``make_loaders``
- ``augmentation`` random crops and flips of whole batches, on the device
- ``synthetic``   a labelled synthetic Sign-Language MNIST stand-in for tests
- ``devices``     ``get_device``, ``seed_everything``, ``model_device``
- ``checks``      the argument checks behind the clear error messages
- ``speed``       mixed precision and channels_last, chosen by measurement
- ``progress``    the line per epoch that ``train`` updates while it runs
- ``training``    ``train``: the training loop and its history table
- ``evaluation``  ``evaluate``, ``predict``, accuracy, per-class tables, confusion matrices
- ``plotting``    image and prediction grids (and helpers shared by the picture modules)
- ``evaluation_plots`` training and validation curves, confusion matrix, per-class accuracy
- ``feature_plots`` convolutions of a photo, kernels, feature maps
- ``diagrams``    a fully connected network, a convolution step, max pooling, the residual block
- ``plot_checks`` the argument checks behind the picture helpers' messages
- ``inspection``  model summary, computational graph, activation capture
- ``widgets``     kernel explorer, activation browser, live training curve (ipywidgets)
- ``live``        ``blank``, ``check``, ``catch_up``: what the live twins call in class

The instructors' tools (the live-twin generator, the benchmark) are not part of this package:
they live in ``course_tools`` in the course repository.
"""
from __future__ import annotations

from course_utils.config import data_dir, fast_mode, num_epochs
from course_utils.datasets import DATASETS, DataFormatError, DatasetInfo, RemoteFile, dataset_info
from course_utils.download import DownloadError
from course_utils.inspection import (
    ModelSummary,
    capture_activations,
    count_parameters,
    show_graph,
    summary,
)
from course_utils.augmentation import Augment
from course_utils.batches import TensorLoader, make_loaders, validation_split
from course_utils.loaders import ImageSet, denormalize, load_dataset, normalize
from course_utils.evaluation_plots import plot_confusion_matrix, plot_history, plot_per_class_accuracy
from course_utils.feature_plots import show_convolution, show_feature_maps, show_kernels
from course_utils.diagrams import draw_convolution_example, draw_max_pooling, draw_network
from course_utils.plotting import show_images, show_predictions
from course_utils.devices import get_device, model_device, seed_everything
from course_utils.diagrams import draw_residual_block
from course_utils.feature_plots import show_layer_activations
from course_utils.evaluation import (
    Evaluation,
    accuracy,
    confusion_matrix,
    evaluate,
    per_class_accuracy,
    predict,
)
from course_utils.training import train
from course_utils.widgets import ActivationBrowser, KernelExplorer, LiveCurve, live_output_available

__all__ = [
    # config
    "data_dir", "fast_mode", "num_epochs",
    # data
    "DATASETS", "DataFormatError", "DatasetInfo", "RemoteFile", "dataset_info", "DownloadError",
    "ImageSet", "TensorLoader", "load_dataset", "make_loaders", "normalize", "denormalize",
    "validation_split", "Augment",
    # training
    "get_device", "seed_everything", "train", "evaluate", "predict", "Evaluation",
    "accuracy", "confusion_matrix", "per_class_accuracy", "model_device",
    # plotting
    "show_images", "show_predictions", "plot_history", "plot_confusion_matrix",
    "plot_per_class_accuracy", "show_convolution", "show_kernels", "show_feature_maps",
    "draw_network", "draw_convolution_example", "draw_max_pooling", "draw_residual_block", "show_layer_activations",
    # inspection
    "summary", "ModelSummary", "count_parameters", "show_graph", "capture_activations",
    # widgets
    "KernelExplorer", "ActivationBrowser", "LiveCurve", "live_output_available",
]

# Live notebooks: the lines a live twin calls (the tool that writes the twins is `python -m course_tools.live`).
from course_utils.live import BlankNotFilled, blank, catch_up, check  # noqa: E402

__all__ += ["blank", "check", "catch_up", "BlankNotFilled"]
