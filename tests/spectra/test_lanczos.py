"""The Lanczos edge eigensolver (``lanczos``) against dense oracles: eigvalsh of exact
Hessians and matrices with known spectra (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cases import MLP_CASES, SPECTRUM_CASES, mlp_case, reference_hessian
from hessian_spectra import lanczos
from hessian_spectra.hessian import exact_hessian
from hessian_spectra.lanczos import (_CHUNK_ROWS, EdgeSpectrum, _merge_ranges, _orthogonalize_ranges,
                                     _OrthogonalityEstimate, edge_eigenvalues, hessian_edges)
from hessian_spectra.operators import HessianOperator, MatrixOperator

ACCURACY = 1e-8  # eigenvalues, relative to max |lambda|


def _exact_values(case: str) -> tuple[tuple, np.ndarray]:
    model, x, y = SPECTRUM_CASES[case]()
    return (model, x, y), torch.linalg.eigvalsh(exact_hessian(model, x, y)).numpy()


def test_bad_arguments_are_rejected():
    operator = HessianOperator(*MLP_CASES["relu"]())
    with pytest.raises(ValueError, match="which"):
        edge_eigenvalues(operator, 2, which="middle")
    with pytest.raises(ValueError, match="max_products"):
        edge_eigenvalues(operator, 2, max_products=3)


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


@pytest.mark.parametrize("method", ["lanczos", "arpack"])
def test_the_seed_alone_sets_the_start_and_global_random_state_is_untouched(method):
    model, x, y = SPECTRUM_CASES["relu_618"]()
    operator = HessianOperator(model, x, y)
    saved_numpy = np.random.get_state()
    with torch.random.fork_rng(devices=[]):  # this test sets the global states; others keep theirs
        torch.manual_seed(11)
        np.random.seed(11)
        torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
        first = edge_eigenvalues(operator, 3, seed=5, method=method)
        assert torch.equal(torch.get_rng_state(), torch_state)
        assert np.array_equal(np.random.get_state()[1], numpy_state)
        torch.manual_seed(12)  # another global state must not matter
        np.random.seed(12)
        again = edge_eigenvalues(operator, 3, seed=5, method=method)
    np.random.set_state(saved_numpy)
    other = edge_eigenvalues(operator, 3, seed=6, method=method)
    assert np.array_equal(first.largest, again.largest) and np.array_equal(first.smallest, again.smallest)
    assert np.array_equal(first.residual_norms, again.residual_norms)
    assert not np.array_equal(first.residual_norms, other.residual_norms)  # another start vector


def test_hessian_edges_passes_its_seed_to_the_start_vector():
    model, x, y = SPECTRUM_CASES["relu_618"]()
    edges = hessian_edges(model, x, y, k=3, seed=5)
    same_seed = edge_eigenvalues(HessianOperator(model, x, y), 3, seed=5)
    default_seed = edge_eigenvalues(HessianOperator(model, x, y), 3)
    assert np.array_equal(edges.largest, same_seed.largest) and np.array_equal(edges.smallest, same_seed.smallest)
    assert np.array_equal(edges.residual_norms, same_seed.residual_norms)
    assert not np.array_equal(edges.residual_norms, default_seed.residual_norms)


def test_reorthogonalization_ranges_cover_the_indices_that_lost_orthogonality():
    """The partial reorthogonalization picks the runs of |omega| above the floor that hold an
    index above the threshold; the vector after a reorthogonalized one gets at least the
    same ranges (their union with its own)."""
    estimate = _OrthogonalityEstimate(16, threshold=1e-9)
    size = np.full(12, 1e-16)
    size[1:4] = 1e-12  # above the floor (about 1.2e-13), around a peak: one run
    size[2] = 1e-8
    size[6:8] = 1e-12  # above the floor but no peak: left in place
    size[9:11] = [5e-9, 1e-12]
    assert estimate._ranges(size) == [(1, 4), (9, 11)]
    assert estimate._ranges(np.full(12, 1e-10)) == []
    assert _merge_ranges([(5, 9), (0, 2), (1, 3), (9, 10)]) == [(0, 3), (5, 10)]
    estimate.force_next = [(0, 1)]  # as after a pass against q_0: the next vector gets it too
    assert estimate.update(0, 1.0, 1.0) == [(0, 1)] and estimate.force_next == []
    assert estimate.update(1, 1.0, 1.0) == []  # omega at rounding level: no pass



def test_orthogonalize_ranges_removes_exactly_the_named_basis_vectors():
    """Block Gram-Schmidt over ranges longer than one block: the row ends orthogonal to the
    basis rows in the ranges (to rounding) and keeps its components along the others."""
    generator = torch.Generator().manual_seed(4)
    n = 3 * _CHUNK_ROWS + 5
    basis = torch.linalg.qr(torch.randn(500, n, dtype=torch.float64, generator=generator)).Q.T.contiguous()
    row = torch.randn(1, 500, dtype=torch.float64, generator=generator)
    before = basis @ row[0]
    ranges = [(2, 2 * _CHUNK_ROWS + 3), (n - 4, n)]
    _orthogonalize_ranges(row, basis, ranges)
    after = basis @ row[0]
    named = torch.zeros(n, dtype=torch.bool)
    for lo, hi in ranges:
        named[lo:hi] = True
    assert after[named].abs().max() < 1e-14 * row.norm()
    assert torch.allclose(after[~named], before[~named], rtol=0, atol=1e-14 * row.norm())

def test_partial_reorthogonalization_against_ranges_matches_eigvalsh():
    """The outliers converge long before the small end, so the basis loses orthogonality
    towards the early vectors only: the passes must be against ranges short of the whole
    basis, and the edges must still match eigvalsh (float64) with no ghost copies."""
    import hessian_spectra.lanczos as lanczos

    rng = np.random.default_rng(7)
    values = np.concatenate([[10.0, 9.0, 8.0, 7.5], rng.uniform(-0.0995, 0.5, 1192),
                             [-0.1, -0.0999, -0.0998, -0.0997]])
    basis = np.linalg.qr(rng.standard_normal((values.size, values.size)))[0]
    matrix = torch.from_numpy((basis * values) @ basis.T)
    matrix = (matrix + matrix.T) / 2
    exact = torch.linalg.eigvalsh(matrix).numpy()
    passes = []  # (basis vectors covered, basis size) of each reorthogonalization
    original = lanczos._OrthogonalityEstimate.update

    def recording(self, j, alpha, beta):
        ranges = original(self, j, alpha, beta)
        if ranges:
            passes.append((sum(hi - lo for lo, hi in ranges), j + 1))
        return ranges

    lanczos._OrthogonalityEstimate.update = recording
    try:
        result = edge_eigenvalues(MatrixOperator(matrix), 4, tol=1e-11)
    finally:
        lanczos._OrthogonalityEstimate.update = original
    assert result.converged
    assert passes and any(covered < size for covered, size in passes)  # some skipped part of the basis
    assert np.abs(result.largest - exact[::-1][:4]).max() < 1e-10 * 10.0
    assert np.abs(result.smallest - exact[:4]).max() < 1e-10 * 10.0
    assert np.all(result.residual_norms <= 1e-11 * result.scale)


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
