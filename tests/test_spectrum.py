"""Eigenvalues and the four outlier counters on spectra with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessian_spectra.spectrum import (count_by_cutoff, count_by_elbow, count_by_gap, count_by_ratio, negative_part,
                                      count_outliers, eigenvalues)


def spiked(k: int, n: int = 300, seed: int = 0) -> np.ndarray:
    """k outliers in [1, 2], a bulk in [0, 0.01], a few small negative values, shuffled."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.uniform(1, 2, k), rng.uniform(0, 0.01, n - k - 5), -rng.uniform(0, 1e-3, 5)])
    return rng.permutation(values)


def test_eigenvalues_against_numpy():
    a = torch.randn(40, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    sym = a + a.T
    assert np.allclose(eigenvalues(sym), np.linalg.eigvalsh(sym.numpy()), atol=1e-12)
    with pytest.raises(ValueError, match="square"):
        eigenvalues(torch.zeros(3, 4))


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_gap_ratio_elbow_and_cutoff_find_k_spikes(k):
    values = spiked(k)
    counts = count_outliers(values, window=60, threshold=0.5)
    assert (counts.gap, counts.cutoff) == (k, k)
    assert counts.ratio == k
    assert counts.elbow == k


def test_gap_is_the_position_of_the_largest_difference():
    values = np.array([10.0, 9.0, 5.0, 4.9, 4.8, 0.0])  # largest gap 4.8 -> 0 below rank 5
    assert count_by_gap(values, window=6) == 5
    assert count_by_gap(values, window=5) == 2  # the window hides the last gap
    assert count_by_ratio(values, window=6) == 2  # 9 / 5 is the largest ratio among positives


def test_cutoff_is_strictly_above():
    assert count_by_cutoff(np.array([0.3, 0.2, 0.2, 0.1]), 0.2) == 1


def test_all_zero_spectrum():
    zeros = np.zeros(50)
    counts = count_outliers(zeros, window=20, threshold=0.0)
    assert (counts.gap, counts.ratio, counts.elbow, counts.cutoff) == (0, 0, None, 0)


def test_fewer_eigenvalues_than_the_window():
    values = np.array([5.0, 1.0, 0.9, 0.8])
    assert count_by_gap(values, window=100) == 1
    assert count_by_ratio(values, window=100) == 1
    assert count_by_gap(np.array([3.0]), window=10) == 0


def test_negative_values_are_ignored_by_ratio_and_gap_sees_them():
    values = np.array([2.0, 1.0, -5.0, -6.0])
    assert count_by_ratio(values, window=4) == 1  # only 2/1 among positives
    assert count_by_gap(values, window=4) == 2  # 1 - (-5) is the largest gap
    assert count_by_ratio(-np.ones(5), window=5) == 0


def test_window_below_two_is_rejected():
    with pytest.raises(ValueError, match="window"):
        count_by_gap(np.ones(3), window=1)


def test_elbow_of_a_straight_line_is_none():
    assert count_by_elbow(np.linspace(1, 0, 30), window=30) is None


def test_negative_part_ignores_round_off_of_zero_eigenvalues():
    """A singular matrix: its zero eigenvalues come out of eigvalsh as +-1e-17-ish noise."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(200, 200)))[0]
    true = np.concatenate([[3.0, 2.0, -0.5, -0.01], np.zeros(196)])
    values = eigenvalues(torch.from_numpy(basis @ np.diag(true) @ basis.T))
    assert (values < 0).sum() > 2  # round-off makes some zeros negative
    assert np.allclose(negative_part(values), [-0.5, -0.01], atol=1e-12)
