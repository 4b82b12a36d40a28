"""When a Lanczos run may stop: what the caller asked for (``_Request``), the products
counted against its budget (``_Budget``), the wanted Ritz pairs of the projected matrix
(``_ritz``), and the convergence tests on the Lanczos residual estimates, verified with
fresh products (``_Convergence``). Used by the recurrence (``lanczos``) and the entry
points (``edges``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
import torch
from torch import Tensor

from ..hessian.operators import SymmetricOperator

if TYPE_CHECKING:  # for the annotations only: lanczos imports this module
    from .lanczos import _Basis


class _Budget:
    """Counts the products an algorithm makes through the operator."""

    def __init__(self, operator: SymmetricOperator):
        self.operator = operator
        self.count = 0

    def __call__(self, block: Tensor) -> Tensor:
        self.count += block.shape[1]
        return self.operator.matmat(block)


def _wanted(which: str, k: int, n: int) -> tuple[list[int], list[int]]:
    """Indices (ascending order of the n Ritz values) of the wanted largest and smallest."""
    high = list(range(n - 1, max(n - 1 - k, -1), -1)) if which in ("both", "largest") else []
    low = list(range(min(k, n))) if which in ("both", "smallest") else []
    return high, low


class _Ritz:
    """Ritz pairs of the projected matrix that the caller asked for."""

    def __init__(self, values: np.ndarray, vectors: np.ndarray, high: list[int], low: list[int], scale: float):
        self.values, self.vectors, self.high, self.low, self.scale = values, vectors, high, low, scale


def _ritz(T: np.ndarray, n: int, b: int, banded: bool, which: str, k: int, other_end: float | None = None) -> _Ritz:
    """The wanted Ritz pairs of T[:n, :n] (and its extreme Ritz values, for the scale).
    While no restart happened T is block tridiagonal (bandwidth b; the entries outside
    the band are rounding noise of the reorthogonalization): LAPACK's banded solver then
    finds just the selected pairs. After a restart T is dense (arrowhead) and small."""
    high, low = _wanted(which, k, n)
    values: dict[int, float] = {}
    vectors: dict[int, np.ndarray] = {}
    if banded:
        band = np.zeros((b + 1, n))
        for d in range(b + 1):
            band[d, : n - d] = np.diagonal(T[:n, :n], -d)
        ranges = [(0, max(low, default=0)), (min(high, default=n - 1), n - 1)]
        if ranges[0][1] + 1 >= ranges[1][0]:  # the two ends meet: one call
            ranges = [(0, n - 1)]
        elif other_end is not None and which != "both":  # the scale's other extreme is known
            ranges = [ranges[0]] if which == "smallest" else [ranges[1]]
        for lo, hi in ranges:
            if b == 1:  # tridiagonal: LAPACK's MRRR (stemr) for the selected pairs
                w, v = scipy.linalg.eigh_tridiagonal(band[0], band[1, : n - 1], select="i", select_range=(lo, hi),
                                                     check_finite=False, lapack_driver="stemr")
            else:
                w, v = scipy.linalg.eig_banded(band, lower=True, select="i", select_range=(lo, hi),
                                               check_finite=False)
            for j, i in enumerate(range(lo, hi + 1)):
                values[i], vectors[i] = w[j], v[:, j]
    else:
        w, v = np.linalg.eigh((T[:n, :n] + T[:n, :n].T) / 2)
        for i in set(high + low + [0, n - 1]):
            values[i], vectors[i] = w[i], v[:, i]
    wanted = high + low
    extremes = [abs(values[i]) for i in (0, n - 1) if i in values] + ([abs(other_end)] if other_end else [])
    return _Ritz(np.array([values[i] for i in wanted]),
                 np.stack([vectors[i] for i in wanted], axis=1) if wanted else np.zeros((n, 0)),
                 high, low, max(extremes))


@dataclass(frozen=True)
class _Request:
    """What the caller asked for: ``k`` values at ``which`` end(s) to ``tol``, within
    ``max_products`` products."""

    k: int
    which: str
    tol: float
    max_products: int

    @property
    def n_wanted(self) -> int:
        return self.k * (2 if self.which == "both" else 1)

    @property
    def budget_left(self) -> int:
        """The products the iteration may use: the final residual check needs one per wanted pair."""
        return self.max_products - self.n_wanted


@dataclass
class _Convergence:
    """When to test for convergence, and what the tests so far found.

    Tests use the Lanczos residual estimates ||coupling @ S_last||; when they all pass, the
    Ritz pairs are verified with fresh products; a failed verification lowers the trust
    in the estimates and goes on."""

    check_at: int  # the product count at which to test next
    trust: float = 1.0  # how much the fresh residuals exceeded the estimates at a failed verification
    last_check: tuple[int, float] | None = None  # (products, largest estimate) at the previous test
    ends_done: dict = field(default_factory=lambda: {"largest": False, "smallest": False})  # estimates below tol
    extreme: dict = field(default_factory=lambda: {"largest": None, "smallest": None})  # at the latest probe
    ritz: _Ritz | None = None  # the latest wanted Ritz pairs
    ritz_at: tuple[int, int] | None = None  # the (restarts, n) they belong to
    fresh: tuple | None = None  # (ritz, Y, residuals) of a verified basis state

    def due(self, steps_done: int, full_space: bool) -> bool:
        return steps_done >= self.check_at or full_space

    def test(self, basis: _Basis, request: _Request, apply: _Budget, coupling: np.ndarray, full_space: bool,
             steps_done: int) -> bool:
        """Probe the Ritz pairs, verify them when the estimates pass; True when the
        iteration can stop. Otherwise the next test is scheduled."""
        pending, probe, estimates, limit = self._probe(basis, request, coupling)
        if full_space or bool(np.all(estimates <= limit)):
            self.ritz = probe if pending == request.which else basis.ritz(request)
            self.ritz_at = (basis.restarts, basis.n)
            if apply.count + 2 * request.n_wanted > request.max_products:
                return True  # no room to verify now and still check at the end: the end checks
            stop, estimates = self._verify(basis, request, apply, coupling, full_space)
            if stop:
                return True
        self._schedule(estimates, limit, steps_done, basis.b)
        return False

    def _probe(self, basis: _Basis, request: _Request, coupling: np.ndarray):
        """(the end(s) probed, their Ritz pairs, residual estimates, tolerance)."""
        which = request.which
        # an end whose Ritz pairs have converged stays converged: probe only the others
        pending = which
        if which == "both" and self.ends_done["largest"] != self.ends_done["smallest"]:
            pending = "smallest" if self.ends_done["largest"] else "largest"
        # a converged end's extreme Ritz value no longer moves: reuse it for the scale
        other_end = None if pending == which else self.extreme["largest" if pending == "smallest" else "smallest"]
        probe = basis.ritz(request, pending, other_end)
        if probe.high:
            self.extreme["largest"] = probe.values[0]
        if probe.low:
            self.extreme["smallest"] = probe.values[len(probe.high)]
        estimates = self.trust * np.linalg.norm(coupling @ probe.vectors[basis.n0 : basis.n], axis=0)
        limit = request.tol * probe.scale
        for end, part in (("largest", estimates[: len(probe.high)]), ("smallest", estimates[len(probe.high) :])):
            if len(part):
                self.ends_done[end] = self.ends_done[end] or bool(np.all(part <= limit))
        return pending, probe, estimates, limit

    def _verify(self, basis: _Basis, request: _Request, apply: _Budget, coupling: np.ndarray,
                full_space: bool) -> tuple[bool, np.ndarray]:
        """Fresh residuals of the Ritz pairs: (converged, the untrusted estimates)."""
        ritz = self.ritz
        Y = _ritz_vectors(ritz, basis.Q, basis.n)
        residuals = _residual_norms(apply, Y, ritz.values)
        self.fresh = (ritz, Y, residuals)
        if full_space or bool(np.all(residuals <= request.tol * ritz.scale)):
            return True, residuals
        # the estimates were optimistic (rounding in the basis): trust them less
        estimates = np.linalg.norm(coupling @ ritz.vectors[basis.n0 : basis.n], axis=0)
        self.trust = max(self.trust, float(np.max(residuals / np.maximum(estimates, 1e-300))))
        self.ends_done = {"largest": False, "smallest": False}
        return False, estimates

    def _schedule(self, estimates: np.ndarray, limit: float, steps_done: int, b: int) -> None:
        """Next test: half-way to where the estimates' recent rate of decrease would reach
        the tolerance, between 3% and 20% more steps (8 at least)."""
        worst = float(np.max(estimates)) if len(estimates) else 0.0
        gap = max(b, 8, math.ceil(0.03 * steps_done))
        if self.last_check is not None and 0 < worst < self.last_check[1] and limit > 0:
            rate = math.log(self.last_check[1] / worst) / max(steps_done - self.last_check[0], 1)
            gap = max(gap, min(int(0.5 * math.log(worst / limit) / rate), math.ceil(0.2 * steps_done)))
        self.last_check = (steps_done, worst)
        self.check_at = steps_done + gap


def _ritz_vectors(ritz: _Ritz, Q: Tensor, n: int) -> Tensor:
    """(M, p) unit Ritz vectors Q[:n]^T S."""
    Y = (torch.from_numpy(ritz.vectors).to(device=Q.device, dtype=Q.dtype).T @ Q[:n]).T
    return Y / Y.norm(dim=0).clamp_min(1e-300)


def _residual_norms(apply: _Budget, Y: Tensor, values: np.ndarray) -> np.ndarray:
    """||H y - theta y|| for each column of Y, from fresh products."""
    if Y.shape[1] == 0:
        return np.zeros(0)
    theta = torch.as_tensor(values, dtype=Y.dtype, device=Y.device)
    return (apply(Y) - Y * theta).norm(dim=0).cpu().numpy()
