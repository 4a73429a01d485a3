"""Tests of the benchmark (``python -m course_tools.bench``): its parts, and whole runs on tiny data.

No test asserts how fast anything is: the benchmark measures speed, the tests
check that it measures the right things and reports them correctly.
"""
from __future__ import annotations

import json
import math
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchvision import datasets

from conftest import TINY_CIFAR_PER_BATCH, TINY_CIFAR_TEST, tiny_cifar_info, write_tiny_cifar_folder
from course_tools.bench import course, nbval, results
from course_tools.bench.model import LectureConvNet, count_flops
from course_tools.bench.options import BenchOptions, check_options, parse_args
from course_tools.bench.original import LECTURE_TRANSFORM, OfflineCIFAR10, lecture_loaders
from course_tools.bench.report import format_report
from course_tools.bench.run import main, run_benchmark

TINY_TRAIN = 5 * TINY_CIFAR_PER_BATCH   # 20 images


class _Py2Str(bytes):
    """A byte string that is pickled as Python 2 pickled its ``str`` (the official CIFAR-10 files' keys)."""


class _Py2Pickler(pickle._Pickler):
    """Pickles ``_Py2Str`` with the SHORT_BINSTRING / BINSTRING opcodes, as Python 2 did."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2str(self, obj: _Py2Str) -> None:
        raw = bytes(obj)
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + len(raw).to_bytes(4, "little") + raw)

    dispatch[_Py2Str] = _save_py2str


def _as_python2(obj):
    if isinstance(obj, bytes):
        return _Py2Str(obj)
    if isinstance(obj, dict):
        return {_as_python2(key): _as_python2(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_as_python2(item) for item in obj]
    return obj


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """A data directory holding a tiny generated ``cifar-10-batches-py`` (random pixels, not real images).

    conftest's tiny folder is pickled by Python 3 (keys are ``bytes`` objects);
    torchvision reads the official files with ``encoding="latin1"`` and looks up
    ``str`` keys, which only Python 2 strings give. So each file is pickled again
    with Python-2 strings, as the official files (and the offline copy) are; the
    course's reader reads both kinds.
    """
    folder = write_tiny_cifar_folder(tmp_path / "tiny-data" / "cifar-10-batches-py")
    for path in folder.iterdir():
        with open(path, "rb") as f:
            content = pickle.load(f, encoding="bytes")
        with open(path, "wb") as f:
            _Py2Pickler(f, protocol=2).dump(_as_python2(content))
    return folder.parent


@pytest.fixture
def one_thread():
    """One torch thread: far faster for these tiny models on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_options(root: Path, tmp_path: Path, **changes) -> BenchOptions:
    """Options for a run on the tiny data: small sizes everywhere, the tiny data set's registry entry."""
    options = BenchOptions(quick=True, batch_size=4, data_dir=root, json=tmp_path / "bench.json",
                           quick_batches=2, quick_original_batches=2, warmup_batches=1, load_repeats=1,
                           matmul_size=64, matmul_repeats=1, device="cpu",
                           info=tiny_cifar_info("http://127.0.0.1:9/unused", None))
    return replace(options, **changes)


# ---------------------------------------------------------------------------
# The FLOP counter
# ---------------------------------------------------------------------------

