"""The fully connected stacks the ``mlp`` engines handle, and what those engines share.

* ``mlp_layers``: recognises ``nn.Sequential`` stacks of Linear layers with pointwise
  activations between them; ``ACTIVATION_DERIVATIVES``: each activation's value and
  first and second derivatives.
* ``MLPStack``: the detached parameters of such a stack; ``MLPPass``: one forward and
  backward pass of a data batch through it (layer inputs, activation derivatives,
  backpropagated errors, softmax probabilities).

Both ``mlp`` engines, the dense Hessian (``hessian``) and the Hessian-vector products
(``operators``), build on one ``MLPPass`` per data batch instead of each running its own
forward and backward pass. The piecewise-linear conv/linear structure lives with its
engine (``piecewise``)."""

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


@dataclass(frozen=True)
class MLPStack:
    """The detached weights and biases of an ``mlp_layers`` stack, and the activation type
    after each layer (None after the last)."""

    weights: list[Tensor]
    biases: list[Tensor | None]
    activations: list[type | None]

    @classmethod
    def of(cls, layers: list[tuple[nn.Linear, type | None]]) -> MLPStack:
        return cls([linear.weight.detach() for linear, _ in layers],
                   [None if linear.bias is None else linear.bias.detach() for linear, _ in layers],
                   [activation for _, activation in layers])

    @property
    def sizes(self) -> list[int]:
        """The number of parameters of each layer (weight then bias, as ``model.parameters()``)."""
        return [w.numel() + (0 if b is None else b.numel()) for w, b in zip(self.weights, self.biases)]


@dataclass(frozen=True)
class MLPPass:
    """One forward and backward pass of a data batch (x, y) through an ``MLPStack``, for the
    mean softmax cross-entropy L over ``n_total`` samples (the batch's share of it).

    Layer l maps its input a_l to h_l = a_l W_l^T + b_l; a_{l+1} = phi_l(h_l); the last h
    are the logits. Lists over hidden layers (``first``, ``curvature``) have one entry
    fewer than those over all layers (``inputs``, ``errors``)."""

    inputs: list[Tensor]  # a_l, (n, in_l)
    first: list[Tensor]  # phi_l'(h_l), (n, out_l)
    curvature: list[Tensor | None]  # phi_l''(h_l) * dL/da_{l+1}, (n, out_l); None where phi'' = 0
    errors: list[Tensor]  # dL/dh_l, (n, out_l), the 1/n_total of the mean included
    prob: Tensor  # softmax(logits), (n, C)

    @classmethod
    def of(cls, stack: MLPStack, x: Tensor, y: Tensor, n_total: int) -> MLPPass:
        with torch.no_grad():
            inputs, first, second, logits = _forward(stack, x)
            prob = torch.softmax(logits, dim=1)
            onehot = torch.nn.functional.one_hot(y, prob.shape[1]).to(prob.dtype)
            errors, curvature = _backward(stack, (prob - onehot) * (1.0 / n_total), first, second)
        return cls(inputs, first, curvature, errors, prob)


def _forward(stack: MLPStack, x: Tensor) -> tuple[list[Tensor], list[Tensor], list[Tensor | None], Tensor]:
    """Layer inputs, phi'(h) and phi''(h) (None where zero) of the hidden layers, and the logits."""
    a = x.reshape(len(x), -1)
    inputs, first, second = [], [], []
    for weight, bias, activation_type in zip(stack.weights, stack.biases, stack.activations):
        inputs.append(a)
        h = a @ weight.T
        if bias is not None:
            h = h + bias
        if activation_type is not None:
            activation = ACTIVATION_DERIVATIVES[activation_type]
            first.append(activation.first(h))
            second.append(None if activation.piecewise_linear else activation.second(h))
            a = activation.value(h)
    return inputs, first, second, h


def _backward(stack: MLPStack, output_error: Tensor, first: list[Tensor],
              second: list[Tensor | None]) -> tuple[list[Tensor], list[Tensor | None]]:
    """dL/dh_l of every layer from dL/d(logits), and phi''(h_l) * dL/da_{l+1}."""
    n_layers = len(stack.weights)
    errors: list[Tensor] = [output_error] * n_layers
    curvature: list[Tensor | None] = [None] * (n_layers - 1)
    for l in range(n_layers - 2, -1, -1):
        back = errors[l + 1] @ stack.weights[l + 1]  # dL/da_{l+1}
        errors[l] = first[l] * back
        if second[l] is not None:
            curvature[l] = second[l] * back
    return errors, curvature
