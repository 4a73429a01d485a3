"""Fault suite, part 3: public helpers given the wrong thing. Every misuse is refused up front with a
TypeError or ValueError whose message names the argument, what it got, what it expects and the likely fix,
before anything is downloaded, decoded or drawn; and nothing is left behind (no data folder written,
no hooks on the model, no figure opened).

Each case below is one fault of tests/FAULTS.md (the id is its name there).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from faultkit import names
import course_utils as cu
from course_utils.batches import TensorLoader
from course_utils.data import ImageSet


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv1(x))).flatten(1))


MODEL = ConvNet()
CLASSES = ("cat", "dog", "bird")


def image_set(n: int = 6) -> ImageSet:
    images = torch.randint(0, 256, (n, 3, 4, 4), dtype=torch.uint8)
    return ImageSet(images=images, labels=torch.arange(n) % 3, classes=CLASSES, mean=(0.5,) * 3,
                    std=(0.25,) * 3, name="toy", split="train", dataset_title="Toy")


DATA = image_set()
X = torch.rand(6, 3, 4, 4)
Y = torch.arange(6) % 3
LOADER = TensorLoader(DATA, batch_size=2)


def capture_without_with():
    acts = cu.capture_activations(MODEL, ["conv1"])
    MODEL(X)
    return acts["conv1"]


def iterate_capture_without_with():
    return list(cu.capture_activations(MODEL, ["conv1"]))


def acts_dict():
    with cu.capture_activations(MODEL, ["conv1"]) as acts:
        MODEL(X[:1])
    return acts


# --- issue 23: training with validation, arguments as written, widgets, plots

def nan_model() -> nn.Module:
    model = ConvNet()
    with torch.no_grad():
        model.conv1.weight[0, 0, 0, 0] = float("nan")
    return model


def nan_pixel_batches() -> list:
    images = cu.normalize(DATA.images, DATA.mean, DATA.std)
    images[0, 0, 0, 0] = float("nan")
    return [(images, DATA.labels)]


def other_size_loader() -> TensorLoader:
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    return TensorLoader(ImageSet(images=images, labels=torch.arange(6) % 3, classes=CLASSES, mean=(0.5,) * 3,
                                 std=(0.25,) * 3, name="toy", split="validation", dataset_title="Toy"), batch_size=2)


def grey_set() -> ImageSet:
    return ImageSet(images=DATA.images[:, :1], labels=DATA.labels, classes=CLASSES, mean=(0.5,), std=(0.25,),
                    name="toy", split="validation", dataset_title="Toy")


def browser(model, dataset, **options):
    from course_utils.widgets import ActivationBrowser
    return ActivationBrowser(model, dataset, **options)


def live_curve(**options):
    from course_utils.training_plots import LiveCurve
    return LiveCurve(**options)


CASES = {
    # --- loading data
    "load_dataset-name-not-a-string": (lambda: cu.load_dataset(10), TypeError, ["name must be the name of a data set", "got 10", '"cifar10"']),
    "load_dataset-given-an-imageset": (lambda: cu.load_dataset(DATA), TypeError, ["got an ImageSet", "loaded already"]),
    "load_dataset-misspelt-name": (lambda: cu.load_dataset("cifar-100"), ValueError, ["must be one of the course's data sets", "Did you mean 'cifar10'", "'sign_language_mnist'"]),
    "load_dataset-name-and-split-swapped": (lambda: cu.load_dataset("train", "cifar10"), ValueError, ["That is a split", 'load_dataset("cifar10", "train")']),
    "load_dataset-split-validation": (lambda: cu.load_dataset("cifar10", "validation"), ValueError, ["split must be 'train' or 'test'", "validation=5_000", "validation_split"]),
    "load_dataset-split-capitals": (lambda: cu.load_dataset("cifar10", "Train"), ValueError, ["lower case", "'train'"]),
    "load_dataset-split-not-a-string": (lambda: cu.load_dataset("cifar10", 0), TypeError, ["split must be 'train' or 'test'", "got 0"]),
    "load_dataset-download-not-a-flag": (lambda: cu.load_dataset("cifar10", download="no"), TypeError, ["download must be True or False", "'no'"]),
    "load_dataset-fast-not-a-flag": (lambda: cu.load_dataset("cifar10", fast=1), TypeError, ["fast must be True, False or None"]),
    "load_dataset-info-wrong-type": (lambda: cu.load_dataset("cifar10", info={"name": "cifar10"}), TypeError, ["info must be a DatasetInfo", "dict"]),
    "load_dataset-info-of-another-data-set": (lambda: cu.load_dataset("cifar10", info=cu.dataset_info("fashion_mnist")), ValueError, ["pass the same name"]),
    "dataset_info-not-a-string": (lambda: cu.dataset_info(None), TypeError, ["name must be the name of a data set", "got None"]),
    "data_dir-root-wrong-type": (lambda: cu.data.data_dir(3.5), TypeError, ["root must be a folder", "got 3.5"]),
    # --- normalisation
    "normalize-given-an-imageset": (lambda: cu.normalize(DATA, DATA.mean, DATA.std), TypeError, ["normalize: images must be a tensor", "got an ImageSet", "data.normalized()"]),
    "normalize-given-a-batch-pair": (lambda: cu.normalize((X, Y), (0.5,) * 3, (0.2,) * 3), TypeError, ["X, y = batch"]),
    "normalize-given-a-list": (lambda: cu.normalize([[0, 1]], (0.5,), (0.2,)), TypeError, ["tensor (or NumPy array)", "list"]),
    "normalize-int64-pixels": (lambda: cu.normalize(torch.zeros(2, 3, 4, 4, dtype=torch.int64), (0.5,) * 3, (0.2,) * 3), TypeError, ["torch.int64", "images.to(torch.uint8)"]),
    "normalize-floats-0-255": (lambda: cu.normalize(X * 255, (0.5,) * 3, (0.2,) * 3), ValueError, ["0-255 stored as floats", "divide by 255"]),
    "normalize-twice": (lambda: cu.normalize(cu.normalize(DATA.images, DATA.mean, DATA.std), DATA.mean, DATA.std), ValueError, ["normalized already", "only once"]),
    "normalize-mean-one-number": (lambda: cu.normalize(DATA.images, 0.5, 0.25), TypeError, ["mean must be a list that holds one number per channel", "(0.5,)"]),
    "normalize-mean-a-string": (lambda: cu.normalize(DATA.images, "0.5", (0.2,) * 3), TypeError, ["mean must be a list that holds one number per channel", "'0.5'"]),
    "normalize-mean-wrong-count": (lambda: cu.normalize(DATA.images, (0.5,), (0.2,)), ValueError, ["mean has 1 values but the images have 3 channel"]),
    "normalize-std-zero": (lambda: cu.normalize(DATA.images, (0.5,) * 3, (0.2, 0.0, 0.2)), ValueError, ["std must be positive"]),
    "denormalize-raw-pixels": (lambda: cu.denormalize(DATA.images, DATA.mean, DATA.std), ValueError, ["denormalize undoes normalize", "torch.uint8", "show them as they are"]),
    # --- ImageSet
    "imageset-from-numpy": (lambda: ImageSet(np.zeros((2, 1, 2, 2), np.uint8), torch.zeros(2), ("a",), (0.5,), (0.2,), "x", "train"), TypeError, ["images must be a torch tensor", "torch.from_numpy"]),
    "imageset-labels-beyond-classes": (lambda: ImageSet(torch.zeros(2, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 5]), ("a", "b"), (0.5,), (0.2,), "x", "train"), ValueError, ["labels must be class numbers that lie in 0..1", "0..5"]),
    "imageset-fractional-labels": (lambda: ImageSet(torch.zeros(2, 1, 2, 2, dtype=torch.uint8), torch.tensor([0.5, 1.0]), ("a", "b"), (0.5,), (0.2,), "x", "train"), ValueError, ["whole class numbers"]),
    "subset-given-a-slice": (lambda: DATA.subset(slice(0, 3)), TypeError, ["not a slice", "data.subset(range(a, b))"]),
    "subset-given-one-number": (lambda: DATA.subset(3), TypeError, ["for one image use data[3]"]),
    "subset-float-positions": (lambda: DATA.subset([0.5, 1.5]), TypeError, ["whole-number positions", "0.5"]),
    "subset-positions-out-of-range": (lambda: DATA.subset([0, 6]), IndexError, ["positions from 0 to 6", "6 images", "0..5"]),
    "subset-2d-positions": (lambda: DATA.subset([[0, 1], [2, 3]]), ValueError, ["flat list of positions", "(2, 2)"]),
    "subset-given-a-string": (lambda: DATA.subset("cat"), TypeError, ["subset takes a list, range", "str"]),
    # --- TensorLoader
    "tensorloader-given-tensors": (lambda: TensorLoader((X, Y), batch_size=2), TypeError, ["data must be an ImageSet", "TensorDataset"]),
    "tensorloader-given-a-loader": (lambda: TensorLoader(LOADER, batch_size=2), TypeError, ["data must be an ImageSet", "loader already"]),
    "tensorloader-shuffle-not-a-flag": (lambda: TensorLoader(DATA, batch_size=2, shuffle="yes"), TypeError, ["shuffle must be True or False"]),
    "tensorloader-seed-not-whole": (lambda: TensorLoader(DATA, batch_size=2, seed=0.5), TypeError, ["seed must be a whole number"]),
    "tensorloader-device-typo": (lambda: TensorLoader(DATA, batch_size=2, device="cude"), ValueError, ["device must be a device such as 'cpu'", "'cude'"]),
    # --- image grids
    "show_images-given-a-batch-pair": (lambda: cu.show_images((X, Y)), TypeError, ["images must be a tensor or NumPy array of images", "got a pair (images, labels)", "For a batch from a loader use X, y = batch"]),
    "show_images-given-an-imageset": (lambda: cu.show_images(DATA), TypeError, ["got an ImageSet", "data.images[:16]"]),
    "show_images-given-a-loader": (lambda: cu.show_images(LOADER), TypeError, ["got a loader", "next(iter(loader))"]),
    "show_images-given-a-file-name": (lambda: cu.show_images("cat.png"), TypeError, ["got the name 'cat.png'", "Load the picture"]),
    "show_images-labels-are-class-names": (lambda: cu.show_images(X, ["cat"] * 6), TypeError, ["labels must be class numbers", "classes=", "titles="]),
    "show_images-classes-one-string": (lambda: cu.show_images(X, Y, "cat dog bird"), TypeError, ["classes must be a list of class names", "one string"]),
    "show_images-titles-one-string": (lambda: cu.show_images(X, titles="my images"), TypeError, ["one title per image", "title="]),
    "show_images-ncols-none": (lambda: cu.show_images(X, ncols=None), TypeError, ["ncols must be a whole number", "None"]),
    "show_images-scale-zero": (lambda: cu.show_images(X, scale=0), ValueError, ["scale must be a positive number", "got 0"]),
    "show_images-unknown-cmap": (lambda: cu.show_images(X[:, :1], cmap="gray_r2"), ValueError, ["cmap must be the name of a matplotlib colour map", "'gray_r2'"]),
    "show_images-list-of-grad-tensors": (lambda: cu.show_images([torch.rand(3, 4, 4, requires_grad=True)] * 2).axes, None, []),
    "show_predictions-logits": (lambda: cu.show_predictions(X[:3], Y[:3], torch.rand(3, 3), CLASSES), ValueError, ["predictions must be class numbers as a 1-D sequence", "argmax(dim=1)"]),
    "show_predictions-given-an-evaluation": (lambda: cu.show_predictions(X[:3], Y[:3], type("E", (), {"confusion": 1})(), CLASSES), TypeError, ["predictions must be class numbers", "one per image", "got an Evaluation", ".predictions"]),
    # --- evaluation plots
    "plot_confusion_matrix-given-the-model": (lambda: cu.plot_confusion_matrix(MODEL), TypeError, ["got the model ConvNet", "cu.evaluate(model, test_loader)"]),
    "plot_confusion_matrix-given-per-class-table": (lambda: cu.plot_confusion_matrix(pd.DataFrame({"accuracy": [0.5, 0.7]})), TypeError, ["per-class accuracy table", "plot_per_class_accuracy"]),
    "plot_confusion_matrix-normalize-not-a-flag": (lambda: cu.plot_confusion_matrix(np.eye(2), normalize="rows"), TypeError, ["normalize must be True or False"]),
    "plot_confusion_matrix-given-strings": (lambda: cu.plot_confusion_matrix([["a", "b"], ["c", "d"]]), TypeError, ["confusion must be numbers"]),
    "plot_per_class_accuracy-given-the-model": (lambda: cu.plot_per_class_accuracy(MODEL), TypeError, ["got the model ConvNet", "cu.evaluate"]),
    "plot_per_class_accuracy-given-a-confusion-matrix": (lambda: cu.plot_per_class_accuracy(np.eye(3)), TypeError, ["got a matrix", "plot_confusion_matrix"]),
    "plot_per_class_accuracy-chance-a-string": (lambda: cu.plot_per_class_accuracy(pd.DataFrame({"accuracy": [0.5]}), chance="10%"), TypeError, ["chance must be a share between 0 and 1", "'10%'"]),
    # --- convolutions, kernels, feature maps
    "show_convolution-one-kernel-not-a-dict": (lambda: cu.show_convolution(np.zeros((5, 5)), np.ones((3, 3))), TypeError, ["kernels must be a dict {name: kernel}", "{'my kernel': k}"]),
    "show_convolution-colour-image": (lambda: cu.show_convolution(np.zeros((3, 5, 5)), {"k": np.ones((3, 3))}), ValueError, ["one grey image", "Take one channel, e.g. image[0]"]),
    "show_kernels-given-the-layer": (lambda: cu.show_kernels(MODEL.conv1), TypeError, ["got the layer Conv2d itself", "cu.show_kernels(layer.weight)"]),
    "show_kernels-given-the-model": (lambda: cu.show_kernels(MODEL), TypeError, ["ConvNet", "model.conv1.weight"]),
    "show_kernels-given-a-linear-weight": (lambda: cu.show_kernels(MODEL.fc.weight), ValueError, ["Linear layer's weight", "Conv2d"]),
    "show_kernels-given-a-state-dict": (lambda: cu.show_kernels(MODEL.state_dict()), TypeError, ["got a dict", "state_dict['conv1.weight']"]),
    "show_feature_maps-given-the-whole-dict": (lambda: cu.feature_plots.show_feature_maps(acts_dict()), TypeError, ["the whole dict of activations", "'conv1'", "acts['conv1'][0]"]),
    "show_feature_maps-given-the-layer": (lambda: cu.feature_plots.show_feature_maps(MODEL.conv1), TypeError, ["what a layer OUTPUTS", "capture_activations"]),
    "show_feature_maps-given-a-batch": (lambda: cu.feature_plots.show_feature_maps(torch.rand(4, 2, 3, 3)), ValueError, ["one image's activation", "activation[:1]"]),
    "show_feature_maps-unknown-cmap": (lambda: cu.feature_plots.show_feature_maps(torch.rand(2, 3, 3), cmap="rainbowz"), ValueError, ["cmap must be the name of a matplotlib colour map"]),
    # --- diagrams
    "draw_network-one-number": (lambda: cu.diagrams.draw_network(784), TypeError, ["layer_sizes must be a list", "[784, 128, 10]"]),
    "draw_network-labels-one-string": (lambda: cu.diagrams.draw_network([4, 2], "in out"), TypeError, ["one label per layer"]),
    "draw_convolution_example-strings": (lambda: cu.diagrams.draw_convolution_example([["a", "b"], ["c", "d"]]), TypeError, ["input must be numbers"]),
    "draw_max_pooling-size-not-whole": (lambda: cu.diagrams.draw_max_pooling(size=1.5), ValueError, ["size must be a whole number of at least 1", "1.5"]),
    # --- inspection
    "capture_activations-given-the-layer": (lambda: cu.capture_activations(MODEL, MODEL.conv1), TypeError, ["layers must be layer NAMES", "called 'conv1'", "capture_activations(model, ['conv1'])"]),
    "capture_activations-given-a-list-of-layers": (lambda: cu.capture_activations(MODEL, [MODEL.conv1, MODEL.fc]), TypeError, ["layers must be layer NAMES", "['conv1', 'fc']"]),
    "capture_activations-used-without-with": (capture_without_with, TypeError, ["records only inside a with block", "with cu.capture_activations(model, ['conv1']) as acts:"]),
    "capture_activations-iterated-without-with": (iterate_capture_without_with, TypeError, ["records only inside a with block"]),
    "capture_activations-given-the-model-class": (lambda: cu.capture_activations(ConvNet, ["conv1"]), TypeError, ["got the class ConvNet", "model = ConvNet()"]),
    "capture_activations-no-layers": (lambda: cu.capture_activations(MODEL, []), ValueError, ["layers must be layer NAMES", "got []", "Name at least one layer"]),
    "capture_activations-layer-number": (lambda: cu.capture_activations(MODEL, [0]), TypeError, ["layers[0] must be a layer name", "'features.0'", "got 0"]),
    "capture_activations-unknown-name": (lambda: cu.capture_activations(MODEL, ["conv2"]), ValueError, ["no layer named 'conv2'", "'conv1'"]),
    "summary-arguments-swapped": (lambda: cu.summary((3, 4, 4), MODEL), TypeError, ["takes the model first", "wrong order"]),
    "summary-input-size-a-tensor": (lambda: cu.summary(MODEL, X), ValueError, ["got the tensor itself", "tuple(X.shape[1:])"]),
    "summary-input-size-with-batch-dimension": (lambda: cu.summary(MODEL, (1, 3, 4, 4)), ValueError, ["includes the batch dimension", "input_size=(3, 4, 4)"]),
    "show_graph-given-a-batch-pair": (lambda: cu.show_graph(MODEL, (X, Y)), TypeError, ["X, y = batch", "show_graph(model, X[:1])"]),
    "show_graph-input-without-batch-dimension": (lambda: cu.show_graph(nn.Sequential(nn.Flatten(), nn.Linear(48, 2)), X[0]), ValueError, ["without the batch dimension", "x[None]"]),
    "count_parameters-given-the-class": (lambda: cu.count_parameters(ConvNet), TypeError, ["got the class ConvNet", "model = ConvNet()"]),
    "count_parameters-given-a-state-dict": (lambda: cu.count_parameters(MODEL.state_dict()), TypeError, ["model must be a model", "OrderedDict", "a state dict", "load_state_dict"]),
    # --- issue 23: training with validation (refused before the first step)
    "train-validation-an-empty-list": (lambda: cu.train(ConvNet(), LOADER, epochs=1, validation=[], progress=False), ValueError, ["train: validation must be a loader", "got []", "gives no batch at all"]),
    "train-validation-images-of-another-size": (lambda: cu.train(ConvNet(), LOADER, epochs=1, validation=other_size_loader(), progress=False), ValueError, ["shaped like the training images (3×4×4)", "got images of shape 3×8×8"]),
    "train-model-with-nan-weights": (lambda: cu.train(nan_model(), LOADER, epochs=1, progress=False), ValueError, ["NaN or infinite values (conv1.weight)", "Nothing was trained"]),
    "train-nan-pixel-in-the-data": (lambda: cu.train(ConvNet(), nan_pixel_batches(), epochs=1, progress=False), ValueError, ["NaN"]),
    # --- issue 23: numbers and words as the student wrote them
    "validation_split-holds-out-everything": (lambda: cu.validation_split(DATA, 6), ValueError, ["size must be a number of images from 1 to 5", "got 6", "leaves no image to train on"]),
    "make_loaders-validation-share-above-one": (lambda: cu.make_loaders("cifar10", validation=1.5), ValueError, ["make_loaders: validation must be", "got 1.5"]),
    "seed_everything-seed-in-quotes": (lambda: cu.seed_everything("2024"), TypeError, ["seed must be a whole number", "got '2024', a number in quotes", "seed=2024"]),
    "num_epochs-in-quotes": (lambda: cu.num_epochs("3"), TypeError, ["got '3', a number in quotes"]),
    "get_device-gpu": (lambda: cu.get_device("gpu"), ValueError, ["prefer must be a device", "got 'gpu'", "Did you mean 'cuda'?"]),
    # --- issue 23: widgets and plots
    "KernelExplorer-given-a-file-name": (lambda: cu.widgets.KernelExplorer("cat.png"), TypeError, ["image must be one grey image", "got the name 'cat.png'", "convert('L')"]),
    "ActivationBrowser-grey-images-for-a-colour-model": (lambda: browser(ConvNet(), grey_set()), ValueError, ["3 channel(s)", "images of 1×4×4", "the data set the model was trained on"]),
    "ActivationBrowser-a-linear-layer": (lambda: browser(ConvNet(), DATA, layers=["fc"]), ValueError, ["feature maps C×H×W", "a Linear layer?", "['conv1']"]),
    "ActivationBrowser-more-outputs-than-classes": (lambda: browser(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(16, 5)), DATA), ValueError, ["one score per class of the data set (3 classes)", "outputs 5 scores"]),
    "LiveCurve-live-in-words": (lambda: live_curve(live="no"), TypeError, ["live must be True, False or None", "got 'no'", "live=False"]),
    "plot_history-given-none": (lambda: cu.plot_history(None), TypeError, ["got None", "return history"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_misused_helper_says_what_to_do(case, data_root):
    call, error_type, fragments = CASES[case]
    hooks_before = sum(len(m._forward_hooks) for m in MODEL.modules())
    figures_before = plt.get_fignums()
    if error_type is None:                       # accepted on purpose (and drawn correctly)
        call()
        plt.close("all")
        return
    with pytest.raises(error_type) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert len(message.splitlines()[0]) > 20                             # a sentence, not a bare repr
    assert sum(len(m._forward_hooks) for m in MODEL.modules()) == hooks_before   # no hooks left behind
    assert plt.get_fignums() == figures_before                           # no half-drawn figure left open
    assert names(data_root) == []                                        # nothing downloaded or written


def test_the_checks_come_before_any_download(data_root, monkeypatch):
    """A wrong argument must fail before the network is touched, even when the data are not there."""
    import course_utils.data.fetch as fetch

    monkeypatch.setattr(fetch, "download_dataset", lambda *args, **kwargs: pytest.fail("downloaded before checking"))
    for bad in ({"split": "val"}, {"download": "yes"}, {"fast": "no"}, {"root": 1}):
        with pytest.raises((TypeError, ValueError)):
            cu.load_dataset("cifar10", **bad)
    assert names(data_root) == []


def test_capture_activations_still_records_inside_with():
    """The checks did not break the normal use: a dict filled inside the block, hooks removed after."""
    with cu.capture_activations(MODEL, ["conv1"]) as acts:
        MODEL(X[:2])
    assert acts["conv1"].shape == (2, 4, 4, 4)
    assert sum(len(m._forward_hooks) for m in MODEL.modules()) == 0


def test_helpers_accept_what_they_promise():
    """Alternatives that the checks must keep accepting: numpy pixels, a list of tensors, "CIFAR-10"."""
    assert cu.normalize(np.zeros((1, 3, 2, 2), np.uint8), (0.5,) * 3, (0.2,) * 3).shape == (1, 3, 2, 2)
    assert cu.normalize(torch.rand(1, 3, 2, 2), torch.tensor([0.5] * 3), np.array([0.2] * 3)).dtype == torch.float32
    assert cu.dataset_info("CIFAR-10").name == "cifar10"
    fig = cu.show_images([torch.rand(3, 4, 4), torch.rand(3, 4, 4)], [0, 1], CLASSES)
    assert len(fig.axes) == 2
    plt.close("all")


def test_the_faults_table_names_every_fault_test_and_counts_its_rows():
    """tests/FAULTS.md must list every fault test, name only tests that exist, and count its rows right."""
    import ast
    import re
    from pathlib import Path

    here = Path(__file__).parent
    text = (here / "FAULTS.md").read_text()
    named = set(re.findall(r"`(test_[A-Za-z0-9_]+(?:\[[^\]`]+\])?)`", text))
    functions = set()
    for file in ("test_faults_download.py", "test_faults_data.py", "test_faults_helpers.py", "test_faults_live.py"):
        functions |= {node.name for node in ast.parse((here / file).read_text()).body
                      if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    functions.discard("test_the_faults_table_names_every_fault_test_and_counts_its_rows")
    assert functions <= {name.split("[")[0] for name in named}, functions - {n.split("[")[0] for n in named}
    assert {name.split("[")[0] for name in named} <= functions | {"test_misused_helper_says_what_to_do"}
    assert {f"test_misused_helper_says_what_to_do[{case}]" for case in CASES} <= named
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", text, re.MULTILINE)
    assert [int(number) for number, _ in rows] == list(range(1, len(rows) + 1))
    faults = [fault for _, fault in rows if "(control)" not in fault]
    stated = int(re.search(r"\*\*(\d+) distinct faults\*\*", text).group(1))
    assert stated == len(faults) >= 60
    assert len(set(faults)) == len(faults)                       # distinct
