"""The exact Hessian engines against independent oracles (all float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cases import (DTYPE, MLP_CASES, conv_case, flat_loss, mlp_case, reference_gauss_newton, reference_hessian,
                   rel_max_diff, small_convnet_case)
from hessian_spectra.hessian.architectures import mlp_layers
from hessian_spectra.hessian.dense import HessianMemoryError, check_memory, eigenvalues, exact_hessian, hessian_split
from hessian_spectra.hessian.piecewise import piecewise_stages

PIECEWISE_MLPS = ["relu", "no_bias", "linear"]  # the MLP cases without tanh


@pytest.mark.parametrize(("case", "engine"), [(case, engine) for case in sorted(MLP_CASES)
                                              for engine in ("mlp", "generic")]
                         + [(case, "piecewise") for case in PIECEWISE_MLPS])
def test_against_torch_func_hessian(case, engine):
    model, x, y = MLP_CASES[case]()
    ours = exact_hessian(model, x, y, engine=engine, batch_size=7, chunk_size=5)
    assert rel_max_diff(ours, reference_hessian(model, x, y)) < 1e-10


def test_auto_engine_takes_the_structure_the_model_has():
    convnet, x, y = small_convnet_case()
    assert mlp_layers(convnet) is None and piecewise_stages(convnet) is not None
    assert torch.equal(exact_hessian(convnet, x, y), exact_hessian(convnet, x, y, engine="piecewise"))
    tanh_mlp, x, y = MLP_CASES["tanh"]()
    assert piecewise_stages(tanh_mlp) is None  # tanh is not piecewise linear
    assert torch.equal(exact_hessian(tanh_mlp, x, y), exact_hessian(tanh_mlp, x, y, engine="mlp"))


def test_generic_engine_on_a_convnet_against_torch_func_hessian():
    model, x, y = conv_case()
    assert mlp_layers(model) is None  # auto must fall back to the generic engine
    ours = exact_hessian(model, x, y, engine="auto", batch_size=4, chunk_size=8)
    assert rel_max_diff(ours, reference_hessian(model, x, y)) < 1e-10


@pytest.mark.parametrize("case", ["relu", "tanh"])
def test_against_finite_differences_of_gradients(case):
    model, x, y = MLP_CASES[case]()
    loss, flat = flat_loss(model, x, y)
    grad = torch.func.grad(loss)
    ours = exact_hessian(model, x, y)
    step = 1e-6
    for j in range(0, len(flat), 7):
        e = torch.zeros_like(flat)
        e[j] = step
        column = (grad(flat + e) - grad(flat - e)) / (2 * step)
        assert torch.allclose(ours[:, j], column, atol=1e-7, rtol=1e-6), j


def test_against_closed_form_multinomial_logistic_regression():
    """Linear model z = W x + b: H = (1/N) sum_i (diag p_i - p_i p_i^T) kron [x_i; 1][x_i; 1]^T."""
    model, x, y = mlp_case(widths=(6,), n_classes=4, seed=5, n=31)
    with torch.no_grad():
        prob = torch.softmax(model(x), dim=1)
    d, c = x.shape[1], prob.shape[1]
    ww = torch.zeros(c * d, c * d, dtype=DTYPE)
    wb = torch.zeros(c * d, c, dtype=DTYPE)
    bb = torch.zeros(c, c, dtype=DTYPE)
    for p, xi in zip(prob, x):
        a = torch.diag(p) - torch.outer(p, p)
        ww += torch.kron(a, torch.outer(xi, xi))
        wb += torch.kron(a, xi[:, None])
        bb += a
    closed = torch.cat([torch.cat([ww, wb], 1), torch.cat([wb.T, bb], 1)], 0) / len(x)
    for engine in ("mlp", "generic"):
        assert rel_max_diff(exact_hessian(model, x, y, engine=engine), closed) < 1e-12


@pytest.mark.parametrize("engine", ["mlp", "generic"])
def test_symmetric(engine):
    model, x, y = MLP_CASES["tanh_deep"]()
    h = exact_hessian(model, x, y, engine=engine)
    assert torch.equal(h, h.T)


@pytest.mark.parametrize("engine", ["mlp", "piecewise", "generic"])
def test_same_hessian_for_one_batch_and_uneven_batches(engine):
    model, x, y = MLP_CASES["relu"]()  # 23 samples: batches of 5 leave a batch of 3
    one = exact_hessian(model, x, y, engine=engine, batch_size=len(x))
    several = exact_hessian(model, x, y, engine=engine, batch_size=5)
    assert torch.allclose(one, several, rtol=0, atol=1e-14 * one.abs().max().item())


@pytest.mark.parametrize("case", ["relu", "tanh_deep"])
def test_gauss_newton_plus_residual_is_hessian_and_engines_agree(case):
    model, x, y = MLP_CASES[case]()
    fast = hessian_split(model, x, y, engine="mlp", batch_size=6)
    generic = hessian_split(model, x, y, engine="generic", batch_size=6, chunk_size=4)
    assert torch.allclose(fast.gauss_newton + fast.residual, fast.hessian, atol=1e-15)
    assert rel_max_diff(fast.gauss_newton, generic.gauss_newton) < 1e-10
    assert rel_max_diff(fast.hessian, reference_hessian(model, x, y)) < 1e-10


def test_gauss_newton_against_jacobian_construction():
    """G built another way: the explicit per-sample Jacobians J_i of the logits, (1/N) sum J^T A J."""
    model, x, y = MLP_CASES["tanh"]()
    assert rel_max_diff(hessian_split(model, x, y).gauss_newton, reference_gauss_newton(model, x, y)) < 1e-10


def test_gauss_newton_is_psd_with_rank_at_most_n_times_c_minus_1():
    model, x, y = mlp_case(nn.ReLU, widths=(6, 5), n_classes=3, n=4, seed=7)  # M=53 >> N(C-1)=8
    g = hessian_split(model, x, y).gauss_newton
    values = torch.linalg.eigvalsh(g)
    assert values.min() > -1e-12 * values.max()
    assert torch.linalg.matrix_rank(g, hermitian=True, rtol=1e-10) <= len(x) * (3 - 1)
    assert torch.linalg.matrix_rank(g, hermitian=True, rtol=1e-10) > 0


def test_refuses_before_allocating_when_over_budget():
    model = nn.Sequential(nn.Linear(1000, 1000), nn.ReLU(), nn.Linear(1000, 10))  # M ~ 1e6: 8 TB dense
    x, y = torch.randn(2, 1000), torch.tensor([0, 1])
    with pytest.raises(HessianMemoryError, match=r"hessian\.memory_budget_gb"):
        exact_hessian(model, x, y, memory_budget_gb=8)
    check_memory(100, budget_gb=1)  # small matrices pass


def test_bad_engine_and_mismatched_data_are_rejected():
    model, x, y = conv_case()
    with pytest.raises(ValueError, match="engine"):
        exact_hessian(model, x, y, engine="fast")
    for engine in ("mlp", "piecewise"):  # TinyConvNet is neither an MLP nor a Sequential
        with pytest.raises(ValueError, match=f"engine='{engine}' needs"):
            exact_hessian(model, x, y, engine=engine)
    with pytest.raises(ValueError, match="targets"):
        exact_hessian(model, x, y[:-1])


@pytest.mark.parametrize("engine", ["mlp", "piecewise", "generic"])
def test_labels_outside_the_models_classes_are_named_before_any_work(engine):
    model, x, y = mlp_case(n_classes=3)
    bad = y.clone()
    bad[[2, 5]] = torch.tensor([3, -1])
    with pytest.raises(ValueError, match=r"2 label\(s\) outside the model's 3 classes \(0\.\.2\): -1, 3"):
        exact_hessian(model, x, bad, engine=engine)
    with pytest.raises(ValueError, match="integer class labels"):
        exact_hessian(model, x, y.double(), engine=engine)


def test_labels_outside_the_classes_are_refused_by_the_operator_and_the_range_method():
    from hessian_spectra.hessian.operators import HessianOperator
    from hessian_spectra.hessian.range import range_eigenvalues

    model, x, y = mlp_case(n_classes=3)
    y = y.clone()
    y[0] = 7
    with pytest.raises(ValueError, match=r"outside the model's 3 classes \(0\.\.2\): 7"):
        HessianOperator(model, x, y)
    with pytest.raises(ValueError, match=r"outside the model's 3 classes"):
        range_eigenvalues(model, x, y)


def test_model_is_not_modified_and_float32_models_give_float64_hessians():
    model, x, y = MLP_CASES["relu"]()
    model32 = model.float()
    before = [p.clone() for p in model32.parameters()]
    h = exact_hessian(model32, x.float(), y)
    assert h.dtype == torch.float64
    assert all(torch.equal(a, b) and b.dtype == torch.float32 for a, b in zip(before, model32.parameters()))


@pytest.mark.parametrize("engine", ["mlp", "piecewise", "generic"])
def test_results_are_plain_tensors_without_autograd_history(engine):
    """The workflow converts the matrices to numpy; a graph would also hold memory."""
    model, x, y = MLP_CASES["relu"]()
    assert all(p.requires_grad for p in model.parameters())
    split = hessian_split(model, x, y, engine=engine)
    assert not split.hessian.requires_grad and not split.gauss_newton.requires_grad
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen model gives the same Hessian
    assert torch.allclose(exact_hessian(model, x, y, engine=engine), split.hessian, rtol=0, atol=1e-15)


def test_eigenvalues_against_numpy():
    a = torch.randn(40, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    sym = a + a.T
    assert np.allclose(eigenvalues(sym), np.linalg.eigvalsh(sym.numpy()), atol=1e-12)
    with pytest.raises(ValueError, match="square"):
        eigenvalues(torch.zeros(3, 4))


def test_on_cuda_the_memory_check_reads_the_devices_free_memory(monkeypatch):
    """Runs without a GPU: the check asks torch.cuda.mem_get_info, faked here, and refuses
    before anything is allocated on the device."""
    asked = []

    def mem_get_info(device):
        asked.append(device)
        return 2 * 2**30, 80 * 2**30  # 2 GiB free of 80

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    cuda = torch.device("cuda")
    check_memory(10_000, budget_gb=100, device=cuda)  # 1.5 GiB with workspace: fits the 2 GiB free
    with pytest.raises(HessianMemoryError, match=r"has 2\.00 GiB free \(of 80\.00 GiB\)"):
        check_memory(20_000, budget_gb=100, device=cuda)  # 6 GiB
    assert asked == [cuda, cuda]
    check_memory(20_000, budget_gb=100, device=torch.device("cpu"))  # the CPU has no such check
    assert len(asked) == 2
