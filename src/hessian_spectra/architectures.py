"""The layer structure the structured Hessian engines recognise: fully connected stacks
with pointwise activations (``mlp_layers``) and the activations' derivatives. Shared by
the dense engine (``hessian``) and the Hessian-vector products (``operators``); the
piecewise-linear conv/linear structure lives with its engine (``piecewise``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Activation:
    """A pointwise activation as the structured engines need it: its value and its first
    and second derivatives, all functions of the pre-activation."""

    value: Callable[[Tensor], Tensor]
    first: Callable[[Tensor], Tensor]
    second: Callable[[Tensor], Tensor]
    piecewise_linear: bool  # second derivative zero (almost everywhere)


def _tanh_first(h: Tensor) -> Tensor:
    return 1 - torch.tanh(h) ** 2


#: Module type -> value and derivatives: the activations the ``mlp`` engines support (not to be
#: confused with ``models.ACTIVATIONS``, config name -> module class).
ACTIVATION_DERIVATIVES: dict[type, Activation] = {
    nn.ReLU: Activation(torch.relu, lambda h: (h > 0).to(h.dtype), torch.zeros_like, True),
    nn.Tanh: Activation(torch.tanh, _tanh_first, lambda h: -2 * torch.tanh(h) * _tanh_first(h), False),
    nn.Identity: Activation(lambda h: h, torch.ones_like, torch.zeros_like, True),
}


def mlp_layers(model: nn.Module) -> list[tuple[nn.Linear, type | None]] | None:
    """[(linear, activation type after it)] when ``model`` is Linear/activation alternating
    (an optional leading ``nn.Flatten`` allowed), else None."""
    if not isinstance(model, nn.Sequential):
        return None
    modules = list(model)
    if modules and isinstance(modules[0], nn.Flatten):
        modules = modules[1:]
    layers: list[tuple[nn.Linear, type | None]] = []
    expect_linear = True
    for module in modules:
        if expect_linear and isinstance(module, nn.Linear):
            layers.append((module, None))
        elif not expect_linear and type(module) in ACTIVATION_DERIVATIVES:
            layers[-1] = (layers[-1][0], type(module))
        else:
            return None
        expect_linear = not expect_linear
    if not layers or layers[-1][1] is not None:
        return None
    return layers
