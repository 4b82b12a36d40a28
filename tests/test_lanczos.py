"""Hessian-vector products and the Lanczos edge eigensolver against dense oracles (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cases import DTYPE, conv_case, mlp_case, reference_hessian
from hessian_spectra.hessian import exact_hessian
from hessian_spectra.lanczos import EdgeSpectrum, edge_eigenvalues, hessian_edges
from hessian_spectra.operators import HessianOperator, MatrixOperator

PRODUCT_CASES = {
    "relu": lambda: mlp_case(nn.ReLU),
    "tanh_deep": lambda: mlp_case(nn.Tanh, widths=(4, 3, 5, 2), n_classes=4, seed=1),
    "no_bias": lambda: mlp_case(nn.ReLU, bias=False, seed=2),
}
# small MLPs for the eigensolver: M = 618 and M = 1208
SPECTRUM_CASES = {
    "relu_618": lambda: mlp_case(nn.ReLU, widths=(20, 16, 12), n_classes=6, n=60, seed=3),
    "tanh_1208": lambda: mlp_case(nn.Tanh, widths=(30, 20, 20), n_classes=8, n=100, seed=4),
}
ACCURACY = 1e-8  # eigenvalues, relative to max |lambda|


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def _exact_values(case: str) -> tuple[tuple, np.ndarray]:
    model, x, y = SPECTRUM_CASES[case]()
    return (model, x, y), torch.linalg.eigvalsh(exact_hessian(model, x, y)).numpy()


# ----------------------------------------------------------------------------- operator


@pytest.mark.parametrize("batch_size", [None, 5])  # 23 samples: batches of 5 leave one of 3
@pytest.mark.parametrize("engine", ["mlp", "autograd"])
@pytest.mark.parametrize("case", sorted(PRODUCT_CASES))
def test_products_against_exact_hessian(case, engine, batch_size):
    model, x, y = PRODUCT_CASES[case]()
    dense = exact_hessian(model, x, y)
    operator = HessianOperator(model, x, y, engine=engine, batch_size=batch_size, block_size=3)
    generator = torch.Generator().manual_seed(0)
    block = torch.randn(operator.size, 7, dtype=DTYPE, generator=generator)  # 3 + 3 + 1 columns
    assert _rel(operator.matmat(block), dense @ block) < 1e-12
    assert _rel(operator.matvec(block[:, 0]), dense @ block[:, 0]) < 1e-12
    assert operator.n_products == 8


@pytest.mark.parametrize("engine", ["mlp", "autograd"])
def test_products_against_torch_func_hessian_on_a_tiny_net(engine):
    model, x, y = mlp_case(nn.Tanh, widths=(3, 2), n_classes=2, n=5, seed=6)  # M = 14
    dense = reference_hessian(model, x, y)
    operator = HessianOperator(model, x, y, engine=engine)
    assert _rel(operator.matmat(torch.eye(operator.size, dtype=DTYPE)), dense) < 1e-12


def test_convnet_products_against_torch_func_hessian():
    model, x, y = conv_case()
    operator = HessianOperator(model, x, y, batch_size=4)  # "auto" must fall back to autograd
    assert operator.engine == "autograd"
    dense = reference_hessian(model, x, y)
    block = torch.randn(operator.size, 4, dtype=DTYPE, generator=torch.Generator().manual_seed(1))
    assert _rel(operator.matmat(block), dense @ block) < 1e-12
    assert _rel(operator @ block[:, 1], dense @ block[:, 1]) < 1e-12


@pytest.mark.parametrize("engine", ["mlp", "autograd"])
def test_block_product_equals_column_products_and_batches_do_not_matter(engine):
    model, x, y = PRODUCT_CASES["relu"]()
    whole = HessianOperator(model, x, y, engine=engine)
    uneven = HessianOperator(model, x, y, engine=engine, batch_size=5, block_size=2)
    block = torch.randn(whole.size, 5, dtype=DTYPE, generator=torch.Generator().manual_seed(2))
    columns = torch.stack([whole.matvec(block[:, i]) for i in range(5)], dim=1)
    scale = columns.abs().max().item()
    assert torch.allclose(whole.matmat(block), columns, rtol=0, atol=1e-14 * scale)
    assert torch.allclose(uneven.matmat(block), columns, rtol=0, atol=1e-14 * scale)


def test_engines_agree_on_a_larger_mlp():
    model, x, y = SPECTRUM_CASES["tanh_1208"]()
    block = torch.randn(1208, 6, dtype=DTYPE, generator=torch.Generator().manual_seed(3))
    fast = HessianOperator(model, x, y, engine="mlp", batch_size=33).matmat(block)
    generic = HessianOperator(model, x, y, engine="autograd").matmat(block)
    assert _rel(fast, generic) < 1e-12


def test_model_is_not_modified_and_float32_models_give_float64_products():
    model, x, y = PRODUCT_CASES["relu"]()
    model32 = model.float()
    before = [p.clone() for p in model32.parameters()]
    operator = HessianOperator(model32, x.float(), y)
    product = operator.matvec(torch.ones(operator.size, dtype=DTYPE))
    assert product.dtype == torch.float64
    assert all(torch.equal(a, b) and b.dtype == torch.float32 and b.grad is None
               for a, b in zip(before, model32.parameters()))


def test_bad_arguments_are_rejected():
    model, x, y = conv_case()
    with pytest.raises(ValueError, match="mlp"):
        HessianOperator(model, x, y, engine="mlp")
    with pytest.raises(ValueError, match="engine"):
        HessianOperator(model, x, y, engine="fast")
    with pytest.raises(ValueError, match="targets"):
        HessianOperator(model, x, y[:-1])
    operator = HessianOperator(*PRODUCT_CASES["relu"]())
    with pytest.raises(ValueError, match="block"):
        operator.matmat(torch.ones(3, 2, dtype=DTYPE))
    with pytest.raises(ValueError, match="which"):
        edge_eigenvalues(operator, 2, which="middle")
    with pytest.raises(ValueError, match="max_products"):
        edge_eigenvalues(operator, 2, max_products=3)


# ----------------------------------------------------------------------------- eigensolver


@pytest.mark.parametrize("case", sorted(SPECTRUM_CASES))
def test_edges_against_eigvalsh_of_the_exact_hessian(case):
    (model, x, y), exact = _exact_values(case)
    scale = np.abs(exact).max()
    k = 10
    result = edge_eigenvalues(HessianOperator(model, x, y), k, tol=1e-10)
    assert isinstance(result, EdgeSpectrum)
    assert result.converged
    np.testing.assert_array_less(np.abs(result.largest - exact[::-1][:k]) / scale, ACCURACY)
    np.testing.assert_array_less(np.abs(result.smallest - exact[:k]) / scale, ACCURACY)
    assert np.all(np.diff(result.largest) <= 0) and np.all(np.diff(result.smallest) >= 0)
    assert result.residual_norms.shape == (2 * k,)
    assert np.all(result.residual_norms <= 1e-10 * result.scale)
    assert abs(result.scale - scale) <= ACCURACY * scale
    assert result.n_products < exact.size  # far fewer products than the dense Hessian's M


@pytest.mark.parametrize("options", [
    {"which": "largest"},
    {"which": "smallest"},
    {"block_size": 3},
    {"max_basis": 60},  # thick restarts
    {"method": "arpack"},
])
def test_solver_variants_against_eigvalsh(options):
    (model, x, y), exact = _exact_values("relu_618")
    scale = np.abs(exact).max()
    k = 6
    result = edge_eigenvalues(HessianOperator(model, x, y), k, tol=1e-10, **options)
    assert result.converged, result
    which = options.get("which", "both")
    if which in ("both", "largest"):
        assert np.abs(result.largest - exact[::-1][:k]).max() / scale < ACCURACY
    else:
        assert result.largest.size == 0
    if which in ("both", "smallest"):
        assert np.abs(result.smallest - exact[:k]).max() / scale < ACCURACY
    else:
        assert result.smallest.size == 0
    assert np.all(result.residual_norms <= 1e-10 * result.scale)
    if "max_basis" in options:
        assert result.n_restarts > 0


def test_against_a_matrix_with_a_known_clustered_spectrum():
    """Q diag(d) Q^T with clusters at both ends and a dense bulk, like a trained net's Hessian."""
    rng = np.random.default_rng(5)
    values = np.concatenate([[3.0, 2.0, 1.999, 1.998, 1.5], rng.uniform(-0.01, 0.2, 395),
                             [-0.5, -0.49, -0.4899, -0.3]])
    basis = np.linalg.qr(rng.standard_normal((values.size, values.size)))[0]
    matrix = torch.from_numpy((basis * values) @ basis.T)
    matrix = (matrix + matrix.T) / 2
    result = edge_eigenvalues(MatrixOperator(matrix), 4, tol=1e-11)
    exact = np.sort(values)
    assert result.converged
    assert np.abs(result.largest - exact[::-1][:4]).max() < 1e-10 * 3.0
    assert np.abs(result.smallest - exact[:4]).max() < 1e-10 * 3.0


