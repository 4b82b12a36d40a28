"""Keeping a Lanczos basis orthogonal: classical Gram-Schmidt with a second pass where the
first removed much (DGKS), Simon's estimate of the orthogonality a plain Lanczos basis
loses, and the partial reorthogonalization against the runs of basis vectors it names.
Used by the recurrence (``lanczos``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _orthogonalize(rows: Tensor, basis: Tensor) -> Tensor:
    """Coefficients C = basis @ rows^T after removing them from ``rows`` in place
    (classical Gram-Schmidt, a second pass where the first one removed much: DGKS)."""
    if len(basis) == 0:
        return rows.new_zeros(0, len(rows))
    before = rows.norm(dim=1)
    coeffs = basis @ rows.T
    rows -= coeffs.T @ basis
    if bool((rows.norm(dim=1) < 0.7 * before).any()):
        again = basis @ rows.T
        rows -= again.T @ basis
        coeffs += again
    return coeffs


class _OrthogonalityEstimate:
    """Simon's recurrence (1984) for omega[j, i] ~ q_j . q_i of plain Lanczos vectors, driven
    by the Lanczos coefficients alone; when max |omega| passes ``threshold`` the new vector
    is reorthogonalized, and so is the one after it. Semi-orthogonality (threshold
    sqrt(eps)) already keeps the Ritz values accurate to rounding; the Ritz vectors'
    residuals cannot go below about threshold * ||H||, so the threshold is also kept under
    the residual tolerance. Most steps skip the O(n M) pass.

    The pass is against the basis vectors that need it, not the whole basis (Simon's
    partial reorthogonalization as in Larsen's PROPACK): the runs of indices whose
    |omega| exceeds ``threshold * eps^(1/4)`` (eps^(3/4) for the threshold sqrt(eps))
    around each index past the threshold. The orthogonality a Lanczos basis loses goes
    towards the Ritz vectors that have converged, which live in the basis vectors of
    their time; here the top end converges long before the bottom one, and those runs
    are a fraction of the basis."""

    EPS = float(np.finfo(np.float64).eps)

    def __init__(self, capacity: int, threshold: float):
        self.threshold = threshold
        self.floor = threshold * self.EPS**0.25  # omega below this is left in place
        self.alpha = np.zeros(capacity)
        self.beta = np.zeros(capacity)
        self.previous = np.zeros(capacity)  # omega[j-1, :]
        self.current = np.zeros(capacity)  # omega[j, :]
        self.current[0] = 1.0
        self.force_next: list[tuple[int, int]] = []  # the ranges of the previous pass, for the next vector

    def update(self, j: int, alpha: float, beta: float) -> list[tuple[int, int]]:
        """Record alpha_j, beta_j (q_{j+1} = r / beta_j) and say against which index ranges
        [lo, hi) of q_0..q_j the vector q_{j+1} needs reorthogonalizing (none: [])."""
        self.alpha[j], self.beta[j] = alpha, beta
        eps = self.EPS
        new = self.previous  # reuse the buffer of omega[j-1, :]
        if j > 0 and beta > 0:
            current, beta_k = self.current, self.beta
            new[:j] = (beta_k[:j] * current[1 : j + 1] + (self.alpha[:j] - alpha) * current[:j]
                       - beta_k[j - 1] * new[:j]) / beta
            new[1:j] += beta_k[: j - 1] * current[: j - 1] / beta
            new[:j] += np.sign(new[:j]) * eps * (beta_k[:j] + beta) / beta * 3.0
        new[j] = eps * 10.0
        new[j + 1] = 1.0
        self.previous, self.current = self.current, new
        size = np.abs(new[: j + 1])
        ranges = self._ranges(size)
        if self.force_next:  # the vector after a reorthogonalized one: at least the same ranges
            ranges = _merge_ranges(ranges + self.force_next)
            self.force_next = []
        else:
            self.force_next = ranges
        return ranges

    def _ranges(self, size: np.ndarray) -> list[tuple[int, int]]:
        """The maximal runs of indices with size > floor that hold an index with size > threshold."""
        peaks = np.flatnonzero(size > self.threshold)
        if len(peaks) == 0:
            return []
        above = np.concatenate([[False], size > self.floor, [False]])
        edges = np.flatnonzero(above[1:] != above[:-1])  # run starts and ends, alternating
        starts, ends = edges[0::2], edges[1::2]
        runs = np.searchsorted(ends, peaks, side="right")  # the run holding each peak
        return [(int(starts[r]), int(ends[r])) for r in np.unique(runs)]

    def reset(self, ranges: list[tuple[int, int]]) -> None:
        """q_j (the newest vector) was just made orthogonal to the basis vectors in ``ranges``
        to working precision."""
        for lo, hi in ranges:
            self.current[lo:hi] = self.EPS * 10.0

    def reset_all(self, j: int) -> None:
        """q_j was just made orthogonal to q_0..q_{j-1} to working precision."""
        self.reset([(0, j)])


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of index ranges [lo, hi), as sorted disjoint ranges."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


_CHUNK_ROWS = 32  # basis rows per Gram-Schmidt block: few enough to stay in cache between their two uses


def _orthogonalize_ranges(rows: Tensor, basis: Tensor, ranges: list[tuple[int, int]]) -> None:
    """Remove from the single row ``rows`` (1, M), in place, its components along the rows of
    ``basis`` in the index ranges [lo, hi) only. Block Gram-Schmidt: classical within blocks
    of ``_CHUNK_ROWS`` rows, modified between them, so that each block is read from memory
    once and is still in cache when it is subtracted (the pass is memory-bound: two full
    reads of the basis cost twice as much); a second pass where the first removed much."""
    w = rows[0]
    for _ in range(2):
        before = float(torch.linalg.vector_norm(w))
        for lo, hi in ranges:
            for start in range(lo, hi, _CHUNK_ROWS):
                block = basis[start : min(start + _CHUNK_ROWS, hi)]
                w.addmv_(block.T, torch.mv(block, w), alpha=-1.0)
        if float(torch.linalg.vector_norm(w)) >= 0.7 * before:
            return
