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
- ``data``        the data sets: registry, sources, fetching, arrays and cache, ``ImageSet``, ``load_dataset``
- ``batches``     ``validation_split``, ``TensorLoader``, ``make_loaders``
- ``augmentation`` random crops and flips of whole batches, on the device
- ``devices``     ``get_device``, ``seed_everything``, ``model_device``
- ``checks``      the argument checks behind the clear error messages
- ``speed``       mixed precision and channels_last, chosen by measurement
- ``progress``    the line per epoch that ``train`` updates while it runs
- ``training``    ``train``: the training loop and its history table
- ``checkpoints`` the checkpoint of ``train(..., checkpoint=...)``: resume after a disconnect
- ``saving``      ``save_model``, ``load_model``: keep a trained network in a file
- ``evaluation``  ``evaluate``, ``predict``, accuracy, per-class tables, confusion matrices
- ``plotting``    image and prediction grids (and helpers shared by the picture modules)
- ``evaluation_plots`` training and validation curves, confusion matrix, per-class accuracy
- ``feature_plots`` convolutions of a photo, kernels, feature maps
- ``diagrams``    a fully connected network, a convolution step, max pooling, the residual block
- ``plot_checks`` the argument checks behind the picture helpers' messages
- ``inspection``  model summary, computational graph, activation capture
- ``widgets``     kernel explorer, activation browser, live training curve (ipywidgets)
- ``live``        the live-notebook tool (``python -m course_utils.live``)
"""
from __future__ import annotations

from course_utils.config import data_dir, fast_mode, num_epochs
from course_utils import data
from course_utils.data import DATASETS, DataFormatError, DatasetInfo, DownloadError, RemoteFile, dataset_info
from course_utils.inspection import (
    ModelSummary,
    capture_activations,
    count_parameters,
    show_graph,
    summary,
)
from course_utils.augmentation import Augment
from course_utils.batches import TensorLoader, make_loaders, validation_split
from course_utils.data import ImageSet, denormalize, load_dataset, normalize
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
from course_utils.training import TrainingInterrupted, train
from course_utils.saving import load_model, save_model, saved_model_info
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
    "accuracy", "confusion_matrix", "per_class_accuracy", "model_device", "TrainingInterrupted",
    "save_model", "load_model", "saved_model_info",
    # plotting
    "show_images", "show_predictions", "plot_history", "plot_confusion_matrix",
    "plot_per_class_accuracy", "show_convolution", "show_kernels", "show_feature_maps",
    "draw_network", "draw_convolution_example", "draw_max_pooling", "draw_residual_block", "show_layer_activations",
    # inspection
    "summary", "ModelSummary", "count_parameters", "show_graph", "capture_activations",
    # widgets
    "KernelExplorer", "ActivationBrowser", "LiveCurve", "live_output_available",
]

# Live notebooks: the lines a live twin calls (standard library only; the tool itself is `python -m course_utils.live`).
from course_utils.live import BlankNotFilled, blank, catch_up, check  # noqa: E402

__all__ += ["blank", "check", "catch_up", "BlankNotFilled"]