def test_count_flops_of_a_tiny_model_by_hand():
    model = nn.Sequential(nn.Conv2d(1, 2, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
    count = count_flops(model, (1, 4, 4))
    # conv: output 2×2×2 = 8 values, each 1 channel × 3×3 = 9 multiply-adds -> 72
    # linear: 3 outputs × 8 inputs -> 24
    assert [(layer.name, layer.kind, layer.macs) for layer in count.layers] == [("0", "Conv2d", 72), ("3", "Linear", 24)]
    assert count.forward_macs == 96
    assert count.forward_flops == 192
    # forward + backward = 3 × 192, but the images need no gradient: minus the conv's 2 × 72
    assert count.train_flops == 3 * 192 - 144 == 432


def test_count_flops_of_a_grouped_convolution():
    # groups=2: each output channel sees 4 / 2 = 2 input channels; output 4×3×3 = 36 values × 2 × 9
    count = count_flops(nn.Conv2d(4, 4, kernel_size=3, groups=2), (4, 5, 5))
    assert count.forward_macs == 36 * 2 * 9


def test_count_flops_of_the_lecture_convnet_by_hand():
    count = count_flops(LectureConvNet(), (3, 32, 32))
    by_layer = {layer.name: layer.macs for layer in count.layers}
    assert by_layer == {
        "conv1": 100 * 28 * 28 * 3 * 5 * 5,     # 5,880,000
        "conv2": 50 * 12 * 12 * 100 * 3 * 3,    # 6,480,000
        "conv3": 20 * 4 * 4 * 50 * 3 * 3,       #   144,000
        "fc1": 80 * 80, "fc2": 40 * 80, "fc3": 10 * 40,
    }
    assert count.forward_macs == 12_514_000
    assert count.train_flops == 3 * 25_028_000 - 2 * 5_880_000 == 63_324_000


def test_count_flops_leaves_the_model_as_it_was():
    model = LectureConvNet().train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    count_flops(model, (3, 32, 32))
    assert model.training
    assert all(not module._forward_hooks for module in model.modules())
    assert all(torch.equal(before[name], p) for name, p in model.named_parameters())


def test_count_flops_checks_its_arguments():
    with pytest.raises(ValueError, match="input_shape"):
        count_flops(LectureConvNet(), [3, 32, 32])
    with pytest.raises(TypeError, match="nn.Module"):
        count_flops("ConvNet", (3, 32, 32))


def test_the_in_place_relu_variant_computes_the_same_scores():
    torch.manual_seed(0)
    plain = LectureConvNet()
    inplace = LectureConvNet(inplace_relu=True)
    inplace.load_state_dict(plain.state_dict())
    x = torch.randn(3, 3, 32, 32)
    assert torch.equal(plain(x), inplace(x))


# ---------------------------------------------------------------------------
# OfflineCIFAR10: torchvision's CIFAR10 without its checksum checks
# ---------------------------------------------------------------------------

def test_torchvision_refuses_the_generated_folder_but_offline_cifar10_reads_it(tiny_root: Path):
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        datasets.CIFAR10(tiny_root, train=True)     # the files are not the official bytes (MD5s differ)
    train = OfflineCIFAR10(tiny_root, train=True)
    test = OfflineCIFAR10(tiny_root, train=False)
    assert (len(train), len(test)) == (TINY_TRAIN, TINY_CIFAR_TEST)
    assert train.classes[0] == "airplane" and len(train.classes) == 10
    # the labels conftest wrote: batch b holds (b * 4 + i) % 10
    assert train.targets[:4] == [4, 5, 6, 7]
    assert test.targets == list(range(10))


def test_offline_cifar10_decodes_as_torchvision_and_applies_the_lecture_transform(tiny_root: Path):
    with open(tiny_root / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"][0].reshape(3, 32, 32)
    image, label = OfflineCIFAR10(tiny_root, train=True, transform=LECTURE_TRANSFORM)[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    expected = (torch.from_numpy(raw.astype(np.float32)) / 255 - 0.5) / 0.5
    assert torch.allclose(image, expected, atol=1e-6)
    assert label == 4


def test_offline_cifar10_still_refuses_a_broken_folder(tiny_root: Path):
    folder = tiny_root / "cifar-10-batches-py"
    meta = folder / "batches.meta"
    with open(meta, "wb") as f:
        _Py2Pickler(f, protocol=2).dump(_as_python2({b"label_names": [b"cat"] * 9}))
    with pytest.raises(RuntimeError, match="10 class names"):
        OfflineCIFAR10(tiny_root, train=True)
    (folder / "data_batch_3").unlink()
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        OfflineCIFAR10(tiny_root, train=True)


def test_offline_cifar10_refuses_labels_out_of_range(tiny_root: Path):
    path = tiny_root / "cifar-10-batches-py" / "test_batch"
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    batch[b"labels"] = [12] * len(batch[b"labels"])
    with open(path, "wb") as f:
        _Py2Pickler(f, protocol=2).dump(_as_python2(batch))
    with pytest.raises(RuntimeError, match="label 0-9"):
        OfflineCIFAR10(tiny_root, train=False)


def test_lecture_loaders_give_batches_of_four(tiny_root: Path):
    train, test = lecture_loaders(tiny_root, workers=0)
    X, y = next(iter(train))
    assert X.shape == (4, 3, 32, 32) and y.shape == (4,)
    assert (train.batch_size, test.batch_size) == (4, 4)
    assert len(test) == math.ceil(TINY_CIFAR_TEST / 4)


# ---------------------------------------------------------------------------
# Time to target, ratios, the JSON schema
# ---------------------------------------------------------------------------

def test_time_to_target_sums_the_epochs_up_to_the_first_that_reaches_it():
    accuracies = [0.40, 0.54, 0.56, 0.53, 0.60]
    seconds = [10.0, 12.0, 11.0, 9.0, 8.0]
    assert results.time_to_target(accuracies, seconds, 0.55) == (3, 33.0)
    assert results.time_to_target(accuracies, seconds, 0.40) == (1, 10.0)     # reaching it exactly counts
    assert results.time_to_target(accuracies, seconds, 0.61) is None
    with pytest.raises(ValueError, match="one time per accuracy"):
        results.time_to_target([0.5], [1.0, 2.0], 0.55)


def _epochs(accuracies, train_seconds, eval_seconds, images=1000):
    return [results.EpochResult(i, images, t, e, a, 1.0)
            for i, (a, t, e) in enumerate(zip(accuracies, train_seconds, eval_seconds), start=1)]


def test_summaries_and_ratios_from_synthetic_epochs():
    peak = {"float32_gflops": 100.0, "bfloat16_gflops": 200.0}
    slow = results.summarize_pipeline("slow", 4, 1.0, _epochs([0.5, 0.56], [9.0, 9.0], [1.0, 1.0]), 10**8, peak, 0.55)
    fast = results.summarize_pipeline("fast", 64, 0.1, _epochs([0.56, 0.6], [1.5, 1.5], [0.5, 0.5]), 10**8, peak, 0.55)
    assert slow["images_per_second"] == pytest.approx(2000 / 18)
    assert slow["time_to_target"] == {"epoch": 2, "seconds": 20.0}
    assert fast["time_to_target"] == {"epoch": 1, "seconds": 2.0}
    # 1e8 FLOPs per image × 1000/1.5 images/s = 66.7 GFLOP/s: 2/3 of the fp32 peak, 1/3 of the bf16 one
    assert fast["achieved_gflops"] == pytest.approx(1e8 * (2000 / 3) / 1e9)
    assert fast["share_of_float32_peak"] == pytest.approx(2 / 3)
    assert fast["share_of_bfloat16_peak"] == pytest.approx(1 / 3)
    ratios = results.compare(slow, fast, epochs_run=2)
    assert ratios["time_to_target"] == pytest.approx(10.0)
    assert ratios["images_per_second"] == pytest.approx(6.0)


def test_ratio_is_a_lower_bound_when_the_original_never_reaches_the_target():
    peak = {"float32_gflops": 100.0, "bfloat16_gflops": None}
    slow = results.summarize_pipeline("slow", 4, 1.0, _epochs([0.5, 0.52], [9.0, 9.0], [1.0, 1.0]), 10**8, peak, 0.55)
    fast = results.summarize_pipeline("fast", 64, 0.1, _epochs([0.56, 0.6], [1.5, 1.5], [0.5, 0.5]), 10**8, peak, 0.55)
    assert slow["time_to_target"] is None and slow["share_of_bfloat16_peak"] is None
    ratios = results.compare(slow, fast, epochs_run=2)
    assert ratios["time_to_target"] is None
    assert "more than 10.0× shorter" in ratios["time_to_target_text"]


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------

def test_parse_args_turns_flags_into_options():
    options = parse_args(["--epochs", "5", "--target", "60", "--channels-last", "off", "--adam", "fused",
                          "--batch-size", "128", "--json", "out.json"])
    assert (options.epochs, options.target, options.channels_last, options.adam) == (5, 0.6, False, "fused")
    assert (options.batch_size, options.json, options.quick) == (128, Path("out.json"), False)
    assert parse_args([]).batch_size == 64


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "--epochs must be a whole number of at least 1, got 0"),
    ({"batch_size": 2.5}, "--batch-size must be a whole number of at least 1, got 2.5"),
    ({"target": 1.5}, "--target must be a test accuracy in percent.*got 150"),
    ({"lr": 0.0}, "--lr"), ({"threads": 0}, "--threads"), ({"lr": float("inf")}, "--lr.*got inf"),
    ({"device": "tpu"}, "device"),
])
def test_check_options_names_the_wrong_option(tiny_root, tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        check_options(tiny_options(tiny_root, tmp_path, **changes))


def test_check_options_refuses_missing_data_and_fast_mode(tiny_root, tmp_path, monkeypatch):
    (tiny_root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(ValueError, match="data_dir.*test_batch"):
        check_options(tiny_options(tiny_root, tmp_path))
    monkeypatch.setenv("COURSE_FAST", "1")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        check_options(tiny_options(tiny_root, tmp_path))


def test_main_exits_with_status_2_and_a_message_for_a_wrong_option(tmp_path, capsys):
    assert main(["--quick", "--data-dir", str(tmp_path / "nowhere"), "--json", str(tmp_path / "bench.json")]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()


def test_nbval_command_runs_the_lecture_notebooks_as_the_makefile_does(tmp_path):
    for name in ("02-b.ipynb", "01-a.ipynb", "live/01-a-live.ipynb", "scratch.ipynb"):
        (tmp_path / "notebooks" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "notebooks" / name).write_text("{}")
    command = nbval.nbval_command(tmp_path)
    assert command[-2:] == ["notebooks/01-a.ipynb", "notebooks/02-b.ipynb"]
    assert {"--nbval-lax", "--nbval-current-env", "loadfile"} <= set(command)
    assert nbval.NBVAL_ENV["COURSE_FAST"] == "1"


# ---------------------------------------------------------------------------
# Whole runs on the tiny generated data set
# ---------------------------------------------------------------------------

def test_load_times_measure_a_first_and_a_cached_load(tiny_root, tmp_path):
    info = tiny_cifar_info("http://127.0.0.1:9/unused", None)
    with course.fresh_data_dir(tiny_root / "cifar-10-batches-py", parent=str(tmp_path)) as root:
        times = course.load_times(Path(root), 4, torch.device("cpu"), repeats=2, info=info)
        assert (Path(root) / "cache" / "cifar10-train.npz").is_file()
    assert len(times["all_first_seconds"]) == len(times["all_cached_seconds"]) == 2
    assert times["first_seconds"] == min(times["all_first_seconds"]) > 0
    assert not (tiny_root / "cache").exists()   # the real data directory is never written to


def test_quick_run_end_to_end_on_tiny_data(tiny_root, tmp_path, one_thread):
    result = run_benchmark(tiny_options(tiny_root, tmp_path))
    results.check_result(result)
    original, ours = result["pipelines"]["original"], result["pipelines"]["course"]
    assert result["mode"] == "quick"
    assert original["images"] == 2 * 4        # 2 timed batches of 4 after 1 warm-up batch
    assert ours["images"] == 2 * 4            # batch_size=4 in tiny_options
    assert original["epochs"][0]["test_accuracy"] is None and ours["time_to_target"] is None
    assert ours["settings"]["device"] == "cpu"
    assert result["model"]["train_flops"] == 63_324_000
    assert result["ratios"]["images_per_second"] == pytest.approx(
        ours["images_per_second"] / original["images_per_second"])
    text = format_report(result)
    assert "OfflineCIFAR10" in text and "images/s" in text and f"{original['images_per_second']:,.0f}" in text


def test_full_run_end_to_end_writes_json_that_matches_the_terminal(tiny_root, tmp_path, one_thread):
    options = tiny_options(tiny_root, tmp_path, quick=False, epochs=2, target=0.05)
    result = run_benchmark(options)
    for name in ("original", "course"):
        epochs = result["pipelines"][name]["epochs"]
        assert [e["epoch"] for e in epochs] == [1, 2]
        assert all(e["images"] == TINY_TRAIN and 0 <= e["test_accuracy"] <= 1 for e in epochs)
        found = results.time_to_target([e["test_accuracy"] for e in epochs],
                                       [e["train_seconds"] + e["eval_seconds"] for e in epochs], 0.05)
        reached = result["pipelines"][name]["time_to_target"]
        assert reached == (None if found is None else {"epoch": found[0], "seconds": found[1]})
    results.write_json(result, options.json)
    saved = json.loads(options.json.read_text())
    results.check_result(saved)
    assert saved["pipelines"]["course"]["epochs"] == result["pipelines"]["course"]["epochs"]
    assert list(options.json.parent.glob(".*partial")) == []
    broken = {key: value for key, value in saved.items() if key != "loading"}
    with pytest.raises(ValueError, match="loading"):
        results.check_result(broken)


# ---------------------------------------------------------------------------
# The settings sweep
# ---------------------------------------------------------------------------

def test_sweep_cases_start_from_the_base_and_have_distinct_names():
    from course_tools.bench.sweep import BASE, default_cases

    cases = default_cases()
    assert cases[0] == BASE
    assert len({case.name for case in cases}) == len(cases)
    one_change = [case for case in cases[1:] if "in-place fused" not in case.name]
    for case in one_change:   # at most batch size plus one other setting differ from the base
        differing = [key for key in ("channels_last", "bf16", "threads", "inplace_relu", "adam")
                     if getattr(case, key) != getattr(BASE, key)]
        assert len(differing) <= 2 and (len(differing) < 2 or set(differing) == {"bf16", "channels_last"}), case


@pytest.mark.parametrize("case_changes", [{}, {"channels_last": True, "bf16": True, "adam": "fused"},
                                          {"threads": 1, "inplace_relu": True, "adam": "foreach"}])
def test_sweep_step_timing_runs_every_kind_of_case_and_restores_the_threads(case_changes):
    from course_tools.bench.sweep import BASE, images_per_second

    threads = torch.get_num_threads()
    X, y = torch.randn(40, 3, 32, 32), torch.randint(0, 10, (40,))
    case = replace(BASE, batch=8, **case_changes)
    assert images_per_second(case, X, y, images=16) > 0
    assert torch.get_num_threads() == threads
