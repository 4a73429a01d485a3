"""The mistakes everyone makes when calling the course's helpers, and what to write instead.

Each row of ``MISTAKES`` is one classic slip: the kind of argument it happens to (its
*role*: a model, the images, a loader ...), how to recognise it, how to say what was
passed, and the fix. When a helper refuses an argument, ``course_utils.checks`` looks
here first, so the message says what probably happened instead of only what was
expected::

    >>> import course_utils as cu
    >>> cu.count_parameters(nn.Linear)
    Traceback (most recent call last):
    ...
    TypeError: count_parameters: model must be a model (a torch.nn.Module), got the class Linear itself. Create one first: model = Linear(), then pass model.

``got`` and ``fix`` are written with ``{placeholders}``: ``{function}`` and ``{name}`` (the
helper and its argument), ``{cls}`` (the class of what was passed, or the class itself),
``{keys}`` and ``{first_key}`` (of a dict), ``{shape}``, ``{count}`` (its length), ``{value}``
(a short repr), ``{described}`` (``checks.describe``), the helper's ``context`` (``{passes}``, ...) and what a row's test found.

Read the table as a list of lessons: most of these mistakes are made once and then never again.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Mistake:
    """One classic slip: where it happens, how to recognise it, and what to say about it.

    ``looks_like(value, context)`` is true (or a dict of more clues for the text) when
    ``value`` is this mistake; ``context`` holds other arguments of the same call.
    """

    id: str
    role: str
    looks_like: Callable[[Any, Mapping[str, Any]], Any]
    got: str
    fix: str
    error: type[Exception] = TypeError


# --------------------------------------------------------------------------
# How to recognise them
# --------------------------------------------------------------------------


def _shape(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return None if shape is None or callable(shape) else tuple(shape)


def is_model_class(value: Any, context: Mapping) -> bool:
    return isinstance(value, type) and issubclass(value, nn.Module)


def is_class(value: Any, context: Mapping) -> bool:
    return isinstance(value, type)


def is_module(value: Any, context: Mapping) -> bool:
    return isinstance(value, nn.Module)


def is_loader(value: Any, context: Mapping) -> bool:
    """A DataLoader or a TensorLoader: something to loop over in batches, with a batch size."""
    return hasattr(value, "batch_size") and hasattr(value, "__iter__") and _shape(value) is None


def is_image_set(value: Any, context: Mapping) -> bool:
    return all(hasattr(value, name) for name in ("images", "labels", "classes"))


def is_batch_pair(value: Any, context: Mapping) -> bool:
    """``(X, y)``: the images of a batch (2-D or more) and one label for each (1-D)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    first, second = (_shape(part) for part in value)
    return first is not None and second is not None and len(first) >= 2 and len(second) == 1


def is_image_batch_pair(value: Any, context: Mapping) -> bool:
    """``(X, y)`` where X holds images (3-D or more)."""
    return is_batch_pair(value, context) and len(_shape(value[0])) >= 3


def is_one_tensor(value: Any, context: Mapping) -> bool:
    return isinstance(value, torch.Tensor)


def is_raw_pixels(value: Any, context: Mapping) -> bool:
    return isinstance(value, torch.Tensor) and not value.is_floating_point()


def is_file_name(value: Any, context: Mapping) -> bool:
    return isinstance(value, (str, bytes, Path))


def is_dict(value: Any, context: Mapping) -> bool:
    return isinstance(value, Mapping)


def is_not_a_model_but_its_arguments(value: Any, context: Mapping) -> bool:
    """A tensor, a shape or a tuple where the model goes: the arguments were given in the wrong order."""
    return isinstance(value, (torch.Tensor, torch.Size, tuple, list))


def is_state_dict(value: Any, context: Mapping) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def runs_out_before_the_last_pass(value: Any, context: Mapping) -> bool:
    """A generator (or another iterator) can be looped over once; ``context["passes"]`` loops are needed."""
    return context.get("passes", 1) > 1 and isinstance(value, Iterable) and iter(value) is value


def optimizer_for_another_model(value: Any, context: Mapping) -> bool:
    model = context.get("model")
    if not isinstance(value, torch.optim.Optimizer) or not isinstance(model, nn.Module):
        return False
    ours = {id(p) for p in model.parameters()}
    optimized = [p for group in value.param_groups for p in group["params"]]
    return bool(optimized) and not any(id(p) in ours for p in optimized)


def scheduler_without_its_optimizer(value: Any, context: Mapping) -> bool:
    return callable(getattr(value, "step", None)) and context.get("optimizer", 0) is None


