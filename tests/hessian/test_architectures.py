"""The mlp engines' shared layer (``architectures``): the activation table against
autograd derivatives, ``mlp_layers``' structure test, and one ``MLPPass`` against the
quantities autograd finds for the same net (all float64)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cases import DTYPE, MLP_CASES, TinyConvNet, mlp_case
from hessian_spectra.hessian.architectures import ACTIVATION_DERIVATIVES, MLPPass, MLPStack, mlp_layers


@pytest.mark.parametrize("module_type", sorted(ACTIVATION_DERIVATIVES, key=lambda t: t.__name__))
def test_activation_derivatives_against_autograd(module_type):
    activation = ACTIVATION_DERIVATIVES[module_type]
    h = torch.randn(50, dtype=DTYPE, generator=torch.Generator().manual_seed(0))  # no exact 0 (ReLU's kink)
    module = module_type()

    def value(t):
        return module(t)

    first = torch.func.vmap(torch.func.grad(value))(h)
    second = torch.func.vmap(torch.func.grad(torch.func.grad(value)))(h)
    assert torch.allclose(activation.value(h), module(h), rtol=0, atol=1e-15)
    assert torch.allclose(activation.first(h), first, rtol=0, atol=1e-15)
    assert torch.allclose(activation.second(h), second, rtol=0, atol=1e-15)
    assert activation.piecewise_linear == bool((second == 0).all())


def test_mlp_layers_reads_linear_activation_stacks():
    model, _, _ = mlp_case(nn.Tanh, widths=(4, 3, 5), n_classes=2)
    layers = mlp_layers(model)
    assert [linear for linear, _ in layers] == [model[0], model[2], model[4]]
    assert [activation for _, activation in layers] == [nn.Tanh, nn.Tanh, None]
    flattened = nn.Sequential(nn.Flatten(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    assert [activation for _, activation in mlp_layers(flattened)] == [nn.ReLU, None]


@pytest.mark.parametrize("model", [
    nn.Sequential(nn.Linear(3, 2), nn.ReLU()),  # ends with an activation
    nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)),  # two layers without an activation between
    nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 2)),  # an activation not in the table
    nn.Sequential(nn.Conv1d(1, 1, 2), nn.ReLU(), nn.Linear(2, 2)),  # not fully connected
    nn.Sequential(),
    TinyConvNet(),  # not an nn.Sequential
])
def test_mlp_layers_refuses_other_structures(model):
    assert mlp_layers(model) is None


def _autograd_pass(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, n_total: int):
    """Layer inputs, pre-activations and dL/dh of every Linear layer, by autograd, for
    L = sum of this batch's cross-entropies / n_total."""
    inputs, outputs = [], []
    a = x
    for module in model:
        if isinstance(module, nn.Linear):
            inputs.append(a)
        a = module(a)
        if isinstance(module, nn.Linear):
            outputs.append(a)
    loss = nn.functional.cross_entropy(a, y, reduction="sum") / n_total
    return inputs, outputs, torch.autograd.grad(loss, outputs)


@pytest.mark.parametrize("case", ["tanh_deep", "relu", "no_bias"])
def test_pass_against_autograd(case):
    model, x, y = MLP_CASES[case]()
    batch_x, batch_y, n_total = x[:9], y[:9], len(x)  # one batch's share of the mean
    stack = MLPStack.of(mlp_layers(model))
    ours = MLPPass.of(stack, batch_x, batch_y, n_total)
    inputs, outputs, errors = _autograd_pass(model, batch_x, batch_y, n_total)
    assert len(ours.inputs) == len(ours.errors) == len(stack.weights) == len(ours.first) + 1
    for mine, theirs in zip(ours.inputs, inputs):
        assert torch.allclose(mine, theirs, rtol=0, atol=1e-14)
    for mine, theirs in zip(ours.errors, errors):
        assert torch.allclose(mine, theirs, rtol=0, atol=1e-15)
    assert torch.allclose(ours.prob, torch.softmax(outputs[-1], dim=1), rtol=0, atol=1e-15)
    for l, activation_type in enumerate(stack.activations[:-1]):
        h = outputs[l].detach().requires_grad_(True)
        a_next = activation_type()(h)
        first = torch.autograd.grad(a_next.sum(), h, create_graph=True)[0]
        assert torch.allclose(ours.first[l], first, rtol=0, atol=1e-15)
        second = torch.autograd.grad(first.sum(), h)[0] if first.requires_grad else torch.zeros_like(h)
        back = errors[l + 1] @ model[2 * (l + 1)].weight  # dL/da_{l+1}
        if ours.curvature[l] is None:
            assert (second == 0).all()
        else:
            assert torch.allclose(ours.curvature[l], second * back, rtol=0, atol=1e-15)


def test_stack_sizes_follow_parameter_order():
    model, _, _ = MLP_CASES["relu"]()
    stack = MLPStack.of(mlp_layers(model))
    assert stack.sizes == [sum(p.numel() for p in linear.parameters()) for linear, _ in mlp_layers(model)]
    assert all(not w.requires_grad for w in stack.weights)
