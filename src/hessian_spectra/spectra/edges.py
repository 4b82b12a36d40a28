"""The edges of a symmetric operator's spectrum by a Lanczos eigensolver.

``edge_eigenvalues``: the k largest and/or k smallest eigenvalues of any symmetric
operator (``operators.SymmetricOperator``: ``size`` and ``matmat``), by our Lanczos
(partial reorthogonalization for single vectors, full block reorthogonalization for
blocks, thick restart when the basis would outgrow its memory), or by ARPACK
(``scipy.sparse.linalg.eigsh``) on the same operator. Results are ``EdgeSpectrum`` values
whose residual norms ||H y - theta y|| come from fresh products with the returned Ritz
vectors. The algorithm only sees the operator; the Hessian-vector products live in
``operators``.

The algorithm is in ``lanczos`` (the recurrence), ``reorthogonalisation`` and
``convergence``; ``hessian_edges`` puts it and the operator together for the workflow (``spectrum.method: lanczos``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from ..hessian.operators import HessianOperator, SymmetricOperator
from .convergence import _Budget, _Ritz, _residual_norms
from .lanczos import _lanczos


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

    (Its length is this docstring; the body checks the arguments, runs one solver and
    builds the result.)
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