def test_no_ghost_copies_when_the_outliers_converge_long_before_the_small_end():
    """Plain Lanczos without reorthogonalization returns [10, 10, 10, 10] here (the top
    Ritz vector re-enters the basis) with small residuals; partial reorthogonalization
    must keep the copies out, and the Ritz-vector orthonormality check must flag them."""
    rng = np.random.default_rng(7)
    values = np.concatenate([[10.0, 9.0, 8.0, 7.5], rng.uniform(-0.0995, 0.5, 1192),
                             [-0.1, -0.0999, -0.0998, -0.0997]])
    basis = np.linalg.qr(rng.standard_normal((values.size, values.size)))[0]
    matrix = torch.from_numpy((basis * values) @ basis.T)
    result = edge_eigenvalues(MatrixOperator((matrix + matrix.T) / 2), 4, tol=1e-11)
    assert result.converged
    np.testing.assert_allclose(result.largest, [10.0, 9.0, 8.0, 7.5], rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.smallest, [-0.1, -0.0999, -0.0998, -0.0997], rtol=0, atol=1e-10)


def test_tiny_operator_is_solved_exactly_when_the_basis_fills_the_space():
    model, x, y = mlp_case(nn.ReLU, widths=(4, 3), n_classes=3, n=9, seed=8)  # M = 27
    exact = torch.linalg.eigvalsh(exact_hessian(model, x, y)).numpy()
    result = edge_eigenvalues(HessianOperator(model, x, y), 12, tol=1e-10)
    scale = np.abs(exact).max()
    assert result.converged
    assert np.abs(result.largest - exact[::-1][:12]).max() / scale < ACCURACY
    assert np.abs(result.smallest - exact[:12]).max() / scale < ACCURACY


