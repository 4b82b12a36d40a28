"""The Gauss-Newton matrix from per-sample Jacobians (``gauss_newton``) against the
textbook construction from whole-batch ``torch.func.jacrev`` (all float64)."""

from __future__ import annotations

import pytest
import torch

from cases import DTYPE, MLP_CASES, conv_case, flat_logits, reference_gauss_newton, rel_max_diff
from hessian_spectra.hessian.gauss_newton import add_gauss_newton, flat_functional, output_jacobians

CASES = {"tanh_mlp": MLP_CASES["tanh_deep"], "convnet": conv_case}


def test_flat_functional_round_trips_the_parameters_in_order():
    model, _, _ = conv_case()
    flat, unflatten = flat_functional(model)
    assert torch.equal(flat, torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    named = unflatten(flat)
    assert list(named) == [name for name, _ in model.named_parameters()]
    assert all(torch.equal(named[name], p) for name, p in model.named_parameters())


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_jacobians_are_the_per_sample_rows_of_the_batch_jacobian(case):
    model, x, _ = CASES[case]()
    logits, flat = flat_logits(model, x)
    batch = torch.func.jacrev(logits)(flat)  # (N, C, M): sample i only moves row i
    assert rel_max_diff(output_jacobians(model, x), batch) < 1e-12


@pytest.mark.parametrize("chunk_bytes", [8, 2**30])  # one sample per chunk, all at once
@pytest.mark.parametrize("case", sorted(CASES))
def test_add_gauss_newton_against_the_jacobian_construction(case, chunk_bytes):
    model, x, y = CASES[case]()
    n_params = sum(p.numel() for p in model.parameters())
    out = torch.zeros(n_params, n_params, dtype=DTYPE)
    add_gauss_newton(out, model, x[:5], y[:5], len(x), chunk_bytes=chunk_bytes)  # accumulates:
    add_gauss_newton(out, model, x[5:], y[5:], len(x), chunk_bytes=chunk_bytes)  # two batches, one mean
    assert rel_max_diff(out, reference_gauss_newton(model, x, y)) < 1e-12
