"""The closed forms of Appendix B (``random_matrix``) against quadrature and sampled matrices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from hessian_spectra.spectra.random_matrix import (bbp_outlier, marchenko_pastur_density, marchenko_pastur_edges,
                                           spike_of)


def _moment(ratio: float, power: int) -> float:
    low, high = marchenko_pastur_edges(ratio)
    return quad(lambda x: x**power * marchenko_pastur_density(np.array([x]), ratio)[0], low, high, limit=200)[0]


@pytest.mark.parametrize("ratio", [0.05, 0.2, 1.0, 2.5])
def test_density_mass_mean_and_variance_are_the_laws(ratio):
    """Mass min(1, 1/ratio) (the rest an atom at 0); mean 1 and second moment 1 + ratio over
    the whole law, atom included (unit population variance)."""
    mass = min(1.0, 1 / ratio)
    assert _moment(ratio, 0) == pytest.approx(mass, abs=1e-6)
    assert _moment(ratio, 1) == pytest.approx(1.0, abs=1e-6)
    assert _moment(ratio, 2) == pytest.approx(1 + ratio, abs=1e-6)


def test_density_is_zero_outside_the_edges_and_edges_reject_a_bad_ratio():
    low, high = marchenko_pastur_edges(0.2)
    assert marchenko_pastur_density(np.array([low - 1e-3, high + 1e-3]), 0.2).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="ratio"):
        marchenko_pastur_edges(0.0)


def test_sampled_covariance_follows_the_law():
    """Kolmogorov distance between the eigenvalues of S = X^T X / N (standard normal X,
    d / N = 0.25) and the law's distribution function (by quadrature) is small."""
    d, n = 400, 1600
    x = np.random.default_rng(0).standard_normal((n, d))
    sample = np.sort(np.linalg.eigvalsh(x.T @ x / n))
    low, _ = marchenko_pastur_edges(0.25)
    cdf = np.array([quad(lambda t: marchenko_pastur_density(np.array([t]), 0.25)[0], low, v)[0] for v in sample])
    assert np.max(np.abs(cdf - np.arange(1, d + 1) / d)) < 0.02


def test_bbp_outlier_threshold_and_location_against_a_sampled_spike():
    assert bbp_outlier(1 + np.sqrt(0.2) * 0.99, 0.2) is None
    spike = spike_of(3.0)  # 3.25
    predicted = bbp_outlier(spike, 0.2)
    assert predicted == pytest.approx(3.25 * (1 + 0.2 / 2.25))
    d, n = 300, 1500
    x = np.random.default_rng(1).standard_normal((n, d))
    x[:, 0] *= np.sqrt(spike)  # population covariance diag(spike, 1, ..., 1)
    largest = np.linalg.eigvalsh(x.T @ x / n)[-1]
    assert largest == pytest.approx(predicted, rel=0.06)
    assert largest > marchenko_pastur_edges(0.2)[1] * 1.3
