"""Tests for course_utils.inspection: parameter counts, summary, graph, activation capture."""
from __future__ import annotations

import sys

import graphviz
import pytest
import torch
from torch import nn

from course_utils import inspection
from course_utils.inspection import (
    ModelSummary,
    capture_activations,
    count_parameters,
    show_graph,
    summary,
)


def logistic_regression() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(3072, 10))


def hidden_layer() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(3072, 100), nn.ReLU(), nn.Linear(100, 10))


class SmallConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, kernel_size=3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(4 * 4 * 4, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def trained_conv_net() -> nn.Module:
    """A conv net whose batch-norm statistics are no longer the defaults."""
    torch.manual_seed(0)
    model = SmallConvNet()
    with torch.no_grad():
        model(torch.randn(8, 3, 8, 8) * 3 + 1)
    return model


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.state_dict().items()}


def assert_same_state(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert torch.equal(after[name], value), name


def all_hooks(model: nn.Module) -> int:
    return sum(len(module._forward_hooks) for module in model.modules())


# --- count_parameters ---------------------------------------------------------


def test_count_parameters_known_models():
    assert count_parameters(nn.Linear(3072, 10)) == 30_730
    assert count_parameters(logistic_regression()) == 30_730
    assert count_parameters(hidden_layer()) == 308_310


def test_count_parameters_trainable_only():
    model = hidden_layer()
    model[1].requires_grad_(False)
    assert count_parameters(model) == 1_010
    assert count_parameters(model, trainable_only=False) == 308_310


def test_count_parameters_of_lazy_layers_says_to_run_a_batch_first():
    model = nn.Sequential(nn.Flatten(), nn.LazyLinear(10))
    with pytest.raises(ValueError, match=r"lazy layers .* Run one batch through the model first"):
        count_parameters(model)
    model(torch.zeros(1, 3, 32, 32))
    assert count_parameters(model) == 30_730


# --- summary -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "total"),
    [(logistic_regression(), 30_730), (hidden_layer(), 308_310), (nn.Linear(3072, 10), 30_730)],
)
def test_summary_totals_match_count_parameters(model, total):
    result = summary(model, (3, 32, 32)) if len(list(model.children())) else summary(model, (3072,))
    assert isinstance(result, ModelSummary)
    assert result.total_params == result.trainable_params == total == count_parameters(model)
    assert f"Total params: {total:,}" in result.text
    assert "Note:" not in result.text
    assert repr(result) == str(result) == result.text


def test_summary_shows_output_shapes():
    text = summary(hidden_layer(), (3, 32, 32)).text
    assert "Linear-2" in text and "[2, 100]" in text and "307,300" in text


def test_summary_is_deterministic():
    model = trained_conv_net()
    assert summary(model, (3, 8, 8)).text == summary(model, (3, 8, 8)).text


@pytest.mark.parametrize("training", [True, False])
def test_summary_leaves_the_model_untouched(training):
    model = trained_conv_net()
    model.train(training)
    before = state_copy(model)
    rng_before = torch.get_rng_state()
    result = summary(model, (3, 8, 8))
    assert result.total_params == count_parameters(model)
    assert all(module.training == training for module in model.modules())
    assert_same_state(model, before)  # includes running_mean, running_var, num_batches_tracked
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert all_hooks(model) == 0


def test_summary_counts_a_shared_layer_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    result = summary(model, (4,))
    assert result.total_params == 20
    assert "Total params: 20" in result.text
    rows = [line.split() for line in result.text.splitlines() if line.strip().startswith(("Linear-", "ReLU-"))]
    assert [(row[0], row[-1]) for row in rows] == [("Linear-1", "20"), ("ReLU-2", "0"), ("Linear-3", "0")]
    assert "Note: a layer used more than once shows its parameters at its first use only." in result.text


@pytest.mark.parametrize("bad, error", [((3, 0, 2), ValueError), ((3, 32.0, 32), ValueError), ("3x32x32", TypeError),
                                        (3072, TypeError), (((3, 32, 32), (10,)), ValueError), ((), ValueError)])
def test_summary_rejects_a_bad_input_size(bad, error):
    with pytest.raises(error, match="tuple of positive whole numbers"):
        summary(logistic_regression(), bad)


def test_summary_accepts_a_list_input_size():
    assert summary(logistic_regression(), [3, 32, 32]).total_params == 30_730


def test_summary_wrong_input_size_is_a_clear_error_and_leaves_no_hooks():
    model = trained_conv_net()
    before = state_copy(model)
    with pytest.raises(ValueError, match="input_size"):
        summary(model, (1, 28, 28))
    assert all_hooks(model) == 0
    assert_same_state(model, before)


def test_summary_of_a_model_without_parameters_is_an_error():
    with pytest.raises(ValueError, match="no parameters"):
        summary(nn.Sequential(nn.MaxPool2d(2)), (1, 4, 4))


def test_summary_of_a_model_with_lazy_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    rng_before = torch.get_rng_state()
    result = summary(model, (3, 8, 8))
    expected = (4 * 3 * 3 * 3 + 4) + (4 + 4) + (4 * 6 * 6 * 10 + 10)   # conv, batch norm, linear
    assert result.total_params == result.trainable_params == expected == count_parameters(model)
    assert f"Total params: {expected:,}" in result.text and "Note:" not in result.text
    assert torch.equal(torch.get_rng_state(), rng_before) and all_hooks(model) == 0 and model.training


