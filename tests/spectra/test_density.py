"""Stochastic Lanczos quadrature against exact spectra: spectra of known shape (operators
that apply Q diag(lambda) Q^T with a dense orthogonal Q, fast), and the Hessians of small
trained nets of the Family B and C kinds against their dense eigenvalues.

The stated bound (why this one): SLQ's Wasserstein-1 error has two parts, the Gauss
rules' (of order (lambda_max - lambda_min) / steps for m steps; Chen, Trogdon and Ubaru
2021) and the probes' sampling error (of order (lambda_max - lambda_min) / sqrt(probes M)).
We require W1 <= (lambda_max - lambda_min) (1 / steps + 1 / sqrt(probes M)); in these
cases the error is 3-50 times below it, and a wrong node or weight breaks it."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import scipy.fft
import scipy.stats
import torch
from sklearn.datasets import load_digits

from hessian_spectra.data.split import Split
from hessian_spectra.hessian.dense import eigenvalues, exact_hessian
from hessian_spectra.spectra.counts import negative_part, numerical_zero
from hessian_spectra.spectra.density import SLQDensity, hessian_density, slq
from hessian_spectra.training.models import convnet, mlp
from hessian_spectra.training.train import TrainSettings, train

PROBES, STEPS = 10, 80


class SpectrumOperator:
    """H = Q diag(values) Q^T with Q = DCT-II (orthonormal) times random signs: a dense
    orthogonal Q applied in O(M log M), so M in the thousands stays fast."""

    def __init__(self, values: np.ndarray, seed: int = 0):
        self.values = np.asarray(values, dtype=np.float64)
        self.size, self.dtype, self.device = len(values), torch.float64, torch.device("cpu")
        self.signs = np.random.default_rng(seed).choice([-1.0, 1.0], self.size)

    def matmat(self, block: torch.Tensor) -> torch.Tensor:
        x = block.numpy()
        inner = scipy.fft.dct(self.signs[:, None] * x, norm="ortho", axis=0)  # Q^T x
        return torch.from_numpy(self.signs[:, None] * scipy.fft.idct(self.values[:, None] * inner, norm="ortho", axis=0))


def _spectra(M: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "uniform": np.linspace(-1.0, 3.0, M),
        "bulk_and_10_outliers": np.r_[rng.normal(0, 0.01, M - 10), np.linspace(1, 5, 10)],
        "negative_zero_positive": np.r_[rng.uniform(-0.05, -1e-3, M // 10), np.zeros(M // 2),
                                        rng.exponential(0.1, M - M // 10 - M // 2 - 10), np.linspace(2, 4, 10)],
    }


def _check(density: SLQDensity, exact: np.ndarray) -> None:
    nodes, weights = density.measure()
    w1 = scipy.stats.wasserstein_distance(nodes, exact, weights)
    spread = np.ptp(exact)
    bound = spread * (1 / STEPS + 1 / np.sqrt(PROBES * len(exact)))
    assert w1 <= bound, (w1, bound)
    tau = numerical_zero(exact)
    count = density.count_below(-tau)
    assert count.low <= len(negative_part(exact)) <= count.high, (count, len(negative_part(exact)))


@pytest.mark.parametrize("shape", ["uniform", "bulk_and_10_outliers", "negative_zero_positive"])
def test_slq_of_known_spectra_meets_the_bound_and_brackets_the_negative_count(shape):
    values = _spectra(6000)[shape]
    density = slq(SpectrumOperator(values), probes=PROBES, steps=STEPS, seed=0)
    _check(density, values)
    assert np.allclose(density.weights.sum(axis=1), 1.0)
    top = values.max() + 1e-9 * np.ptp(values)  # Ritz values lie in [min, max], up to round-off
    assert density.cumulative(np.array([top]))[0] == pytest.approx(6000)


def test_the_interval_is_honest_where_the_point_estimate_is_off():
    """Half the spectrum exactly at the threshold's edge: the point estimate cannot resolve
    it, the interval must still hold the truth."""
    values = _spectra(2000)["negative_zero_positive"]
    count = slq(SpectrumOperator(values), probes=PROBES, steps=20, seed=3).count_below(-numerical_zero(values))
    assert count.low <= 200 <= count.high
    assert not count.resolved  # and it is flagged, so tables print no point estimate


@pytest.mark.parametrize("shape, resolved", [("uniform", True), ("bulk_and_10_outliers", True),
                                             ("negative_zero_positive", False)])
def test_a_count_is_resolved_only_where_no_heavy_node_sits_next_to_the_threshold(shape, resolved):
    """The smooth spectra put many light nodes around zero: resolved, and the estimate is
    within 5% of the truth. Half the spectrum at zero next to the negative tenth: a heavy
    node beside the threshold, and the estimate (several times the truth) is flagged."""
    values = _spectra(6000)[shape]
    count = slq(SpectrumOperator(values), probes=PROBES, steps=STEPS, seed=0).count_below(-numerical_zero(values))
    truth = len(negative_part(values))
    assert count.resolved == resolved
    assert (abs(count.estimate - truth) <= 0.05 * truth) == resolved


def test_a_closed_krylov_space_gives_the_exact_rule():
    values = np.repeat([-2.0, 0.5, 3.0], [100, 500, 400])  # three distinct eigenvalues: 3 steps span it
    density = slq(SpectrumOperator(values), probes=4, steps=30, seed=0)
    for row_nodes, row_weights in zip(density.nodes, density.weights):
        kept = row_weights > 1e-12
        np.testing.assert_allclose(np.unique(np.round(row_nodes[kept], 8)), [-2.0, 0.5, 3.0], atol=1e-8)
    estimate = density.count_below(0.0)
    assert estimate.low <= 100 <= estimate.high and estimate.estimate == pytest.approx(100, rel=0.5)


def test_slq_is_seeded():
    values = _spectra(500)["uniform"]
    first, again = (slq(SpectrumOperator(values), probes=3, steps=10, seed=5) for _ in range(2))
    other = slq(SpectrumOperator(values), probes=3, steps=10, seed=6)
    assert np.array_equal(first.nodes, again.nodes) and not np.array_equal(first.nodes, other.nodes)


def test_broadened_density_integrates_to_one():
    values = _spectra(1000)["bulk_and_10_outliers"]
    density = slq(SpectrumOperator(values), probes=4, steps=30, seed=0)
    grid = np.linspace(values.min() - 1, values.max() + 1, 20001)
    assert np.trapezoid(density.density(grid, sigma=0.02), grid) == pytest.approx(1.0, abs=1e-6)


# ----------------------------------------------------------------------------- trained nets

def _trained(net, n: int = 200, steps: int = 300):
    """``net`` after ``steps`` of GD on the first ``n`` digits (pixels in [0, 1])."""
    digits = load_digits()
    x = (digits.images[:n] / 16.0).astype(np.float32)[:, None]
    y = digits.target[:n].astype(np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        train(net, Split(x, y, x[:10], y[:10], 10), TrainSettings(algorithm="gd", lr=0.1, max_steps=steps,
              grad_tol=0.0, eval_every=steps, checkpoint_every=steps), tmp, show_progress=False)
    return net, torch.from_numpy(x), torch.from_numpy(y)


@pytest.mark.parametrize("kind", ["width_mlp", "batch_convnet"])
def test_slq_of_a_trained_nets_hessian_against_its_dense_eigenvalues(kind):
    torch.manual_seed(0)
    net = (mlp(64, [20], 10, "relu", flatten=True) if kind == "width_mlp"
           else convnet((1, 8, 8), 10, (4, 8), kernel_size=3, hidden=16, padding=1))
    net, x, y = _trained(net)
    exact = eigenvalues(exact_hessian(net, x, y))
    density = hessian_density(net, x, y, probes=PROBES, steps=STEPS, seed=0)
    assert density.size == len(exact)
    _check(density, exact)
