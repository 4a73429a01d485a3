"""The validation hold-out, batch augmentation, and make_loaders with a validation set."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.augmentation import Augment, random_crop, random_flip
from course_utils.batches import TensorLoader, make_loaders, stratified_counts, validation_split
from course_utils.data import ImageSet


def numbered_set(n_per_class=(30, 30, 40), side=8) -> ImageSet:
    """An ImageSet whose image i holds the number i (mod 256) in every pixel: positions can be traced."""
    labels = torch.cat([torch.full((k,), c) for c, k in enumerate(n_per_class)])
    n = len(labels)
    images = (torch.arange(n) % 256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 3, side, side).clone()
    return ImageSet(images=images, labels=labels, classes=("a", "b", "c"), mean=(0, 0, 0), std=(1, 1, 1),
                    name="numbered", split="train")


# --- validation_split -----------------------------------------------------------------


def test_stratified_counts_add_up_and_keep_proportions():
    assert stratified_counts(np.array([5000] * 10), 5000).tolist() == [500] * 10
    sizes = np.array([1126, 1010, 1144, 1196, 957, 1204, 1090, 1013, 1162, 1114])
    counts = stratified_counts(sizes, 1000)
    assert counts.sum() == 1000
    assert np.all(np.abs(counts - 1000 * sizes / sizes.sum()) < 1)   # each class's share, rounded


def test_validation_split_is_disjoint_complete_balanced_and_fixed():
    data = numbered_set()
    train, held = validation_split(data, 10)
    assert len(train) == 90 and len(held) == 10
    assert held.split == "validation" and train.split == "train"
    assert held.class_counts().tolist() == [3, 3, 4]                     # stratified
    train_ids = set(train.images[:, 0, 0, 0].tolist())
    held_ids = set(held.images[:, 0, 0, 0].tolist())
    assert not train_ids & held_ids and len(train_ids | held_ids) == 100   # disjoint and complete
    again_train, again_held = validation_split(data, 10)
    assert torch.equal(again_held.images, held.images)                    # the same images every time
    other = validation_split(data, 10, seed=1)[1]
    assert not torch.equal(other.images, held.images)                     # (and the seed does matter)
    assert held.images[:, 0, 0, 0].tolist() == sorted(held_ids)           # original order kept


def test_validation_split_accepts_a_share():
    train, held = validation_split(numbered_set(), 0.2)
    assert len(held) == 20 and len(train) == 80


@pytest.mark.parametrize("size, error", [(0, ValueError), (100, ValueError), (1.5, ValueError), (-3, ValueError),
                                         ("10", TypeError), (True, TypeError)])
def test_validation_split_rejects_impossible_sizes(size, error):
    with pytest.raises(error, match="size"):
        validation_split(numbered_set(), size)


def test_validation_split_needs_an_image_set():
    with pytest.raises(TypeError, match="validation_split: data must be an ImageSet"):
        validation_split(torch.zeros(10, 3, 8, 8), 2)


# --- augmentation ---------------------------------------------------------------------


def test_random_crop_shifts_each_image_by_at_most_the_padding():
    X = torch.arange(64.).reshape(1, 1, 8, 8).repeat(50, 1, 1, 1)
    shifted = random_crop(X, 2, torch.Generator().manual_seed(0), fill="zeros")
    assert shifted.shape == X.shape
    offsets = set()
    for image in shifted:
        # the centre of an 8×8 image shifted by at most 2 is still inside: find where pixel value 27 went
        row, col = (image[0] == 27).nonzero()[0].tolist()
        offsets.add((row - 3, col - 3))
        assert abs(row - 3) <= 2 and abs(col - 3) <= 2
    assert len(offsets) > 10            # many different shifts, not one for the whole batch


def test_random_crop_reflect_fills_the_border_with_image_content():
    X = torch.rand(20, 3, 8, 8) + 1.0   # every pixel >= 1
    assert (random_crop(X, 3, torch.Generator().manual_seed(0), fill="reflect") >= 1).all()
    assert (random_crop(X, 3, torch.Generator().manual_seed(0), fill="zeros") == 0).any()


def test_random_flip_mirrors_about_half_the_images_exactly():
    X = torch.randn(400, 3, 4, 4)
    flipped = random_flip(X, torch.Generator().manual_seed(0))
    same = (flipped == X).flatten(1).all(1)
    mirrored = (flipped == X.flip(3)).flatten(1).all(1)
    assert (same | mirrored).all()
    assert 150 < int(mirrored.sum()) < 250


def test_augment_keeps_channels_last_batches_channels_last():
    X = torch.randn(8, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    out = Augment(padding=2)(X, torch.Generator().manual_seed(0))
    assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("kwargs, error", [({"padding": -1}, ValueError), ({"padding": 1.5}, ValueError),
                                          ({"flip": "yes"}, TypeError), ({"fill": "edge"}, ValueError)])
def test_augment_checks_its_settings(kwargs, error):
    with pytest.raises(error, match="Augment"):
        Augment(**kwargs)


def test_augmenting_loader_repeats_with_its_seed_and_changes_every_epoch():
    data = numbered_set(side=8)
    data.images[:, :, :, :4] = 0              # left half dark: flips and shifts are visible
    def one_epoch(loader):
        return torch.cat([X for X, _ in loader])
    a = TensorLoader(data, 16, shuffle=True, seed=3, augment=Augment(padding=2))
    b = TensorLoader(data, 16, shuffle=True, seed=3, augment=Augment(padding=2))
    first_a, first_b = one_epoch(a), one_epoch(b)
    assert torch.equal(first_a, first_b)                      # same seed: same batches
    assert not torch.equal(first_a, one_epoch(a))             # next epoch: new shifts and flips
    plain = TensorLoader(data, 16, shuffle=True, seed=3)
    order_plain = torch.cat([y for _, y in plain])
    order_aug = torch.cat([y for _, y in TensorLoader(data, 16, shuffle=True, seed=3, augment=Augment())])
    assert torch.equal(order_plain, order_aug)                # augmenting does not change the order
    with pytest.raises(TypeError, match="cu.Augment"):
        TensorLoader(data, 16, augment="flip")


# --- make_loaders with a validation set ---------------------------------------------


def test_make_loaders_returns_three_loaders_with_validation(real_data_dir):
    train, val, test = make_loaders("cifar10", batch_size=64, validation=5_000, root=real_data_dir, fast=False)
    assert (len(train.dataset), len(val.dataset), len(test.dataset)) == (45_000, 5_000, 10_000)
    assert val.dataset.class_counts().tolist() == [500] * 10
    assert train.shuffle and not val.shuffle and not test.shuffle
    assert val.dataset.split == "validation" and "validation" in val.dataset.title
    train_ids = set(map(bytes, train.dataset.images.flatten(1)[:, :64].numpy()))
    overlap = sum(bytes(row) in train_ids for row in val.dataset.images.flatten(1)[:, :64].numpy())
    assert overlap <= 5          # (near-)identical CIFAR images exist, but the split itself is disjoint


def test_make_loaders_fast_mode_shrinks_every_part(real_data_dir):
    train, val, test = make_loaders("cifar10", validation=5_000, root=real_data_dir, fast=True, augment=True)
    assert (len(train.dataset), len(val.dataset), len(test.dataset)) == (1_000, 200, 400)
    assert train.dataset.fast and val.dataset.fast
    assert train.augment == Augment() and val.augment is None and test.augment is None
    # the fast validation images are a subset of the full validation images
    full_val = make_loaders("cifar10", validation=5_000, root=real_data_dir, fast=False)[1]
    full = set(map(bytes, full_val.dataset.images.flatten(1).numpy()))
    assert all(bytes(row) in full for row in val.dataset.images.flatten(1).numpy())


def test_make_loaders_checks_its_arguments_before_loading(monkeypatch):
    import course_utils.batches as batches
    monkeypatch.setattr(batches, "load_dataset", lambda *a, **k: pytest.fail("loaded before checking"))
    with pytest.raises(ValueError, match="validation"):
        make_loaders("cifar10", validation=0)
    with pytest.raises(TypeError, match="validation"):
        make_loaders("cifar10", validation="5000")
    with pytest.raises(TypeError, match="augment"):
        make_loaders("cifar10", augment="crop")
    with pytest.raises(ValueError, match="test_batch_size"):
        make_loaders("cifar10", test_batch_size=0)


# --- keeping some classes ---------------------------------------------------------------


def test_keep_classes_drops_the_others_and_relabels_in_the_given_order():
    data = numbered_set()                                      # classes a (30), b (30), c (40)
    kept = data.keep_classes(["c", "a"])
    assert kept.classes == ("c", "a") and len(kept) == 70
    assert kept.class_counts().tolist() == [40, 30]            # label 0 is now "c"
    originals = dict(zip(data.images[:, 0, 0, 0].tolist(), data.labels.tolist()))
    for value, label in zip(kept.images[:, 0, 0, 0].tolist(), kept.labels.tolist()):
        assert "abc"[originals[value]] == kept.classes[label]  # each image keeps its own class


@pytest.mark.parametrize("names, error", [("a", TypeError), (["z"], ValueError), ([], ValueError),
                                         (["a", "a"], ValueError)])
def test_keep_classes_rejects_wrong_names(names, error):
    with pytest.raises(error, match="keep_classes"):
        numbered_set().keep_classes(names)
