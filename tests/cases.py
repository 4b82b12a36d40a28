"""Shared test cases and oracles: small models and data, including awkward ones (uneven
batches, a non-MLP model that only the generic engine handles, a linear model with a
closed form), the case tables the test modules share, and the float64 references
(``torch.func.hessian`` of the loss, the explicit Jacobian construction of G).

The case builders seed torch's global generator inside ``torch.random.fork_rng``, so a
case is the same whatever ran before it and leaves the global random state as it was."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from hessian_spectra.hessian.dense import exact_hessian
from hessian_spectra.training.models import convnet

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


def seeded(build):
    """``build(..., seed=s)`` runs with torch's global generator seeded with s, restored after."""

    @functools.wraps(build)
    def seeded_build(*args, seed: int = 0, **kwargs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build(*args, **kwargs)

    return seeded_build


@seeded
def mlp_case(activation: type = nn.ReLU, widths=(5, 4, 3), n_classes: int = 3, n: int = 23, bias: bool = True):
    """A small float64 MLP with data (inputs, targets)."""
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


@seeded
def conv_case(n: int = 11):
    model = TinyConvNet().to(DTYPE)
    return model, torch.randn(n, 1, 4, 4, dtype=DTYPE), torch.randint(0, 3, (n,))


@seeded
def small_convnet_case(n: int = 9):
    """The Family C architecture (conv-ReLU-maxpool twice, two fully connected layers) at
    toy size, float64: 1x6x6 inputs, 3 classes, M = 115."""
    model = convnet((1, 6, 6), n_classes=3, channels=(2, 3), kernel_size=3, hidden=5, padding=1).to(DTYPE)
    return model, torch.randn(n, 1, 6, 6, dtype=DTYPE), torch.randint(0, 3, (n,))


@seeded
def conv1d_avgpool_case(n: int = 8):
    """Another piecewise-linear Sequential: Conv1d, average pooling, a bias-free layer."""
    model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(),
                          nn.Linear(27, 4, bias=False), nn.ReLU(), nn.Linear(4, 3)).to(DTYPE)
    return model, torch.randn(n, 2, 20, dtype=DTYPE), torch.randint(0, 3, (n,))


MLP_CASES = {  # small MLPs (M = 23 to 59) for the dense engines and the products
    "relu": lambda: mlp_case(nn.ReLU),
    "tanh": lambda: mlp_case(nn.Tanh),
    "tanh_deep": lambda: mlp_case(nn.Tanh, widths=(4, 3, 5, 2), n_classes=4, seed=1),
    "no_bias": lambda: mlp_case(nn.ReLU, bias=False, seed=2),
    "linear": lambda: mlp_case(widths=(6,), n_classes=4, seed=3),
}
SPECTRUM_CASES = {  # larger MLPs for the eigensolver: M = 618 and M = 1208
    "relu_618": lambda: mlp_case(nn.ReLU, widths=(20, 16, 12), n_classes=6, n=60, seed=3),
    "tanh_1208": lambda: mlp_case(nn.Tanh, widths=(30, 20, 20), n_classes=8, n=100, seed=4),
}


def exact_values(case: str) -> tuple[tuple, np.ndarray]:
    """A case of ``SPECTRUM_CASES`` and the eigvalsh of its exact Hessian (the eigensolver's oracle)."""
    model, x, y = SPECTRUM_CASES[case]()
    return (model, x, y), torch.linalg.eigvalsh(exact_hessian(model, x, y)).numpy()


def rel_max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| relative to max |b| (b: the reference)."""
    return ((a - b).abs().max() / b.abs().max()).item()


def flat_logits(model: nn.Module, inputs: torch.Tensor):
    """(logits as a function of the flat parameter vector, the current flat parameters)."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).to(DTYPE)

    def logits(w):
        params = {n: t.reshape(s) for n, t, s in zip(names, w.split([s.numel() for s in shapes]), shapes)}
        return functional_call(model, params, (inputs,))

    return logits, flat


def flat_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor):
    """(loss as a function of the flat parameter vector, the current flat parameters)."""
    logits, flat = flat_logits(model, inputs)

    def loss(w):
        return nn.functional.cross_entropy(logits(w), targets)

    return loss, flat


def reference_hessian(model, inputs, targets) -> torch.Tensor:
    """The oracle: torch.func.hessian of the flat-parameter loss, float64."""
    loss, flat = flat_loss(model, inputs, targets)
    return torch.func.hessian(loss)(flat)


def reference_gauss_newton(model, inputs, targets) -> torch.Tensor:
    """G built the textbook way: the explicit Jacobians J_i of the logits (torch.func.jacrev
    of the whole batch), (1/N) sum_i J_i^T (diag p_i - p_i p_i^T) J_i, float64."""
    logits, flat = flat_logits(model, inputs)
    jac = torch.func.jacrev(logits)(flat)  # (N, C, M)
    prob = torch.softmax(logits(flat), 1)
    a = torch.diag_embed(prob) - prob[:, :, None] * prob[:, None, :]
    return torch.einsum("ncm,ncd,ndk->mk", jac, a, jac) / len(inputs)


#: ``with_field``'s value that removes the field
DELETE = object()


def with_field(config: dict, path: str, value) -> dict:
    """A deep copy of ``config`` with the field at dotted ``path`` set to ``value`` (``DELETE``:
    removed); list items by index (``clusters.groups.1.threshold``)."""
    config = copy.deepcopy(config)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return config
