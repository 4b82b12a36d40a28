"""Appendix B of the paper: the Gauss-Newton part G of a linear softmax model is a sample
covariance matrix, so its spectrum follows the Marchenko-Pastur law, and clusters in the
data put outliers above the law's edge (the BBP transition).

For a linear model without biases, z = W x (W: C x d, M = C d parameters), at W = 0 every
softmax output is uniform, p = 1/C, so

    G = (1/N) sum_i J_i^T (diag p - p p^T) J_i = A (x) S,   A = (I - 1 1^T / C) / C,
    S = (1/N) sum_i x_i x_i^T,

with J_i = I_C (x) x_i^T. A has the eigenvalue 1/C (C - 1 times) and 0 once, so the
nonzero eigenvalues of C G are those of S, C - 1 times over. For x_i with independent
standard normal entries, S's eigenvalues follow the Marchenko-Pastur law of ratio
gamma = d / N as d, N grow (Marchenko and Pastur 1967); with two clusters at +-mu/2 the
population covariance is I + mu mu^T / 4, a spike l = 1 + |mu|^2 / 4, and S has one
eigenvalue outside the bulk near l (1 + gamma / (l - 1)) when l - 1 > sqrt(gamma)
(Baik, Ben Arous and Peche 2005). The closed forms are written here (a few lines each;
scipy has no Marchenko-Pastur distribution) with numpy alone, so the plots can draw them;
``appendix_b`` measures G with the project's own ``hessian_split``.
"""

from __future__ import annotations

import numpy as np


def marchenko_pastur_edges(ratio: float) -> tuple[float, float]:
    """The support [(1 - sqrt(ratio))^2, (1 + sqrt(ratio))^2] of the law's continuous part."""
    if not ratio > 0:
        raise ValueError(f"ratio must be > 0, got {ratio}")
    return (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2


def marchenko_pastur_density(x: np.ndarray, ratio: float) -> np.ndarray:
    """The density of the law's continuous part at ``x`` (unit population variance),
    sqrt((b - x)(x - a)) / (2 pi ratio x) on [a, b], 0 elsewhere; it integrates to
    min(1, 1 / ratio) (for ratio > 1 the rest is an atom at 0)."""
    low, high = marchenko_pastur_edges(ratio)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > low) & (x < high)
    density = np.zeros_like(x)
    density[inside] = np.sqrt((high - x[inside]) * (x[inside] - low)) / (2 * np.pi * ratio * x[inside])
    return density


def bbp_outlier(spike: float, ratio: float) -> float | None:
    """Where a population eigenvalue ``spike`` (the rest 1) puts the sample eigenvalue as
    d, N grow at d / N = ``ratio``: spike (1 + ratio / (spike - 1)) above the threshold
    spike > 1 + sqrt(ratio), else None (it merges into the bulk)."""
    if spike <= 1 + np.sqrt(ratio):
        return None
    return spike * (1 + ratio / (spike - 1))


def spike_of(separation: float) -> float:
    """The population covariance's largest eigenvalue for two clusters ``separation`` apart
    (unit noise): 1 + separation^2 / 4."""
    return 1 + separation**2 / 4