@pytest.mark.parametrize("model, input_size", [
    (logistic_regression(), (3, 32, 32)), (hidden_layer(), (3, 32, 32)), (nn.Linear(3072, 10), (3072,)),
    (trained_conv_net(), (3, 8, 8)),
    (nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                   nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(16, 10)), (3, 32, 32)),
])
def test_summary_lays_out_the_table_exactly_as_torchsummary_prints_it(model, input_size, capsys):
    """The lectures' committed tables came from torchsummary: the same models give the same text."""
    torchsummary = pytest.importorskip("torchsummary")
    model.eval()
    shown = model if list(model.children()) else nn.Sequential(model)   # torchsummary leaves the model out
    with torch.no_grad():
        torchsummary.summary(shown, input_size, batch_size=2, device="cpu")
    printed = capsys.readouterr().out.rstrip("\n")
    assert summary(model, input_size).text == printed


def test_summary_runs_the_model_where_it_is_and_leaves_no_hooks():
    model = trained_conv_net()
    runs = []
    model.features[0].register_forward_hook(lambda module, inputs, output: runs.append(output.device.type))
    summary(model, (3, 8, 8))
    assert runs == ["cpu", "cpu"]          # the pass that sizes lazy layers, then the one that records the table
    assert all_hooks(model) == 1           # only the test's own hook is left


def test_summary_notes_parameters_that_belong_to_no_layer():
    class WithOwnParameter(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))
            self.linear = nn.Linear(3, 2)

        def forward(self, x):
            return self.linear(x * self.scale)

    result = summary(WithOwnParameter(), (3,))
    assert result.total_params == 11 and "Total params: 11" in result.text
    assert "Note: 3 of the 11 parameters belong to no layer that ran" in result.text


def test_summary_leaves_the_cpu_random_generator_as_it_was():
    """A dropout layer in train mode draws random numbers; summary must not move the CPU generator."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    before = torch.get_rng_state()
    summary(model.train(), (4,))
    assert torch.equal(torch.get_rng_state(), before)


# --- show_graph ----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torchviz uses distutils' LooseVersion
def test_show_graph_names_the_parameters():
    model = trained_conv_net()
    before = state_copy(model)
    graph = show_graph(model, torch.zeros(2, 3, 8, 8))
    assert isinstance(graph, graphviz.Digraph)
    for name in ("features.0.weight", "features.1.bias", "classifier.2.weight"):
        assert name in graph.source
    assert_same_state(model, before)
    assert model.training


def test_show_graph_without_dot_explains_how_to_install(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name, *args, **kwargs: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        show_graph(logistic_regression(), torch.zeros(1, 3, 32, 32))


def test_show_graph_without_torchviz_explains_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchviz", None)  # makes `import torchviz` fail
    with pytest.raises(ImportError, match="pip install torchviz"):
        show_graph(logistic_regression(), torch.zeros(1, 3, 32, 32))


# --- capture_activations ----------------------------------------------------------


def test_capture_activations_with_dotted_names():
    model = trained_conv_net().eval()
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    with capture_activations(model, ["features.0", "features", "classifier.2"]) as activations:
        model(x)
    assert activations["features.0"].shape == (2, 4, 8, 8)
    assert activations["features"].shape == (2, 4, 4, 4)
    assert activations["classifier.2"].shape == (2, 10)
    for tensor in activations.values():
        assert tensor.device.type == "cpu"
        assert not tensor.requires_grad and tensor.grad_fn is None


def test_captured_tensors_are_copies():
    # features.0 (conv) feeds an in-place ReLU: the captured conv output must keep its negative values.
    model = trained_conv_net().eval()
    with capture_activations(model, ["features.0"]) as activations:
        model(torch.randn(2, 3, 8, 8))
    assert (activations["features.0"] < 0).any()


def test_capture_activations_accepts_a_dict_of_modules():
    model = trained_conv_net().eval()
    with capture_activations(model, {"conv": model.features[0]}) as activations:
        model(torch.zeros(1, 3, 8, 8))
    assert set(activations) == {"conv"}


def test_capture_activations_removes_hooks_on_exit_and_on_error():
    model = trained_conv_net()
    conv = model.features[0]
    with capture_activations(model, ["features.0"]):
        assert len(conv._forward_hooks) == 1
    assert len(conv._forward_hooks) == 0
    with pytest.raises(RuntimeError, match="boom"):
        with capture_activations(model, ["features.0", "classifier"]):
            raise RuntimeError("boom")
    assert all_hooks(model) == 0


def test_capture_activations_twice_does_not_stack_hooks():
    model = trained_conv_net().eval()
    for _ in range(2):  # as when a notebook cell runs again
        with capture_activations(model, ["features.0"]) as activations:
            assert len(model.features[0]._forward_hooks) == 1
            model(torch.zeros(1, 3, 8, 8))
        assert activations["features.0"].shape == (1, 4, 8, 8)
    assert all_hooks(model) == 0


def test_capture_activations_unknown_name_lists_the_layers():
    model = trained_conv_net()
    with pytest.raises(ValueError, match="conv1") as error:
        with capture_activations(model, ["conv1"]):
            pass
    assert "'features.0'" in str(error.value) and "'classifier.2'" in str(error.value)
    assert all_hooks(model) == 0
