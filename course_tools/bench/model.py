"""The model both pipelines train, and how many floating-point operations a training image costs.

``LectureConvNet`` is the ConvNet of the original lecture (and of lecture 05):
three blocks of convolution -> ReLU -> 2×2 max pooling, then a fully connected
head 80 -> 80 -> 40 -> 10.

``count_flops`` counts the work of the layers that do almost all of it,
convolutions and linear layers, with forward hooks on one input image:

- a convolution's output element costs ``in_channels / groups × kernel height ×
  kernel width`` multiply-adds (MACs); a linear layer's output element costs
  ``in_features`` MACs. Biases, ReLUs, pooling and the loss are left out (they
  are a fraction of a percent here);
- one MAC is 2 floating-point operations (FLOPs), so forward FLOPs = 2 × MACs;
- training costs the forward pass plus a backward pass that computes, per layer,
  the gradient with respect to its input and the one with respect to its weights,
  each as many MACs as the forward pass: 3 × the forward FLOPs;
- except that nothing needs the gradient with respect to the *images*, so the
  first layer's input gradient is never computed: its forward FLOPs are
  subtracted once. ``train_flops = 3 × forward_flops − first layer's forward FLOPs``.

Example:
    >>> count = count_flops(LectureConvNet(), (3, 32, 32))
    >>> count.forward_macs
    12514000
    >>> count.train_flops
    63324000
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


class LectureConvNet(nn.Module):
    """The lecture's ConvNet for 3×32×32 images (the same layers as lecture 05's ``ConvNet``).

    ``inplace_relu=True`` applies each ReLU in place (same numbers, less memory
    traffic); the benchmark uses the default, as the lecture does.

    Example:
        >>> LectureConvNet()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, inplace_relu: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 100, kernel_size=5)    # 3×32×32   -> 100×28×28
        self.conv2 = nn.Conv2d(100, 50, kernel_size=3)   # 100×14×14 -> 50×12×12
        self.conv3 = nn.Conv2d(50, 20, kernel_size=3)    # 50×6×6    -> 20×4×4
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(20 * 2 * 2, 80)
        self.fc2 = nn.Linear(80, 40)
        self.fc3 = nn.Linear(40, num_classes)
        self.inplace_relu = inplace_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inplace = self.inplace_relu
        x = self.pool(F.relu(self.conv1(x), inplace=inplace))
        x = self.pool(F.relu(self.conv2(x), inplace=inplace))
        x = self.pool(F.relu(self.conv3(x), inplace=inplace))
        x = torch.flatten(x, start_dim=1)
        x = F.relu(self.fc1(x), inplace=inplace)
        x = F.relu(self.fc2(x), inplace=inplace)
        return self.fc3(x)


@dataclass(frozen=True)
class LayerCount:
    """The multiply-adds of one convolution or linear layer for one input image."""

    name: str
    kind: str
    macs: int


@dataclass(frozen=True)
class FlopCount:
    """FLOPs per image of a model: forward only, and one training step (forward + backward)."""

    layers: tuple[LayerCount, ...]

    @property
    def forward_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def forward_flops(self) -> int:
        return 2 * self.forward_macs

    @property
    def train_flops(self) -> int:
        """3 × forward FLOPs, less the first layer's input gradient (the images need none)."""
        first = 2 * self.layers[0].macs if self.layers else 0
        return 3 * self.forward_flops - first

    def as_dict(self) -> dict:
        return {"forward_macs": self.forward_macs, "forward_flops": self.forward_flops,
                "train_flops": self.train_flops,
                "layers": [{"name": layer.name, "kind": layer.kind, "macs": layer.macs} for layer in self.layers]}


def _layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one call of ``module`` that produced ``output`` (batch of one image)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    return output.numel() * module.in_features   # nn.Linear


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> FlopCount:
    """Count the convolution and linear layers' work for ONE input of ``input_shape`` (e.g. (3, 32, 32)).

    The model runs once on a zero image on the CPU copy of itself, without
    gradients, in evaluation mode; layers are listed in the order they ran, so
    ``layers[0]`` is the one that sees the images. The model is not changed.

    Example:
        >>> tiny = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))
        >>> count_flops(tiny, (1, 4, 4)).forward_macs    # 8 outputs × 9 + 3 outputs × 8
        96
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_flops needs an nn.Module as model, got {type(model).__name__}.")
    if not (isinstance(input_shape, tuple) and input_shape and all(isinstance(n, int) and n > 0 for n in input_shape)):
        raise ValueError(f"input_shape must be a tuple of positive whole numbers such as (3, 32, 32), "
                         f"got {input_shape!r}.")
    names = {module: name for name, module in model.named_modules()}
    layers: list[LayerCount] = []

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        layers.append(LayerCount(names.get(module, "?"), type(module).__name__, _layer_macs(module, output)))

    handles = [module.register_forward_hook(hook) for module in model.modules()
               if isinstance(module, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return FlopCount(tuple(layers))
