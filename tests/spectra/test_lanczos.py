"""The Lanczos recurrence (``lanczos``, through ``edge_eigenvalues``) against dense oracles:
eigvalsh of exact Hessians and matrices with known spectra (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cases import MLP_CASES, SPECTRUM_CASES, exact_values, mlp_case, reference_hessian
from hessian_spectra.hessian.dense import exact_hessian
from hessian_spectra.hessian.operators import HessianOperator, MatrixOperator
from hessian_spectra.spectra.edges import EdgeSpectrum, edge_eigenvalues

ACCURACY = 1e-8  # eigenvalues, relative to max |lambda|


@pytest.mark.parametrize("case", sorted(SPECTRUM_CASES))
def test_edges_against_eigvalsh_of_the_exact_hessian(case):
    (model, x, y), exact = exact_values(case)
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
    (model, x, y), exact = exact_values("relu_618")
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


@pytest.mark.parametrize("case", ["relu", "tanh_deep", "no_bias"])
@pytest.mark.parametrize("batch_size", [None, 5])
def test_single_vector_products_are_columns_of_the_exact_hessian(case, batch_size):
    """The mlp engine's one-vector path (what a Lanczos step uses) against the dense Hessian."""
    model, x, y = MLP_CASES[case]()
    dense = reference_hessian(model, x, y)  # torch.func.hessian of the loss
    operator = HessianOperator(model, x, y, engine="mlp", batch_size=batch_size)
    generator = torch.Generator().manual_seed(3)
    for _ in range(3):
        vector = torch.randn(operator.size, dtype=torch.float64, generator=generator)
        expected = dense @ vector
        assert (operator.matvec(vector) - expected).abs().max() <= 1e-12 * expected.abs().max()
    eye = torch.eye(operator.size, dtype=torch.float64)
    columns = torch.stack([operator.matvec(eye[:, i]) for i in range(operator.size)], dim=1)
    assert torch.allclose(columns, dense, rtol=0, atol=1e-12 * dense.abs().max())