def scheduler_for_another_optimizer(value: Any, context: Mapping) -> bool:
    optimizer = context.get("optimizer")
    return optimizer is not None and getattr(value, "optimizer", optimizer) is not optimizer


def is_class_names(value: Any, context: Mapping) -> bool:
    return isinstance(value, str) or (isinstance(value, (list, tuple)) and bool(value)
                                      and all(isinstance(v, str) for v in value))


def is_evaluation(value: Any, context: Mapping) -> bool:
    return hasattr(value, "confusion")


def is_one_string(value: Any, context: Mapping) -> bool:
    return isinstance(value, str)


def is_layer_with_weight(value: Any, context: Mapping) -> bool:
    return isinstance(value, nn.Module) and _shape(getattr(value, "weight", None)) is not None


def is_linear_weight(value: Any, context: Mapping) -> bool:
    return not isinstance(value, (nn.Module, Mapping)) and _shape(value) is not None and len(_shape(value)) == 2


def is_several_tensors(value: Any, context: Mapping) -> bool:
    return (isinstance(value, (tuple, list)) and bool(value)
            and all(_shape(part) is not None for part in value))


def is_one_kernel(value: Any, context: Mapping) -> bool:
    return not isinstance(value, Mapping) and (_shape(value) is not None or isinstance(value, (list, tuple)))


def is_per_class_table(value: Any, context: Mapping) -> bool:
    return "accuracy" in getattr(value, "columns", ())


def is_matrix(value: Any, context: Mapping) -> bool:
    """A 2-D array or tensor (not a table: a DataFrame has a shape too)."""
    return (not isinstance(value, nn.Module) and not hasattr(value, "columns")
            and _shape(value) is not None and len(_shape(value)) == 2)


def _layer_objects(value: Any) -> list[nn.Module]:
    if isinstance(value, nn.Module):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, nn.Module)]
    return []


def layers_of_this_model(value: Any, context: Mapping) -> dict | None:
    """Layer objects of the model, given where their NAMES go: the clue is their names."""
    given, model = _layer_objects(value), context.get("model")
    if not given or not isinstance(model, nn.Module):
        return None
    names_of = {id(module): name for name, module in model.named_modules() if name}
    names = [names_of.get(id(module)) for module in given]
    return {"names": names, "layer": type(given[0]).__name__} if all(names) else None


def layers_of_another_model(value: Any, context: Mapping) -> dict | None:
    given = _layer_objects(value)
    return {"layer": type(given[0]).__name__} if given else None


def is_a_tensor(value: Any, context: Mapping) -> bool:
    return isinstance(value, torch.Tensor)


def number_in_quotes(value: Any, context: Mapping) -> dict | None:
    """A number written as text, ``"1e-3"`` or ``"2024"``: the clue is the number without its quotes."""
    if not isinstance(value, str):
        return None
    try:
        float(value.replace("_", ""))
    except ValueError:
        return None
    return {"bare": value.strip()}


_FLAG_WORDS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False,
               "1": True, "0": False, "y": True, "n": False}


def flag_in_words(value: Any, context: Mapping) -> dict | None:
    """``"no"``, ``"False"``, ``"off"``: a yes or no written as text (any non-empty text would count as True)."""
    if isinstance(value, str) and value.strip().lower() in _FLAG_WORDS:
        return {"meaning": _FLAG_WORDS[value.strip().lower()]}
    return None


def misspelt_device(value: Any, context: Mapping) -> dict | None:
    """``"gpu"``, ``"cude"``, ``"CPU"``: close to a device name torch knows."""
    import difflib

    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if word in ("cpu", "cuda", "mps") or word.startswith("cuda:"):
        return None
    if word in ("gpu", "nvidia", "cuda gpu", "gpu0", "gpu:0"):
        return {"suggestion": "cuda"}
    close = difflib.get_close_matches(word, ["cpu", "cuda", "mps"], n=1, cutoff=0.5)
    return {"suggestion": close[0]} if close else None


def is_nothing(value: Any, context: Mapping) -> bool:
    return value is None


def is_list_of_tables(value: Any, context: Mapping) -> bool:
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(hasattr(item, "columns") for item in value))


def is_list_of_rows(value: Any, context: Mapping) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, Mapping) for item in value)


def is_tensors(value: Any, context: Mapping) -> bool:
    """A tensor or array, or a pair/list of them (images and labels as they are)."""
    return _shape(value) is not None or is_several_tensors(value, context)