@pytest.mark.parametrize("method", ["lanczos", "arpack"])
def test_budget_exhausted_gives_honest_non_convergence_not_an_exception(method):
    (model, x, y), exact = _exact_values("tanh_1208")
    k = 5
    result = edge_eigenvalues(HessianOperator(model, x, y), k, tol=1e-10, max_products=2 * k + 6,
                              method=method)
    assert not result.converged
    assert result.residual_norms.size > 0 or method == "arpack"
    if result.residual_norms.size:
        assert result.residual_norms.max() > 1e-6 * np.abs(exact).max()  # far from converged, and says so
    if method == "lanczos":
        assert result.n_products <= 2 * k + 6
        assert "max_products reached" in result.notes


def test_product_count_is_what_the_operator_saw_including_the_final_residual_check():
    model, x, y = SPECTRUM_CASES["relu_618"]()
    operator = HessianOperator(model, x, y)
    result = edge_eigenvalues(operator, 5)
    assert result.n_products == operator.n_products
    assert result.n_products >= 10 + 10  # at least the basis for 2 x 5 values and one product per pair
    assert result.converged == bool(np.all(result.residual_norms <= result.tol * result.scale))


def test_hessian_edges_matches_the_two_steps_and_times_the_whole():
    model, x, y = SPECTRUM_CASES["relu_618"]()
    edges = hessian_edges(model, x, y, k=4, tol=1e-10, batch_size=25)
    steps = edge_eigenvalues(HessianOperator(model, x, y), 4, tol=1e-10)
    assert np.allclose(edges.largest, steps.largest, rtol=0, atol=1e-9 * steps.scale)
    assert np.allclose(edges.smallest, steps.smallest, rtol=0, atol=1e-9 * steps.scale)
    assert edges.converged and edges.seconds > 0
