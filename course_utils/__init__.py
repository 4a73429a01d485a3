"""Helpers for the deep image classification course: the code of the lectures, saved for reuse.

Notebooks use the package through one short name::

    import course_utils as cu

    cu.seed_everything(0)
    device = cu.get_device()
    train_loader, val_loader, test_loader = cu.make_loaders("cifar10", batch_size=128, validation=5_000,
                                                            device=device)
    history = cu.train(model, train_loader, epochs=5, validation=val_loader)
    evaluation = cu.evaluate(model, test_loader)

``cu.`` holds the verbs the lectures call. Most of them are code you first write by hand in a
lecture (each docstring says where): ``cu.train`` is lecture 03's training loop grown up,
``cu.normalize`` lecture 02's one line of broadcasting. Everything else lives in a named
module, one concern each, and is reachable as ``cu.<module>.<name>``:

- ``config``            data folder, fast mode (``COURSE_FAST``), epoch cap, the history's columns
- ``data``              the data sets: registry, sources, fetching, arrays and cache, ``ImageSet``,
                        ``load_dataset``; ``python -m course_utils.data`` for a class bundle
- ``batches``           ``validation_split``, ``TensorLoader``, ``make_loaders``
- ``augmentation``      random crops and flips of whole batches, on the device
- ``devices``           ``get_device``, ``seed_everything``, ``model_device``, ``eval_mode``
- ``speed``             mixed precision and channels_last, chosen by measurement
- ``progress``          the line per epoch that ``train`` updates while it runs
- ``training``          ``train``: the training loop and its history table
- ``checkpoints``       ``train(..., checkpoint=...)``: save after every epoch, resume after a disconnect
- ``saving``            ``save_model``, ``load_model``: keep a trained network in a file
- ``evaluation``        ``evaluate``, ``predict``, ``Evaluation``, accuracy, per-class tables, confusion matrices
- ``inspection``        parameter counts, the layer table, the computation graph, activation capture
- ``figures``           what every picture shares: colours, tensors to pixels, grids of panels
- ``image_plots``       grids of images and of predictions
- ``training_plots``    training curves, after training (``plot_history``) and while it runs (``LiveCurve``)
- ``evaluation_plots``  the confusion matrix and the accuracy per class
- ``feature_plots``     convolutions of a photo, kernels, feature maps
- ``diagrams``          a network, a convolution step, max pooling, the residual block (``cu.diagrams.draw_network``)
- ``redraw``            a picture in a notebook that is redrawn in place
- ``widgets``           the kernel explorer and the activation browser (``cu.widgets.KernelExplorer``)
- ``checks``            the argument checks behind every error message, one rule each
- ``mistakes``          the mistakes everyone makes, and what each message says to do about them
- ``live``              ``blank``, ``check``, ``catch_up``: what the live twins call in class

The instructors' tools (the live-twin generator, the benchmark, the lecture runner) are not
part of this package: they live in ``course_tools`` in the course repository.
"""
from __future__ import annotations

from course_utils import diagrams, widgets
from course_utils.augmentation import Augment
from course_utils.batches import TensorLoader, make_loaders, validation_split
from course_utils.config import fast_mode, num_epochs
from course_utils.devices import get_device, seed_everything
from course_utils.evaluation import accuracy, confusion_matrix, evaluate, per_class_accuracy, predict
from course_utils.evaluation_plots import plot_confusion_matrix, plot_per_class_accuracy
from course_utils.feature_plots import show_convolution, show_kernels, show_layer_activations
from course_utils.image_plots import show_images, show_predictions
from course_utils.inspection import capture_activations, count_parameters, show_graph, summary
from course_utils.live import blank, catch_up, check
from course_utils.data import denormalize, normalize
from course_utils.saving import load_model, save_model
from course_utils.training import train
from course_utils.training_plots import plot_history

from course_utils import data
from course_utils.data import dataset_info, load_dataset

__all__ = [
    # every lecture's first cell
    "seed_everything", "get_device", "fast_mode", "num_epochs",
    # data: lecture 02 takes these apart
    "load_dataset", "dataset_info", "validation_split", "normalize", "denormalize", "TensorLoader",
    "make_loaders", "Augment",
    # training and measuring: lecture 03 writes them by hand
    "train", "evaluate", "predict", "accuracy", "per_class_accuracy", "confusion_matrix",
    # keeping a trained network
    "save_model", "load_model",
    # looking inside a model
    "count_parameters", "summary", "show_graph", "capture_activations",
    # pictures
    "show_images", "show_predictions", "plot_history", "plot_confusion_matrix", "plot_per_class_accuracy",
    "show_convolution", "show_kernels", "show_layer_activations",
    # the three lines of a live twin
    "blank", "check", "catch_up",
]
