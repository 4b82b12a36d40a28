"""Partial reorthogonalization (``reorthogonalisation``): the ranges it names, the passes
against them, and edges that still match eigvalsh with no ghost copies."""

from __future__ import annotations

import numpy as np
import torch

from hessian_spectra.hessian.operators import MatrixOperator
from hessian_spectra.spectra.edges import edge_eigenvalues
from hessian_spectra.spectra.reorthogonalisation import (_CHUNK_ROWS, _merge_ranges, _orthogonalize_ranges,
                                                         _OrthogonalityEstimate)


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
    rng = np.random.default_rng(7)
    values = np.concatenate([[10.0, 9.0, 8.0, 7.5], rng.uniform(-0.0995, 0.5, 1192),
                             [-0.1, -0.0999, -0.0998, -0.0997]])
    basis = np.linalg.qr(rng.standard_normal((values.size, values.size)))[0]
    matrix = torch.from_numpy((basis * values) @ basis.T)
    matrix = (matrix + matrix.T) / 2
    exact = torch.linalg.eigvalsh(matrix).numpy()
    passes = []  # (basis vectors covered, basis size) of each reorthogonalization
    original = _OrthogonalityEstimate.update

    def recording(self, j, alpha, beta):
        ranges = original(self, j, alpha, beta)
        if ranges:
            passes.append((sum(hi - lo for lo, hi in ranges), j + 1))
        return ranges

    _OrthogonalityEstimate.update = recording
    try:
        result = edge_eigenvalues(MatrixOperator(matrix), 4, tol=1e-11)
    finally:
        _OrthogonalityEstimate.update = original
    assert result.converged
    assert passes and any(covered < size for covered, size in passes)  # some skipped part of the basis
    assert np.abs(result.largest - exact[::-1][:4]).max() < 1e-10 * 10.0
    assert np.abs(result.smallest - exact[:4]).max() < 1e-10 * 10.0
    assert np.all(result.residual_norms <= 1e-11 * result.scale)
