"""The spectral density of a symmetric operator without its dense matrix: stochastic Lanczos
quadrature (SLQ; Ubaru, Chen and Saad, SIAM J. Matrix Anal. Appl. 38, 2017; the method
behind PyHessian's ``density``).

Each probe v is a normalised Rademacher vector (E[v v^T] = I / M exactly), so the average
over probes of v's spectral measure, sum_i (v . u_i)^2 delta(lambda_i), is an unbiased
estimate of the eigenvalue distribution (1/M) sum_i delta(lambda_i). m Lanczos steps from
v give the Gauss quadrature rule of v's measure: nodes theta_j (the Ritz values) and
weights tau_j (the squared first components of the Ritz vectors). All probes run as one
block of independent Lanczos recurrences, so every step costs one block product (the
Hessian-vector products of ``operators`` are much cheaper per vector in blocks), with
full reorthogonalisation (the basis is m x M x probes, small next to a dense matrix).

Written here rather than taken from PyHessian: its ``density`` runs one probe at a time
with a Python loop over parameter lists, re-orthogonalises vector by vector, and reports
no uncertainty; ours batches the probes and brackets every count it reports.

Counts come with an interval: for a count below x the Gauss rule of each probe brackets
its measure's distribution function (the Chebyshev-Markov-Stieltjes inequalities: with
nodes theta_k < x <= theta_(k+1), sum_(j<k) tau_j <= F_v(x) <= sum_(j<=k+1) tau_j), and
Student's t over the probes adds the sampling error of the probes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from .counts import numerical_zero_of

if TYPE_CHECKING:  # torch is imported where it is used: plotting and table jobs read densities without it
    from torch import Tensor, nn

    from ..hessian.operators import SymmetricOperator

#: the confidence level of the intervals ``SLQDensity`` reports
CONFIDENCE = 0.95

#: an estimated count is reported as a number only when the weight of the two nodes on
#: either side of the threshold (the width of each Gauss rule's own bracket, averaged over
#: probes) is at most this fraction of the estimate: those nodes could as well fall on the
#: other side. A Hessian's cluster of near-zero eigenvalues next to a small negative part
#: is the case (784-50-10 on 28x28 images: a node of weight ~0.9 within 1e-6 of zero; the
#: probes' counts range from 1.7% to 94% around 43%, where the exact count is 1.13%)
RESOLVED_SHARE = 0.5


@dataclass(frozen=True)
class CountEstimate:
    """An estimated number of eigenvalues below a threshold, with its interval (at
    ``CONFIDENCE``), and the same as fractions of M. ``near``: the estimated number of
    eigenvalues at the nodes on either side of the threshold (``RESOLVED_SHARE``)."""

    estimate: float
    low: float
    high: float
    size: int
    near: float

    @property
    def fraction(self) -> tuple[float, float, float]:
        return self.estimate / self.size, self.low / self.size, self.high / self.size

    @property
    def resolved(self) -> bool:
        """Whether the estimate does not hinge on which side of the threshold the nodes
        next to it fall (``RESOLVED_SHARE``)."""
        return self.near <= RESOLVED_SHARE * self.estimate


@dataclass(frozen=True)
class SLQDensity:
    """The Gauss quadrature rules of ``probes`` Lanczos runs on an operator of size M.

    ``nodes`` and ``weights``: (probes, steps) arrays, each row one probe's rule (nodes
    ascending, weights summing to 1; a probe whose Krylov space closed early pads with
    weight-0 nodes at its last node)."""

    nodes: np.ndarray
    weights: np.ndarray
    size: int

    @property
    def probes(self) -> int:
        return self.nodes.shape[0]

    def count_below(self, x: float) -> CountEstimate:
        """The number of eigenvalues < x: the mean over probes of M sum_(theta_j < x) tau_j,
        and an interval that holds the Gauss rules' bracket (the CMS inequalities) widened
        by Student's t over the probes."""
        below = self.nodes < x
        point = (self.weights * below).sum(axis=1)
        # per probe: the last node below x and the first node at or above it
        last_below = np.where(below.any(axis=1), below.sum(axis=1) - 1, -1)
        rows = np.arange(self.probes)
        tau_last = np.where(last_below >= 0, self.weights[rows, np.maximum(last_below, 0)], 0.0)
        first_above = below.sum(axis=1)
        tau_next = np.where(first_above < self.nodes.shape[1],
                            self.weights[rows, np.minimum(first_above, self.nodes.shape[1] - 1)], 0.0)
        lower, upper = point - tau_last, point + tau_next
        if self.probes > 1:
            import scipy.stats  # here: importing it costs every torch job of the workflow 0.5 s

            spread = scipy.stats.t.ppf(0.5 + CONFIDENCE / 2, self.probes - 1) / np.sqrt(self.probes)
            low = max(0.0, lower.mean() - spread * lower.std(ddof=1))
            high = min(1.0, upper.mean() + spread * upper.std(ddof=1))
        else:  # one probe says nothing about the spread over probes
            low, high = 0.0, 1.0
        near = (tau_last + tau_next).mean()
        return CountEstimate(float(point.mean() * self.size), low * self.size, high * self.size, self.size,
                             float(near * self.size))

    def cumulative(self, grid: np.ndarray) -> np.ndarray:
        """The estimated number of eigenvalues <= each value of ``grid``."""
        grid = np.asarray(grid, dtype=np.float64)
        inside = self.nodes[None, :, :] <= grid[:, None, None]
        return (self.weights[None] * inside).sum(axis=2).mean(axis=1) * self.size

    def density(self, grid: np.ndarray, sigma: float) -> np.ndarray:
        """The eigenvalue density (per unit of lambda, integrating to 1) on ``grid``: every
        node broadened into a Gaussian of width ``sigma`` (Lin, Saad and Yang 2016)."""
        grid = np.asarray(grid, dtype=np.float64)
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        z = (grid[:, None, None] - self.nodes[None]) / sigma
        kernel = np.exp(-0.5 * z**2) / (sigma * np.sqrt(2 * np.pi))
        return (self.weights[None] * kernel).sum(axis=2).mean(axis=1)

    def measure(self) -> tuple[np.ndarray, np.ndarray]:
        """The estimated eigenvalue distribution as one discrete measure: all nodes and
        their weights / probes (for distances such as Wasserstein-1)."""
        return self.nodes.ravel(), self.weights.ravel() / self.probes

    def arrays(self) -> dict[str, np.ndarray]:
        """What a spectrum file stores (``from_arrays`` reads it back)."""
        return {"slq_nodes": self.nodes, "slq_weights": self.weights}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], size: int) -> "SLQDensity":
        return cls(np.asarray(arrays["slq_nodes"]), np.asarray(arrays["slq_weights"]), int(size))


