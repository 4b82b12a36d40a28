"""The negative part and the four outlier counters (``spectrum``) on spectra with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.base.io import save_npz
from hessian_spectra.spectra.counts import (count_by_cutoff, count_by_elbow, count_by_gap, count_by_ratio,
                                      count_outliers, count_spectrum_file, load_counts, negative_part)


def spiked(k: int, n: int = 300, seed: int = 0) -> np.ndarray:
    """k outliers in [1, 2], a bulk in [0, 0.01], a few small negative values, shuffled."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.uniform(1, 2, k), rng.uniform(0, 0.01, n - k - 5), -rng.uniform(0, 1e-3, 5)])
    return rng.permutation(values)


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
    values = np.linalg.eigvalsh(basis @ np.diag(true) @ basis.T)
    assert (values < 0).sum() > 2  # round-off makes some zeros negative
    assert np.allclose(negative_part(values), [-0.5, -0.01], atol=1e-12)


def test_counting_step_counts_the_largest_eigenvalues_of_a_spectrum_file(tmp_path):
    values = spiked(4)
    save_npz(tmp_path / "s.npz", metadata={"method": "exact"}, largest=np.sort(values)[::-1])
    count_spectrum_file(tmp_path / "s.npz", tmp_path / "c.json", window=40, threshold=0.5)
    counts = load_counts(tmp_path / "c.json")
    assert counts == count_outliers(values, window=40, threshold=0.5).as_dict()
    assert counts["gap"] == counts["cutoff"] == 4 and counts["threshold"] == 0.5 and counts["window"] == 40
