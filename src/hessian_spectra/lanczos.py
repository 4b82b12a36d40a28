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

WHICH = ("both", "largest", "smallest")
METHODS = ("lanczos", "arpack")
ORTHONORMAL_TOL = 1e-6  # max |Y^T Y - I| of the returned Ritz vectors for ``converged``
BASIS_MEMORY_BYTES = 2 * 2**30  # default memory for the Lanczos basis (max_basis = this / 8M)


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
    is reorthogonalized against the whole basis, and so is the one after it. Semi-
    orthogonality (threshold sqrt(eps)) already keeps the Ritz values accurate to rounding;
    the Ritz vectors' residuals cannot go below about threshold * ||H||, so the threshold is
    also kept under the residual tolerance. Most steps skip the O(n M) pass."""

    EPS = float(np.finfo(np.float64).eps)

    def __init__(self, capacity: int, threshold: float):
        self.threshold = threshold
        self.alpha = np.zeros(capacity)
        self.beta = np.zeros(capacity)
        self.previous = np.zeros(capacity)  # omega[j-1, :]
        self.current = np.zeros(capacity)  # omega[j, :]
        self.current[0] = 1.0
        self.force_next = False

    def update(self, j: int, alpha: float, beta: float) -> bool:
        """Record alpha_j, beta_j (q_{j+1} = r / beta_j) and say whether q_{j+1} needs a full
        reorthogonalization."""
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
        needed = self.force_next or bool(np.abs(new[: j + 1]).max(initial=0.0) > self.threshold)
        self.force_next = needed and not self.force_next
        return needed

    def reset(self, j: int) -> None:
        """q_{j} was just made orthogonal to q_0..q_{j-1} to working precision."""
        self.current[:j] = self.EPS * 10.0


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
    if orthogonality.update(j, alpha, beta):
        _orthogonalize(W, Q[: j + 1])
        orthogonality.reset(j + 1)
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


def _lanczos(operator: SymmetricOperator, k: int, which: str, tol: float, max_products: int, seed: int,
             block_size: int, max_basis: int | None) -> tuple:
    """Lanczos for both ends of the spectrum in one Krylov basis.

    Why our own and not ARPACK (``method="arpack"`` is there too): for the spectrum edges
    of a trained network the small end sits next to a dense bulk, and there ARPACK's
    implicit restarts throw away Krylov information that an unrestarted basis of a few
    hundred vectors keeps: on the 5510-parameter benchmark net eigsh needs 600-2400
    products (and a large ncv makes its own bookkeeping slow), this about 360 + 40.
    With block_size 1: the three-term recurrence with partial reorthogonalization (Simon
    1984): a full Gram-Schmidt pass only when the estimated loss of orthogonality calls
    for it, which keeps the Ritz values free of ghost copies at a fraction of the cost;
    with larger blocks: full block Gram-Schmidt (BLAS-3) every step. The basis is kept
    (max_basis x M floats); past that it is thick-restarted on the wanted Ritz vectors
    and their neighbours (Wu and Simon 2000), after which the projected matrix is dense.
    Convergence is tested on the Lanczos residual estimates, then verified with fresh
    products; a failed verification lowers the trust in the estimates and goes on."""
    M = operator.size
    b = block_size
    dtype, device = operator.dtype, operator.device
    apply = _Budget(operator)
    n_wanted = k * (2 if which == "both" else 1)
    if max_basis is None:  # what fits in BASIS_MEMORY_BYTES
        max_basis = max(1, BASIS_MEMORY_BYTES // (8 * M))
    cap = min(M, max_basis, max_products)
    cap = max(cap, min(M, 2 * n_wanted + 4 * b))  # room for the kept Ritz vectors and progress
    generator = torch.Generator().manual_seed(seed)
    # rows of Q: the orthonormal basis; T: the projected matrix Q H Q^T. Both grow by
    # doubling up to cap + b rows, so a generous max_products costs no memory up front.
    rows = min(cap + b, max(256, 4 * (n_wanted + b), 2**26 // (8 * M)))  # 64 MiB up front
    Q = torch.empty(rows, M, dtype=dtype, device=device)
    T = np.zeros((rows, rows))
    start = _random_rows(b, M, generator, device, dtype)
    Q[:b] = torch.linalg.qr(start.T).Q.T
    n, n0 = b, 0  # basis size; the last block Q[n0:n] still has to be multiplied
    banded = True
    restarts = 0
    notes: list[str] = []
    ritz = None
    budget_left = max_products - n_wanted  # keep enough for the final residual check
    check_at = max(n_wanted, 2 * b)
    scale_guess = 0.0  # the largest |entry| of T so far, for the breakdown test
    threshold = min(math.sqrt(_OrthogonalityEstimate.EPS), 0.1 * tol)
    orthogonality = _OrthogonalityEstimate(cap + b, threshold) if b == 1 else None
    fresh = None  # (ritz, Y, residuals) of a verified basis state
    ends_done = {"largest": False, "smallest": False}  # whose estimates are below the tolerance
    extreme = {"largest": None, "smallest": None}  # the extreme Ritz values at the latest probe of each end
    ritz, ritz_at = None, None  # the latest wanted Ritz pairs and the (restarts, n) they belong to
    trust = 1.0  # how much the fresh residuals exceeded the estimates at a failed verification
    last_check = None  # (products, largest estimate) at the previous check
    while True:
        if apply.count + (n - n0) > budget_left:
            notes.append("max_products reached")
            n = n0  # the last block was never multiplied: Rayleigh-Ritz on the part that was
            break
        W = apply(Q[n0:n].T).T.contiguous()  # (b, M) = (H Q_last^T)^T
        if banded and orthogonality is not None:
            # plain Lanczos: three-term recurrence, full reorthogonalization only when the
            # estimated loss of orthogonality calls for it (partial reorthogonalization)
            C_np = _lanczos_step(W, Q, n0, T, orthogonality)
        else:
            C = _orthogonalize(W, Q[:n])  # (n, b)
            C_np = C.cpu().numpy()
            T[:n, n0:n] = C_np
            T[n0:n, :n] = C_np.T
        # next block
        if b == 1:
            norm = W.norm()
            new_q, R = W / norm.clamp_min(1e-300), norm.reshape(1, 1)
        else:
            new_q, R = torch.linalg.qr(W.T)  # W^T = new_q R
            new_q = new_q.T.contiguous()
        scale_guess = max(scale_guess, float(np.abs(C_np).max()))
        tiny = R.diagonal().abs() < 1e-10 * max(scale_guess, 1e-300)
        full_space = n + b > M
        if bool(tiny.any()) and not full_space:  # invariant subspace: continue with random directions
            for i in torch.nonzero(tiny).flatten().tolist():
                direction = _random_rows(1, M, generator, device, dtype)
                _orthogonalize(direction, torch.cat([Q[:n], new_q[:i]]))
                _orthogonalize(direction, torch.cat([Q[:n], new_q[:i]]))
                new_q[i] = direction[0] / direction[0].norm()
            R = new_q @ W.T
            if orthogonality is not None:
                orthogonality.reset(n)
        coupling = R.cpu().numpy()  # (b, b): H Q_last^T = ... + new_q^T coupling
        steps_done = apply.count
        done = full_space
        if steps_done >= check_at or done:
            # an end whose Ritz pairs have converged stays converged: probe only the others
            pending = which
            if which == "both" and ends_done["largest"] != ends_done["smallest"]:
                pending = "smallest" if ends_done["largest"] else "largest"
            # a converged end's extreme Ritz value no longer moves: reuse it for the scale
            other_end = None if pending == which else extreme["largest" if pending == "smallest" else "smallest"]
            probe = _ritz(T, n, b, banded, pending, k, other_end)
            if probe.high:
                extreme["largest"] = probe.values[0]
            if probe.low:
                extreme["smallest"] = probe.values[len(probe.high)]
            estimates = trust * np.linalg.norm(coupling @ probe.vectors[n0:n], axis=0)
            limit = tol * probe.scale
            for end, part in (("largest", estimates[: len(probe.high)]), ("smallest", estimates[len(probe.high) :])):
                if len(part):
                    ends_done[end] = ends_done[end] or bool(np.all(part <= limit))
            if full_space or bool(np.all(estimates <= limit)):
                ritz = probe if pending == which else _ritz(T, n, b, banded, which, k)
                ritz_at = (restarts, n)
                if apply.count + 2 * n_wanted > max_products:
                    break  # no room to verify now and still check at the end: the end checks
                Y = _ritz_vectors(ritz, Q, n)
                residuals = _residual_norms(apply, Y, ritz.values)
                fresh = (ritz, Y, residuals)
                if full_space or bool(np.all(residuals <= tol * ritz.scale)):
                    break
                # the estimates were optimistic (rounding in the basis): trust them less
                estimates = np.linalg.norm(coupling @ ritz.vectors[n0:n], axis=0)
                trust = max(trust, float(np.max(residuals / np.maximum(estimates, 1e-300))))
                ends_done = {"largest": False, "smallest": False}
            # next check: half-way to where the estimates' recent rate of decrease would
            # reach the tolerance, between 3% and 20% more steps (8 at least)
            worst = float(np.max(estimates)) if len(estimates) else 0.0
            gap = max(b, 8, math.ceil(0.03 * steps_done))
            if last_check is not None and 0 < worst < last_check[1] and limit > 0:
                rate = math.log(last_check[1] / worst) / max(steps_done - last_check[0], 1)
                gap = max(gap, min(int(0.5 * math.log(worst / limit) / rate), math.ceil(0.2 * steps_done)))
            last_check = (steps_done, worst)
            check_at = steps_done + gap
        if n + b > cap:  # thick restart on the wanted Ritz vectors (and neighbours)
            ritz_all = np.linalg.eigh((T[:n, :n] + T[:n, :n].T) / 2)
            values, vectors = ritz_all
            keep_each = max(k + b, (cap - 2 * b) // 4)
            keep = []
            if which in ("both", "smallest"):
                keep += list(range(min(keep_each, n)))
            if which in ("both", "largest"):
                keep += list(range(max(n - keep_each, 0), n))
            keep = sorted(set(keep))[: cap - 2 * b]
            S = torch.from_numpy(vectors[:, keep]).to(device=device, dtype=dtype)  # (n, p)
            p = len(keep)
            Q[:p] = S.T @ Q[:n]
            T[:] = 0.0
            T[np.arange(p), np.arange(p)] = values[keep]
            arrow = coupling @ vectors[n0:n][:, keep]  # (b, p)
            Q[p : p + b] = new_q
            T[p : p + b, :p] = arrow
            T[:p, p : p + b] = arrow.T
            n0, n = p, p + b
            banded = False
            restarts += 1
            continue
        if n + b > len(Q):
            rows = min(cap + b, 2 * len(Q))
            Q = torch.cat([Q, Q.new_empty(rows - len(Q), M)])
            T = np.pad(T, ((0, rows - len(T)), (0, rows - len(T))))
        Q[n : n + b] = new_q
        T[n : n + b, n0:n] = coupling
        T[n0:n, n : n + b] = coupling.T
        n0, n = n, n + b
    if n == 0:  # not a single block was multiplied
        n = b
        T[:b, :b] = 0.0
    if which == "both" and n < n_wanted:
        notes.append(f"a basis of {n} vectors for {n_wanted} wanted values: the two ends share Ritz pairs")
    if fresh is not None and fresh[0] is ritz and ritz_at == (restarts, n):  # verified at the final basis
        return (*fresh, apply, restarts, notes)
    if ritz is None or ritz_at != (restarts, n):
        ritz = _ritz(T, n, b, banded, which, k)
    Y = _ritz_vectors(ritz, Q, n)
    return ritz, Y, _residual_norms(apply, Y, ritz.values), apply, restarts, notes


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
    targets), both ends; ``options`` go to ``edge_eigenvalues``. ``seconds`` includes
    building the operator."""
    start = time.perf_counter()
    operator = HessianOperator(model, inputs, targets, batch_size=batch_size, device=device)
    result = edge_eigenvalues(operator, k, which="both", tol=tol, max_products=max_products, seed=seed,
                              **options)
    return EdgeSpectrum(**{**result.__dict__, "seconds": time.perf_counter() - start})