def is_an_unfilled_blanks_placeholder(value: Any, context: Mapping) -> dict | bool:
    """What an unfilled blank of a live notebook left in place of a name (``course_utils.live.placeholders``).

    The clue is the placeholder's own sentence: which blank, and how to catch up.
    """
    if getattr(type(value), "is_unfilled_blank_placeholder", False):
        return {"why": value.not_made_message()}
    return False


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

MISTAKES: list[Mistake] = [
    # --- the model
    Mistake("model-unfilled-blank", "model", is_an_unfilled_blanks_placeholder,
            got="the placeholder an unfilled blank of the live notebook left in its place",
            fix="{why}", error=NotImplementedError),
    Mistake("model-class", "model", is_model_class,
            got="the class {cls} itself",
            fix="Create one first: model = {cls}(), then pass model."),
    Mistake("model-state-dict", "model", is_state_dict,
            got="{a_cls} of {count} weight tensors (a state dict, not the model)",
            fix="Create the model, then load them into it: model.load_state_dict(state_dict)."),
    Mistake("model-arguments-swapped", "model", is_not_a_model_but_its_arguments,
            got="{described}",
            fix="{function} takes the model first: are the arguments in the wrong order? {function}(model, ...)."),
    # --- what training needs besides the model
    Mistake("loss-class", "loss function", is_class,
            got="the class {cls}",
            fix="Pass a loss function, not its class: create one, loss_fn={cls}()."),
    Mistake("optimizer-for-another-model", "optimizer", optimizer_for_another_model,
            got="{a_cls} that updates none of this model's parameters: it was made for another model",
            fix="Did you create the model again after the optimizer? Create the optimizer after the model: "
                "optimizer = torch.optim.Adam(model.parameters(), lr=...).",
            error=ValueError),
    Mistake("scheduler-without-optimizer", "scheduler", scheduler_without_its_optimizer,
            got="{a_cls} but no optimizer",
            fix="A scheduler changes the learning rate of one optimizer: pass that optimizer too, e.g. "
                "{function}(..., optimizer=optimizer, scheduler=OneCycleLR(optimizer, ...)).",
            error=ValueError),
    Mistake("scheduler-for-another-optimizer", "scheduler", scheduler_for_another_optimizer,
            got="{a_cls} created for a different optimizer than the one passed to {function}",
            fix="Create it with the same optimizer: OneCycleLR(optimizer, ...).",
            error=ValueError),
    # --- loaders
    Mistake("loader-one-tensor", "loader", is_one_tensor,
            got="a single tensor of shape {shape}",
            fix="A loader gives (X, y) batches, not a single tensor: use cu.TensorLoader, or wrap tensors: "
                "torch.utils.data.DataLoader(TensorDataset(X, y), batch_size=64)."),
    Mistake("loader-image-set", "loader", is_image_set,
            got="a whole ImageSet",
            fix="Wrap it in a loader of mini-batches: cu.TensorLoader(data, batch_size=64, shuffle=True)."),
    Mistake("loader-one-batch", "loader", is_batch_pair,
            got="one batch (X, y), not a loader of batches",
            fix="Pass the loader itself, or a list with that one batch: [(X, y)]."),
    Mistake("loader-generator-for-several-epochs", "loader", runs_out_before_the_last_pass,
            got="a generator (or another iterator), which can be looped over only once",
            fix="{function} would loop over it {passes} times (one per epoch). Pass a list, a cu.TensorLoader "
                "or a DataLoader instead.",
            error=ValueError),
    # --- one batch inside train / evaluate / predict
    Mistake("inputs-raw-pixels", "inputs", is_raw_pixels,
            got="{dtype} (raw pixels 0..255?)",
            fix="Raw images are uint8 (0..255): convert and normalize them first, e.g. X.float() / 255, "
                "or use cu.TensorLoader, which normalizes for you."),
    # --- images to draw
    Mistake("images-batch-pair", "images", is_image_batch_pair,
            got="a pair (images, labels)",
            fix="For a batch from a loader use X, y = batch, then cu.{function}(X, y, classes)."),
    Mistake("images-image-set", "images", is_image_set,
            got="an ImageSet ({value})",
            fix="Pass its tensors: cu.{function}(data.images[:16], data.labels[:16], data.classes)."),
    Mistake("images-loader", "images", is_loader,
            got="a loader ({cls})",
            fix="Take one batch first: X, y = next(iter(loader)), then cu.{function}(X[:16], y[:16], classes)."),
    Mistake("images-model", "images", is_module,
            got="a model or layer ({cls})",
            fix="To see what a layer makes of images, record its output with cu.capture_activations."),
    Mistake("images-file-name", "images", is_file_name,
            got="the name {value}",
            fix="Load the picture first (e.g. np.asarray(PIL.Image.open(name)))."),
    Mistake("inputs-batch-pair", "example input", is_batch_pair,
            got="a pair (inputs, labels): a batch from a loader",
            fix="Use X, y = batch, then {function}(model, X[:1])."),
    # --- labels and class names
    Mistake("labels-class-names", "labels", is_class_names,
            got="class names {value}",
            fix="Pass the names as classes= (and your own words above the images as titles=)."),
    Mistake("labels-evaluation", "labels", is_evaluation,
            got="an Evaluation (what cu.evaluate returns)",
            fix="Pass its .predictions (or its .labels): one class number per image."),
    Mistake("classes-one-string", "class names", is_one_string,
            got="one string {value}",
            fix="Pass a list with one name per class, e.g. train.classes (\"cat dog\".split() splits words)."),
    # --- what convolution pictures take
    Mistake("weight-layer", "weight", is_layer_with_weight,
            got="the layer {cls} itself",
            fix="Pass its weight: cu.show_kernels(layer.weight), e.g. cu.show_kernels(model.conv1.weight)."),
    Mistake("weight-model", "weight", is_module,
            got="a {cls} (a model, or a layer without weights)",
            fix="Pass one convolution layer's weight, e.g. cu.show_kernels(model.conv1.weight)."),
    Mistake("weight-state-dict", "weight", is_dict,
            got="a dict (keys {keys})",
            fix="Pick one weight, e.g. state_dict['conv1.weight']."),
    Mistake("weight-of-a-linear-layer", "weight", is_linear_weight,
            got="a weight of shape {shape}: a Linear layer's weight (outputs × inputs)",
            fix="show_kernels is for Conv2d layers, whose weight is out×in×k×k (e.g. model.conv1.weight).",
            error=ValueError),
    Mistake("activation-whole-dict", "activation", is_dict,
            got="the whole dict of activations (keys {keys})",
            fix="Pick one layer and one image, e.g. cu.feature_plots.show_feature_maps(acts[{first_key!r}][0])."),
    Mistake("activation-layer", "activation", is_module,
            got="the layer {cls} itself",
            fix="show_feature_maps takes what a layer OUTPUTS: record it with cu.capture_activations."),
    Mistake("activation-several-tensors", "activation", is_several_tensors,
            got="{a_cls} of {count} tensors (a layer with several outputs?)",
            fix="Pick one, e.g. activation[0]."),
    Mistake("kernels-one-kernel", "kernels", is_one_kernel,
            got="one kernel",
            fix="For one kernel k use {{'my kernel': k}}."),
    # --- what evaluation pictures take
    Mistake("result-model", "evaluation result", is_module,
            got="the model {cls}",
            fix="Evaluate it first: result = cu.evaluate(model, test_loader), then cu.{function}(result)."),
    Mistake("result-loader", "evaluation result", is_loader,
            got="a loader",
            fix="Evaluate the model on it first: result = cu.evaluate(model, loader), then cu.{function}(result)."),
    Mistake("confusion-per-class-table", "confusion", is_per_class_table,
            got="a per-class accuracy table",
            fix="Draw that one with cu.plot_per_class_accuracy, or pass the Evaluation itself here."),
    Mistake("per-class-confusion-matrix", "per-class table", is_matrix,
            got="a matrix of shape {shape}",
            fix="A confusion matrix is drawn by cu.plot_confusion_matrix; here, pass the Evaluation or its "
                ".per_class table."),
    # --- inspection
    Mistake("layers-objects-of-this-model", "layer names", layers_of_this_model,
            got="a layer object ({layer}), not a name",
            fix="In this model it is called {names[0]!r}: use capture_activations(model, {names!r}). "
                "(Or give a dict {{name: layer}}.)"),
    Mistake("layers-objects-of-another-model", "layer names", layers_of_another_model,
            got="a layer object ({layer}) that is not part of this model",
            fix="Use the names from model.named_modules(), e.g. capture_activations(model, ['conv1'])."),
    # --- numbers, flags and devices written as text
    Mistake("number-in-quotes", "number", number_in_quotes,
            got="{value}, a number in quotes (text)",
            fix="Write the number without quotes: {name}={bare}."),
    Mistake("flag-in-words", "flag", flag_in_words,
            got="{value}, a yes or no as text (any text that is not empty counts as True)",
            fix="Write {name}={meaning} without quotes."),
    Mistake("device-misspelt", "device", misspelt_device,
            got="{value}",
            fix="Did you mean {suggestion!r}? Or pass device=cu.get_device(), which picks the best device there is.",
            error=ValueError),
    # --- histories to plot
    Mistake("history-none", "history", is_nothing,
            got="None (what a function without a return statement gives back)",
            fix="Did your training function end with return history? Return the history table from it "
                "(pd.DataFrame(rows) for a list of dict rows), then plot that."),
    Mistake("histories-list", "history", is_list_of_tables,
            got="{a_cls} of {count} histories",
            fix="To compare runs, give each a name for the legend: "
                "cu.{function}({{'first run': history_1, 'second run': history_2}})."),
    Mistake("history-rows", "history", is_list_of_rows,
            got="{a_cls} of {count} rows (dicts)",
            fix="Make them one table first: cu.{function}(pd.DataFrame(rows))."),
    # --- what a loader is made from
    Mistake("image-set-loader", "image set", is_loader,
            got="a loader ({cls})",
            fix="It is a loader already: use it as it is."),
    Mistake("image-set-tensors", "image set", is_tensors,
            got="{described}",
            fix="It slices an ImageSet from cu.load_dataset. For tensors X, y use "
                "torch.utils.data.DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)."),
    # --- an ImageSet's tensors, and what normalize takes
    Mistake("pixels-numpy", "pixels", lambda value, context: hasattr(value, "__array_interface__"),
            got="a NumPy array of shape {shape}",
            fix="Make it a tensor first: torch.from_numpy(array)."),
    Mistake("normalize-image-set", "images to normalize", is_image_set,
            got="an ImageSet ({value})",
            fix="Pass its images: cu.{function}(data.images, data.mean, data.std) (for all of them normalized: "
                "data.normalized())."),
    Mistake("normalize-batch-pair", "images to normalize", is_batch_pair,
            got="a pair (X, y)",
            fix="For a batch from a loader use X, y = batch, then pass X."),
    Mistake("normalize-list", "images to normalize", lambda value, context: isinstance(value, (list, tuple)),
            got="{a_cls} {value}",
            fix="Make it a tensor first: torch.tensor(values)."),
    # --- which data set, which split
    Mistake("data-set-name-image-set", "data set name", is_image_set,
            got="an ImageSet ({value})",
            fix="It is loaded already: use it as it is."),
    Mistake("split-validation", "split", lambda value, context: isinstance(value, str)
            and value.strip().lower() in ("val", "valid", "validation", "dev"),
            got="{value}",
            fix="A validation set is held out of the training split: use cu.make_loaders(name, validation=5_000) "
                "or cu.validation_split(train, 5_000).",
            error=ValueError),
    Mistake("split-capitals", "split", lambda value, context: isinstance(value, str) and value != value.strip().lower()
            and value.strip().lower() in ("train", "test") and {"lower": value.strip().lower()},
            got="{value}",
            fix="Write it in lower case, without spaces: {lower!r}.",
            error=ValueError),
    Mistake("split-a-data-set-name", "split", lambda value, context: isinstance(value, str)
            and value.strip().lower().replace("-", "_") in context.get("data_sets", ()),
            got="{value}, a data set's name",
            fix="load_dataset takes the name first, then the split: load_dataset({value}, \"train\").",
            error=ValueError),
    # --- the kernel explorer's picture
    Mistake("grey-image-file-name", "grey image", is_file_name,
            got="the name {value}",
            fix="Load the picture and make it grey first, e.g. np.asarray(PIL.Image.open({value}).convert('L'))."),
    Mistake("input-size-a-tensor", "input size", is_a_tensor,
            got="the tensor itself (shape {shape})",
            fix="For a batch X pass tuple(X.shape[1:]).",
            error=ValueError),
]


def recognise(role: str | tuple[str, ...], value: Any, context: Mapping[str, Any]) -> tuple[Mistake, dict] | None:
    """The first mistake of ``role`` (or of one of several roles) that ``value`` is, with the clues it found.

    None when it is none of them.
    """
    roles = (role,) if isinstance(role, str) else role
    for mistake in MISTAKES:
        if mistake.role in roles:
            found = mistake.looks_like(value, context)
            if found:
                return mistake, (found if isinstance(found, dict) else {})
    return None
