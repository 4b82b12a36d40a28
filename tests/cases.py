"""Shared test cases: small models and data, including awkward ones (uneven batches,
a non-MLP model that only the generic engine handles, a linear model with a closed form)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call

DTYPE = torch.float64
ROOT = Path(__file__).resolve().parents[1]  # the repository


class TinyConvNet(nn.Module):
    """Not an nn.Sequential MLP: exercises the generic (HVP) engine."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, kernel_size=3)
        self.fc = nn.Linear(2 * 2 * 2, n_classes)

    def forward(self, x):
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


def mlp_case(activation: type = nn.ReLU, widths=(5, 4, 3), n_classes: int = 3, n: int = 23, seed: int = 0,
             bias: bool = True):
    """A small float64 MLP with data (inputs, targets)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    sizes = [*widths, n_classes]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(activation())
    model = nn.Sequential(*layers).to(DTYPE)
    inputs = torch.randn(n, widths[0], dtype=DTYPE)
    targets = torch.randint(0, n_classes, (n,))
    return model, inputs, targets


def conv_case(n: int = 11, seed: int = 0):
    torch.manual_seed(seed)
    model = TinyConvNet().to(DTYPE)
    return model, torch.randn(n, 1, 4, 4, dtype=DTYPE), torch.randint(0, 3, (n,))


def small_convnet_case(n: int = 9, seed: int = 0):
    """The Family C architecture (conv-ReLU-maxpool twice, two fully connected layers) at
    toy size, float64: 1x6x6 inputs, 3 classes, M = 115."""
    from hessian_spectra.models import convnet

    torch.manual_seed(seed)
    model = convnet((1, 6, 6), n_classes=3, channels=(2, 3), kernel_size=3, hidden=5, padding=1).to(DTYPE)
    return model, torch.randn(n, 1, 6, 6, dtype=DTYPE), torch.randint(0, 3, (n,))


def conv1d_avgpool_case(n: int = 8, seed: int = 0):
    """Another piecewise-linear Sequential: Conv1d, average pooling, a bias-free layer."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(),
                          nn.Linear(27, 4, bias=False), nn.ReLU(), nn.Linear(4, 3)).to(DTYPE)
    return model, torch.randn(n, 2, 20, dtype=DTYPE), torch.randint(0, 3, (n,))


def flat_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor):
    """(loss as a function of the flat parameter vector, the current flat parameters)."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).to(DTYPE)

    def loss(w):
        params = {n: t.reshape(s) for n, t, s in zip(names, w.split([s.numel() for s in shapes]), shapes)}
        return nn.functional.cross_entropy(functional_call(model, params, (inputs,)), targets)

    return loss, flat


def reference_hessian(model, inputs, targets) -> torch.Tensor:
    """The oracle: torch.func.hessian of the flat-parameter loss, float64."""
    loss, flat = flat_loss(model, inputs, targets)
    return torch.func.hessian(loss)(flat)