def rademacher_probes(size: int, probes: int, seed: int, *, device=None, dtype=None) -> Tensor:
    """(size, probes) columns of +-1/sqrt(size) (float64 unless ``dtype``), from a generator
    seeded with ``seed``."""
    import torch

    dtype = dtype or torch.float64
    generator = torch.Generator().manual_seed(seed)
    signs = torch.randint(0, 2, (size, probes), generator=generator).to(dtype) * 2 - 1
    return (signs / np.sqrt(size)).to(device)


def slq(operator: SymmetricOperator, *, probes: int = 10, steps: int = 80, seed: int = 0) -> SLQDensity:
    """``steps`` Lanczos steps from each of ``probes`` Rademacher probes (seeded), all in one
    block; returns their Gauss quadrature rules. Float64 throughout.

    A probe whose Krylov space is exhausted early (an invariant subspace: the next vector
    would be zero) stops there; its rule is exact for its measure."""
    import torch

    size = operator.size
    if probes < 1 or steps < 1:
        raise ValueError(f"probes and steps must be >= 1, got {probes} and {steps}")
    steps = min(steps, size)
    V = rademacher_probes(size, probes, seed, device=operator.device, dtype=operator.dtype)
    # per probe its basis vectors as rows: (probes, steps, size), so that projections are
    # batched matrix products over contiguous rows
    basis = torch.zeros(probes, steps, size, dtype=operator.dtype, device=operator.device)
    alpha = np.zeros((probes, steps))
    beta = np.zeros((probes, steps))
    length = np.full(probes, steps)
    active = torch.ones(probes, dtype=torch.bool, device=operator.device)
    previous = torch.zeros_like(V)
    scale = 0.0
    for j in range(steps):
        basis[:, j] = V.T
        W = operator.matmat(V)
        a = (V * W).sum(dim=0)
        W = W - a * V - torch.from_numpy(beta[:, j - 1] if j else np.zeros(probes)).to(W) * previous
        rows, kept = W.T.unsqueeze(2), basis[:, : j + 1]  # (probes, size, 1), (probes, j + 1, size)
        for _ in range(2):  # full reorthogonalisation; twice is enough (Parlett)
            rows = rows - kept.transpose(1, 2) @ (kept @ rows)
        W = rows.squeeze(2).T
        b = W.norm(dim=0)
        alpha[:, j] = a.cpu().numpy()
        beta[:, j] = b.cpu().numpy()
        scale = max(scale, float(np.abs(alpha[:, j]).max()), float(beta[:, j].max()))
        closed = active & (b <= 1e-10 * max(scale, 1e-300))
        for p in torch.nonzero(closed).flatten().tolist():
            length[p] = j + 1
        active &= ~closed
        previous, V = V, torch.where(active, W / torch.where(b > 0, b, torch.ones_like(b)), torch.zeros_like(W))
        if not bool(active.any()):
            break
    nodes, weights = np.zeros((probes, steps)), np.zeros((probes, steps))
    for p in range(probes):
        m = int(length[p])
        theta, vectors = scipy.linalg.eigh_tridiagonal(alpha[p, :m], beta[p, : m - 1])
        nodes[p, :m], weights[p, :m] = theta, vectors[0] ** 2
        nodes[p, m:] = theta[-1]  # padding: weight 0 at the last node
    return SLQDensity(nodes, weights, size)


def hessian_density(model: nn.Module, inputs: Tensor, targets: Tensor, *, probes: int = 10, steps: int = 80,
                    seed: int = 0, batch_size: int | None = None, device=None) -> SLQDensity:
    """``slq`` of the Hessian of ``model``'s mean cross-entropy on (inputs, targets), through
    a ``HessianOperator`` (blocks of all probes at once)."""
    from ..hessian.operators import HessianOperator

    operator = HessianOperator(model, inputs, targets, batch_size=batch_size, device=device, block_size=probes)
    return slq(operator, probes=probes, steps=steps, seed=seed)


def edges_numerical_zero(arrays: dict[str, np.ndarray], size: int) -> float:
    """The exact path's numerical zero M eps max |lambda| for a Lanczos spectrum file,
    max |lambda| from its edges."""
    return numerical_zero_of(size, max(abs(float(arrays["largest"][0])), abs(float(arrays["smallest"][0]))))


def negative_estimate(arrays: dict[str, np.ndarray], size: int) -> CountEstimate:
    """The estimated number of negative eigenvalues of a Lanczos spectrum file with an SLQ
    density (``runs.spectrum``), below ``edges_numerical_zero``."""
    return SLQDensity.from_arrays(arrays, size).count_below(-edges_numerical_zero(arrays, size))
