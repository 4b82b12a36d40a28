"""The Lanczos recurrence on a symmetric operator (``operators.SymmetricOperator``: ``size``
and ``matmat``): the Krylov basis grown a block at a time (the three-term recurrence with
partial reorthogonalization for single vectors, full block Gram-Schmidt for blocks), its
thick restart when it would outgrow its memory, and the iteration that runs it until the
tests of ``convergence`` pass (``_lanczos``). The entry points are in ``edges``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..config.sizes import LANCZOS_BASIS_BYTES
from ..hessian.operators import SymmetricOperator
from .convergence import _Budget, _Convergence, _Request, _Ritz, _residual_norms, _ritz, _ritz_vectors
from .reorthogonalisation import _OrthogonalityEstimate, _orthogonalize, _orthogonalize_ranges


def _random_rows(n: int, size: int, generator: torch.Generator, device, dtype) -> Tensor:
    return torch.randn(n, size, generator=generator, dtype=dtype).to(device)


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


def _lanczos(operator: SymmetricOperator, k: int, which: str, tol: float, max_products: int, seed: int,
             block_size: int, max_basis: int | None) -> tuple:
    """Lanczos for both ends of the spectrum in one Krylov basis.

    Why our own and not ARPACK (``method="arpack"`` is there too): for the spectrum edges
    of a trained network the small end sits next to a dense bulk, and there ARPACK's
    implicit restarts throw away Krylov information that an unrestarted basis of a few
    hundred vectors keeps, so it needs fewer products there
    (``benchmarks/peers/topk_speed.py`` compares them).
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
