"""The piecewise-linear engine (``piecewise``): which nets it takes, and H and G against
``torch.func.hessian`` and the generic engine's Gauss-Newton part (all float64)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cases import (MLP_CASES, TinyConvNet, conv1d_avgpool_case, reference_hessian, rel_max_diff,
                   small_convnet_case)
from hessian_spectra.hessian.dense import hessian_split
from hessian_spectra.hessian.piecewise import piecewise_matrices, piecewise_stages

PIECEWISE_CASES = {  # piecewise-linear nets that are not MLPs
    "convnet": small_convnet_case,
    "conv1d_avgpool": conv1d_avgpool_case,
}


@pytest.mark.parametrize("case", sorted(PIECEWISE_CASES))
def test_piecewise_engine_against_torch_func_hessian_and_generic_gauss_newton(case):
    model, x, y = PIECEWISE_CASES[case]()
    ours = hessian_split(model, x, y, engine="piecewise", batch_size=4, chunk_size=7)
    generic = hessian_split(model, x, y, engine="generic", batch_size=4, chunk_size=16)
    assert rel_max_diff(ours.hessian, reference_hessian(model, x, y)) < 1e-10
    assert rel_max_diff(ours.gauss_newton, generic.gauss_newton) < 1e-10
    assert ours.residual.abs().max() > 1e-3 * ours.hessian.abs().max()  # R is not negligible here


def test_matrices_from_uneven_batches_without_the_split():
    model, x, y = small_convnet_case()  # 9 samples: batches of 4, 4 and 1
    batches = [(x[i : i + 4], y[i : i + 4]) for i in range(0, len(x), 4)]
    hessian, gauss_newton = piecewise_matrices(model, batches, chunk_size=5, with_gn=False)
    assert gauss_newton is None
    assert rel_max_diff(hessian, reference_hessian(model, x, y)) < 1e-10
    assert torch.equal(hessian, hessian.T)


def test_stages_split_the_net_at_its_affine_layers():
    model, _, _ = small_convnet_case()  # conv-ReLU-pool twice, flatten, linear-ReLU-linear
    stages, tail = piecewise_stages(model)
    assert [type(stage.layer) for stage in stages] == [nn.Conv2d, nn.Conv2d, nn.Linear, nn.Linear]
    assert [len(stage.prefix) for stage in stages] == [0, 2, 3, 1]  # ReLU, MaxPool (+ Flatten), ReLU
    assert tail == ()
    assert sum(stage.size for stage in stages) == sum(p.numel() for p in model.parameters())
    assert stages[2].names == ["weight", "bias"]


def test_stages_refuse_nets_that_are_not_piecewise_linear_sequentials():
    assert piecewise_stages(MLP_CASES["tanh"]()[0]) is None  # tanh is not piecewise linear
    assert piecewise_stages(TinyConvNet()) is None  # not an nn.Sequential
    assert piecewise_stages(nn.Sequential(nn.ReLU(), nn.Flatten())) is None  # no affine layer
    stages, tail = piecewise_stages(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    assert len(stages) == 1 and [type(m) for m in tail] == [nn.ReLU]
