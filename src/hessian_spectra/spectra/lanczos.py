"""The edges of a symmetric operator's spectrum by a Lanczos eigensolver.

``edge_eigenvalues``: the k largest and/or k smallest eigenvalues of any symmetric
operator (``operators.SymmetricOperator``: ``size`` and ``matmat``), by our Lanczos
(partial reorthogonalization for single vectors, full block reorthogonalization for
blocks, thick restart when the basis would outgrow its memory), or by ARPACK
(``scipy.sparse.linalg.eigsh``) on the same operator. Results are ``EdgeSpectrum`` values
whose residual norms ||H y - theta y|| come from fresh products with the returned Ritz
vectors. The algorithm only sees the operator; the Hessian-vector products live in
``operators``.

``hessian_edges`` puts the two together for the workflow (``spectrum.method: lanczos``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import torch
from torch import Tensor, nn

from .operators import HessianOperator, SymmetricOperator
from .sizes import LANCZOS_BASIS_BYTES

WHICH = ("both", "largest", "smallest")
METHODS = ("lanczos", "arpack")
ORTHONORMAL_TOL = 1e-6  # max |Y^T Y - I| of the returned Ritz vectors for ``converged``


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class EdgeSpectrum:
    """The edges of a symmetric operator's spectrum and how far they can be trusted.

    ``largest``: the wanted largest eigenvalues, descending; ``smallest``: the wanted
    smallest, ascending (empty when not asked for). ``residual_norms``: ||H y - theta y||
    (||y|| = 1) for each returned Ritz pair, ``largest`` first, then ``smallest``, from
    products with the returned Ritz vectors made after the iteration. ``scale``: the
    largest |Ritz value| seen, a lower bound of ||H||_2 (= max |lambda|).
    ``converged``: all k values of each wanted end came back, every residual norm is
    <= ``tol * scale``, and the returned Ritz vectors are orthonormal (max |Y^T Y - I|
    <= 1e-6, so no eigenvalue is counted twice); then each returned value lies within
    ``tol * scale`` of an eigenvalue of H (and usually much closer: the error of a Ritz
    value is about residual^2 / gap). ``notes`` says why not, when not.
    ``n_products``: products used in all, the final residual check included;
    ``seconds``: wall time; ``n_restarts``: thick restarts of the Lanczos basis.
    """

    largest: np.ndarray
    smallest: np.ndarray
    residual_norms: np.ndarray
    converged: bool
    n_products: int
    seconds: float
    scale: float
    tol: float
    method: str
    n_restarts: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def relative_residuals(self) -> np.ndarray:
        """residual_norms / scale."""
        return self.residual_norms / self.scale if self.scale > 0 else self.residual_norms


# --------------------------------------------------------------------------- lanczos


class _Budget:
    """Counts the products an algorithm makes through the operator."""

    def __init__(self, operator: SymmetricOperator):
        self.operator = operator
        self.count = 0

    def __call__(self, block: Tensor) -> Tensor:
        self.count += block.shape[1]
        return self.operator.matmat(block)


def _random_rows(n: int, size: int, generator: torch.Generator, device, dtype) -> Tensor:
    return torch.randn(n, size, generator=generator, dtype=dtype).to(device)


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


def _lanczos_step(W: Tensor, Q: Tensor, j: int, T: np.ndarray, orthogonality: _OrthogonalityEstimate) -> np.ndarray:
    """One plain Lanczos step on W = H q_j (1, M), in place: W becomes beta_j q_{j+1}.
    Fills T[j, j] = alpha_j; returns the coefficients (j+1, 1) of the projection."""
    w = W[0]
    q = Q[j]
    if j > 0:
        w.add_(Q[j - 1], alpha=-float(T[j, j - 1]))
    alpha = float(torch.dot(q, w))
    w.add_(q, alpha=-alpha)
    correction = float(torch.dot(q, w))  # a second local pass keeps q_j . q_{j+1} at rounding level
    w.add_(q, alpha=-correction)
    alpha += correction
    beta = float(torch.linalg.vector_norm(w))
    ranges = orthogonality.update(j, alpha, beta)
    if ranges:
        _orthogonalize_ranges(W, Q, ranges)
        orthogonality.reset(ranges)
    T[j, j] = alpha
    coeffs = np.zeros((j + 1, 1))
    coeffs[j, 0] = alpha
    if j > 0:
        coeffs[j - 1, 0] = T[j, j - 1]
    return coeffs


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
class _Basis:
    """The Krylov basis, grown one block of ``b`` vectors at a time.

    Rows of ``Q``: the orthonormal basis; ``T``: the projected matrix Q H Q^T. Both grow by
    doubling up to ``cap + b`` rows, so a generous max_products costs no memory up front.
    Q[:n] is the basis; its last block Q[n0:n] still has to be multiplied. T is block
    tridiagonal (``banded``) until the first thick restart, dense (arrowhead) after."""

    Q: Tensor
    T: np.ndarray
    n: int
    n0: int
    b: int
    cap: int  # the most basis vectors kept before a thick restart
    orthogonality: _OrthogonalityEstimate | None  # plain Lanczos (b = 1) only
    banded: bool = True
    restarts: int = 0
    scale_guess: float = 0.0  # the largest |entry| of T so far, for the breakdown test

    @classmethod
    def start(cls, operator: SymmetricOperator, request: _Request, b: int, max_basis: int | None,
              generator: torch.Generator) -> _Basis:
        """A first block of b orthonormal random vectors (drawn from ``generator``)."""
        M = operator.size
        n_wanted = request.n_wanted
        if max_basis is None:  # what fits in LANCZOS_BASIS_BYTES
            max_basis = max(1, LANCZOS_BASIS_BYTES // (8 * M))
        cap = min(M, max_basis, request.max_products)
        cap = max(cap, min(M, 2 * n_wanted + 4 * b))  # room for the kept Ritz vectors and progress
        rows = min(cap + b, max(256, 4 * (n_wanted + b), 2**26 // (8 * M)))  # 64 MiB up front
        Q = torch.empty(rows, M, dtype=operator.dtype, device=operator.device)
        T = np.zeros((rows, rows))
        first = _random_rows(b, M, generator, operator.device, operator.dtype)
        Q[:b] = torch.linalg.qr(first.T).Q.T
        threshold = min(math.sqrt(_OrthogonalityEstimate.EPS), 0.1 * request.tol)
        orthogonality = _OrthogonalityEstimate(cap + b, threshold) if b == 1 else None
        return cls(Q, T, n=b, n0=0, b=b, cap=cap, orthogonality=orthogonality)

    def extend(self, apply: _Budget, generator: torch.Generator) -> tuple[Tensor, np.ndarray, bool]:
        """Multiply the last block and orthogonalize the products against the basis: the
        next block ``new_q`` (b, M), its ``coupling`` (b, b) to the last one (H Q_last^T =
        ... + new_q^T coupling), and whether the basis now spans the whole space."""
        W = apply(self.Q[self.n0 : self.n].T).T.contiguous()  # (b, M) = (H Q_last^T)^T
        coeffs = self._project(W)
        new_q, R = self._normalize(W)
        self.scale_guess = max(self.scale_guess, float(np.abs(coeffs).max()))
        tiny = R.diagonal().abs() < 1e-10 * max(self.scale_guess, 1e-300)
        full_space = self.n + self.b > self.Q.shape[1]
        if bool(tiny.any()) and not full_space:
            R = self._replace_lost_directions(new_q, W, tiny, generator)
        return new_q, R.cpu().numpy(), full_space

    def _project(self, W: Tensor) -> np.ndarray:
        """Remove the basis from W in place and record the coefficients in T."""
        n0, n = self.n0, self.n
        if self.banded and self.orthogonality is not None:
            # plain Lanczos: three-term recurrence, reorthogonalization only when and against
            # what the estimated loss of orthogonality calls for (partial reorthogonalization)
            return _lanczos_step(W, self.Q, n0, self.T, self.orthogonality)
        C = _orthogonalize(W, self.Q[:n])  # (n, b)
        C_np = C.cpu().numpy()
        self.T[:n, n0:n] = C_np
        self.T[n0:n, :n] = C_np.T
        return C_np

    def _normalize(self, W: Tensor) -> tuple[Tensor, Tensor]:
        """The orthonormal next block and R with W^T = new_q^T R."""
        if self.b == 1:
            norm = W.norm()
            return W / norm.clamp_min(1e-300), norm.reshape(1, 1)
        new_q, R = torch.linalg.qr(W.T)
        return new_q.T.contiguous(), R

    def _replace_lost_directions(self, new_q: Tensor, W: Tensor, tiny: Tensor, generator: torch.Generator) -> Tensor:
        """Invariant subspace: the rows of ``new_q`` flagged ``tiny`` become random
        directions orthogonal to the basis (in place); returns the new coupling R."""
        n, M = self.n, self.Q.shape[1]
        for i in torch.nonzero(tiny).flatten().tolist():
            direction = _random_rows(1, M, generator, self.Q.device, self.Q.dtype)
            _orthogonalize(direction, torch.cat([self.Q[:n], new_q[:i]]))
            _orthogonalize(direction, torch.cat([self.Q[:n], new_q[:i]]))
            new_q[i] = direction[0] / direction[0].norm()
        R = new_q @ W.T
        if self.orthogonality is not None:
            self.orthogonality.reset_all(n)
        return R

    def advance(self, new_q: Tensor, coupling: np.ndarray, request: _Request) -> None:
        """Add the next block; when the basis is full, thick-restart it first."""
        if self.n + self.b > self.cap:
            self._restart(new_q, coupling, request)
        else:
            self._append(new_q, coupling)

    def _restart(self, new_q: Tensor, coupling: np.ndarray, request: _Request) -> None:
        """Thick restart on the wanted Ritz vectors (and neighbours), then the next block."""
        Q, T, n0, n, b, cap = self.Q, self.T, self.n0, self.n, self.b, self.cap
        values, vectors = np.linalg.eigh((T[:n, :n] + T[:n, :n].T) / 2)
        keep_each = max(request.k + b, (cap - 2 * b) // 4)
        keep = []
        if request.which in ("both", "smallest"):
            keep += list(range(min(keep_each, n)))
        if request.which in ("both", "largest"):
            keep += list(range(max(n - keep_each, 0), n))
        keep = sorted(set(keep))[: cap - 2 * b]
        S = torch.from_numpy(vectors[:, keep]).to(device=Q.device, dtype=Q.dtype)  # (n, p)
        p = len(keep)
        Q[:p] = S.T @ Q[:n]
        T[:] = 0.0
        T[np.arange(p), np.arange(p)] = values[keep]
        arrow = coupling @ vectors[n0:n][:, keep]  # (b, p)
        Q[p : p + b] = new_q
        T[p : p + b, :p] = arrow
        T[:p, p : p + b] = arrow.T
        self.n0, self.n = p, p + b
        self.banded = False
        self.restarts += 1

    def _append(self, new_q: Tensor, coupling: np.ndarray) -> None:
        """Add the next block, doubling Q and T first when they are full."""
        n0, n, b = self.n0, self.n, self.b
        if n + b > len(self.Q):
            rows = min(self.cap + b, 2 * len(self.Q))
            self.Q = torch.cat([self.Q, self.Q.new_empty(rows - len(self.Q), self.Q.shape[1])])
            self.T = np.pad(self.T, ((0, rows - len(self.T)), (0, rows - len(self.T))))
        self.Q[n : n + b] = new_q
        self.T[n : n + b, n0:n] = coupling
        self.T[n0:n, n : n + b] = coupling.T
        self.n0, self.n = n, n + b

    def ritz(self, request: _Request, which: str | None = None, other_end: float | None = None) -> _Ritz:
        """The wanted Ritz pairs of the basis (of ``which`` end(s), the request's by default)."""
        return _ritz(self.T, self.n, self.b, self.banded, which or request.which, request.k, other_end)


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


def _lanczos(operator: SymmetricOperator, k: int, which: str, tol: float, max_products: int, seed: int,
             block_size: int, max_basis: int | None) -> tuple:
    """Lanczos for both ends of the spectrum in one Krylov basis.

    Why our own and not ARPACK (``method="arpack"`` is there too): for the spectrum edges
    of a trained network the small end sits next to a dense bulk, and there ARPACK's
    implicit restarts throw away Krylov information that an unrestarted basis of a few
    hundred vectors keeps, so it needs fewer products there
    (``benchmarks/topk_speed.py`` compares them).
    With block_size 1: the three-term recurrence with partial reorthogonalization (Simon
    1984): a Gram-Schmidt pass only when the estimated loss of orthogonality calls for
    it, and only against the basis vectors it names (``_OrthogonalityEstimate``), which
    keeps the Ritz values free of ghost copies at a fraction of the cost;
    with larger blocks: full block Gram-Schmidt (BLAS-3) every step. The basis is kept
    (max_basis x M floats); past that it is thick-restarted on the wanted Ritz vectors
    and their neighbours (Wu and Simon 2000), after which the projected matrix is dense.
    Convergence is tested on the Lanczos residual estimates, then verified with fresh
    products (``_Convergence``). The start vectors and any replacement directions come
    from a generator seeded with ``seed``, so a run depends on nothing global."""
    request = _Request(k, which, tol, max_products)
    apply = _Budget(operator)
    generator = torch.Generator().manual_seed(seed)
    basis = _Basis.start(operator, request, block_size, max_basis, generator)
    convergence = _Convergence(check_at=max(request.n_wanted, 2 * block_size))
    notes: list[str] = []
    while True:
        if apply.count + (basis.n - basis.n0) > request.budget_left:
            notes.append("max_products reached")
            basis.n = basis.n0  # the last block was never multiplied: Rayleigh-Ritz on the part that was
            break
        new_q, coupling, full_space = basis.extend(apply, generator)
        steps_done = apply.count
        if convergence.due(steps_done, full_space) and convergence.test(basis, request, apply, coupling,
                                                                         full_space, steps_done):
            break
        basis.advance(new_q, coupling, request)
    return _finish(basis, convergence, request, apply, notes)


def _finish(basis: _Basis, convergence: _Convergence, request: _Request, apply: _Budget, notes: list[str]) -> tuple:
    """(ritz, Y, residuals, apply, restarts, notes) of the final basis, reusing the last
    verification when it was made on this very basis."""
    if basis.n == 0:  # not a single block was multiplied
        basis.n = basis.b
        basis.T[: basis.b, : basis.b] = 0.0
    if request.which == "both" and basis.n < request.n_wanted:
        notes.append(f"a basis of {basis.n} vectors for {request.n_wanted} wanted values: "
                     "the two ends share Ritz pairs")
    current = (basis.restarts, basis.n)
    fresh = convergence.fresh
    if fresh is not None and fresh[0] is convergence.ritz and convergence.ritz_at == current:
        return (*fresh, apply, basis.restarts, notes)
    ritz = convergence.ritz
    if ritz is None or convergence.ritz_at != current:
        ritz = basis.ritz(request)
    Y = _ritz_vectors(ritz, basis.Q, basis.n)
    return ritz, Y, _residual_norms(apply, Y, ritz.values), apply, basis.restarts, notes


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


def _arpack(operator: SymmetricOperator, k: int, which: str, tol: float, max_products: int, seed: int):
    """ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``) on the operator;
    which="both" asks for 2k eigenvalues with which="BE" (k from each end)."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    M = operator.size
    apply = _Budget(operator)
    dtype, device = operator.dtype, operator.device

    def matmat(x: np.ndarray) -> np.ndarray:
        block = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(M, -1)).to(device, dtype)
        return apply(block).cpu().numpy().reshape(x.shape)

    linear = LinearOperator((M, M), matvec=matmat, matmat=matmat, dtype=np.float64)
    nev = 2 * k if which == "both" else k
    ncv = min(M, max(2 * nev + 1, 20))
    arpack_which = {"both": "BE", "largest": "LA", "smallest": "SA"}[which]
    # ARPACK's first pass uses ncv products, each restart about ncv - nev more
    maxiter = max(1, 1 + (max_products - nev - ncv) // max(ncv - nev, 1))
    v0 = np.random.default_rng(seed).standard_normal(M)
    notes = []
    try:
        values, vectors = eigsh(linear, k=nev, which=arpack_which, ncv=ncv, tol=tol, maxiter=maxiter, v0=v0)
    except ArpackNoConvergence as error:
        values, vectors = error.eigenvalues, error.eigenvectors
        notes.append(f"ARPACK did not converge: {len(values)} of {nev} pairs")
    order = np.argsort(values)
    values, vectors = values[order], vectors[:, order]
    n = len(values)
    if which == "both":
        n_high = min(k, n - n // 2) if n < nev else k
        high = list(range(n - 1, n - 1 - n_high, -1))
        low = list(range(0, min(k, n - n_high)))
    elif which == "largest":
        high, low = list(range(n - 1, -1, -1)), []
    else:
        high, low = [], list(range(n))
    wanted = high + low
    scale = float(np.abs(values).max()) if n else 0.0
    ritz = _Ritz(values[wanted], None, high, low, scale)
    Y = torch.from_numpy(vectors[:, wanted].copy()).to(device=device, dtype=dtype)
    Y = Y / Y.norm(dim=0).clamp_min(1e-300)
    return ritz, Y, _residual_norms(apply, Y, ritz.values), apply, 0, notes


def edge_eigenvalues(operator: SymmetricOperator, k: int, *, which: str = "both", tol: float = 1e-8,
                     max_products: int | None = None, seed: int = 0, method: str = "lanczos",
                     block_size: int = 1, max_basis: int | None = None) -> EdgeSpectrum:
    """The ``k`` largest and/or smallest eigenvalues of a symmetric operator.

    ``operator``: anything with ``size``, ``dtype``, ``device`` and
    ``matmat((size, b) tensor) -> (size, b)`` (``HessianOperator``, ``MatrixOperator``).
    ``which``: "both", "largest" or "smallest". ``tol``: converged means every returned
    Ritz pair has residual norm ||H y - theta y|| <= tol * scale, scale = the largest
    |Ritz value| (an estimate of max |lambda|), and the Ritz vectors are orthonormal; see
    ``EdgeSpectrum``. ``max_products``: the most products to use in all, the final
    residual check (one product per returned pair) included (default 20 M). When it runs
    out first the result comes back with ``converged=False`` and the residuals it has (no
    exception); with a tiny budget an end can hold fewer than k values.

    ``method="lanczos"`` (default): Lanczos with ``block_size`` vectors per step. 1 (plain
    Lanczos, partial reorthogonalization) needs the fewest products; a block of b finds an
    eigenvalue of multiplicity up to b (a single start vector sees one copy of a repeated
    eigenvalue) and suits operators whose block products are much cheaper per vector.
    At most ``max_basis`` basis vectors are kept (default: what fits in 2 GiB, at most M);
    past that the basis is thick-restarted on the wanted Ritz vectors.
    ``method="arpack"``: ``scipy.sparse.linalg.eigsh`` (which="BE" for both ends); its
    budget is approximate (``max_products`` becomes ARPACK's restart count).

    ``seed``: the start vector(s), and any direction that replaces a lost one, come from
    a generator of their own seeded with it (``torch.Generator`` for Lanczos, numpy's
    ``default_rng`` for ARPACK's v0): equal seeds give equal results, and no global
    random state is read or changed.
    """
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    M = operator.size
    n_wanted = k * (2 if which == "both" else 1)
    if k < 1 or n_wanted > M:
        raise ValueError(f"k must be >= 1 and the wanted eigenvalues (here {n_wanted}) at most M={M}")
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if max_products is None:
        max_products = 20 * M
    if max_products < n_wanted + block_size:
        raise ValueError(f"max_products={max_products} cannot even build {n_wanted + block_size} basis vectors")
    start = time.perf_counter()
    # both return honest residuals: fresh products with the returned Ritz vectors
    if method == "lanczos":
        ritz, Y, residuals, apply, restarts, notes = _lanczos(operator, k, which, tol, max_products, seed,
                                                              block_size, max_basis)
    else:
        ritz, Y, residuals, apply, restarts, notes = _arpack(operator, k, which, tol, max_products, seed)
    # two returned values with the same Ritz vector are one eigenvalue counted twice (a
    # "ghost" of a basis that lost orthogonality): small residuals would not show it
    overlap = float((Y.T @ Y - torch.eye(Y.shape[1], dtype=Y.dtype, device=Y.device)).abs().max()) \
        if Y.shape[1] else 0.0
    if overlap > ORTHONORMAL_TOL:
        notes = [*notes, f"Ritz vectors not orthonormal (max |Y^T Y - I| = {overlap:.1e})"]
    n_high = len(ritz.high)
    largest = np.asarray(ritz.values[:n_high], dtype=np.float64)
    smallest = np.asarray(ritz.values[n_high:], dtype=np.float64)
    scale = float(ritz.scale)
    converged = bool(len(residuals) == n_wanted and np.all(residuals <= tol * scale) and overlap <= ORTHONORMAL_TOL)
    return EdgeSpectrum(largest=largest, smallest=smallest, residual_norms=residuals, converged=converged,
                        n_products=apply.count, seconds=time.perf_counter() - start, scale=scale, tol=tol,
                        method=method, n_restarts=restarts, notes=tuple(notes))


def hessian_edges(model: nn.Module, inputs: Tensor, targets: Tensor, *, k: int, tol: float = 1e-8,
                  max_products: int | None = None, batch_size: int | None = None,
                  device: str | torch.device | None = None, seed: int = 0, **options) -> EdgeSpectrum:
    """``edge_eigenvalues`` of the Hessian of ``model``'s mean cross-entropy on (inputs,
    targets), both ends, through a ``HessianOperator`` (``batch_size``, ``device``).
    ``seed`` seeds the Lanczos start vector (see ``edge_eigenvalues``); ``options`` go to
    ``edge_eigenvalues`` as well. ``seconds`` includes building the operator."""
    start = time.perf_counter()
    operator = HessianOperator(model, inputs, targets, batch_size=batch_size, device=device)
    result = edge_eigenvalues(operator, k, which="both", tol=tol, max_products=max_products, seed=seed,
                              **options)
    return EdgeSpectrum(**{**result.__dict__, "seconds": time.perf_counter() - start})
