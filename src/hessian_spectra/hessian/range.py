"""Every eigenvalue of a Hessian too large to hold as a dense matrix, exactly, through its range.

The Hessian of the mean cross-entropy of a net on N samples and C classes is
H = G + R (Sagun et al., section 2). When M >> N C it is mostly zeros, and this module
finds its nonzero eigenvalues in a basis of r << M vectors instead of the M x M matrix:

* G = V^T V / N with V the N C rows B_i J_i (``gauss_newton``): range(G) is the
  row space of V.
* For a net that is piecewise linear in each affine layer's parameters
  (``piecewise.piecewise_stages``: Linear/Conv layers with ReLU, pooling, Flatten), the
  logits are affine in any single layer's parameters between activation kinks, so R
  vanishes on every layer's own block. With F the largest layer's parameters and S all
  the others, R = [[R_SS, R_SF], [R_FS, 0]], so range(R) lies in
  span{e_j : j in S} + span{R e_j : j in S}.

So range(H) lies in the span of the r = N C + 2 |S| columns [V^T, E_S, R E_S], and with
Q an orthonormal basis of that span (Householder QR), H = Q T Q^T, T = Q^T H Q (r x r):
the eigenvalues of H are those of T and M - r zeros (Rayleigh-Ritz on a subspace that
holds the range, which is exact: no sampling, no truncation). T is built without any
M x M matrix: T = (V Q)^T (V Q) / N + Q^T R Q, the second term from the |S| columns R E_S.
A random probe checks the result against Hessian-vector products (``operators``, which
share no code with it) before anything is returned.

784-70-10 on 1,000 images (the paper's largest width): M = 55,660, r = 11,420; the
dense H needs 23 GiB (46 GiB with eigvalsh's workspace), this at most 15 GiB
(``sizes.range_matrices_bytes``). No library computes this (PyHessian, hessian-eigenthings
and BackPACK give top eigenvalues or densities), hence this module.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..base.progress import progress
from ..config.sizes import range_basis_size, range_matrices_bytes
from .dense import DTYPE, _float64_copy, refuse_over_memory
from .gauss_newton import gauss_newton_rows
from .operators import HessianOperator, check_data
from .piecewise import piecewise_stages

#: the largest relative error ||H v - Q T Q^T v|| / ||H v|| of the probe check; round-off
#: gives 1e-14..1e-12, a basis that misses part of the range gives O(1)
CHECK_TOLERANCE = 1e-8

#: Hessian-vector products per pass when building R E_S
BLOCK_SIZE = 64


class RangeCheckError(RuntimeError):
    """The basis does not hold the Hessian's range (the probe check failed)."""


def free_layer(model: nn.Module) -> slice:
    """The flat-parameter positions (``model.parameters()`` order) of the largest affine
    layer: the block of R that vanishes and that the basis need not span coordinate-wise.

    Raises ValueError when the net is not a piecewise-linear ``nn.Sequential``."""
    found = piecewise_stages(model)
    if found is None:
        raise ValueError("spectrum.method 'range' needs a net that is piecewise linear in each layer: an "
                         "nn.Sequential of Linear/Conv layers and ReLU, max/average pooling or Flatten "
                         "(an MLP with tanh is not); use method exact or lanczos")
    sizes = [stage.size for stage in found[0]]
    start = sum(sizes[: int(np.argmax(sizes))])
    return slice(start, start + max(sizes))


def range_eigenvalues(model: nn.Module, inputs: Tensor, targets: Tensor, *, batch_size: int = 1000,
                      memory_budget_gb: float = 8.0, device: str | torch.device | None = None,
                      show_progress: bool = False) -> tuple[np.ndarray, dict]:
    """All M eigenvalues of the Hessian of ``model``'s mean cross-entropy on (inputs,
    targets), ascending, float64, and facts about the computation (``dimension`` r,
    ``check`` the probe's relative error). Arguments as ``hessian.exact_hessian``.

    Raises ValueError for a net this does not apply to, ``HessianMemoryError`` before
    allocating when the matrices exceed ``memory_budget_gb``, ``RangeCheckError`` when the
    probe check fails."""
    free = free_layer(model)
    n_classes = check_data(model, inputs, targets)
    first = next(model.parameters())
    device = torch.device(device) if device is not None else first.device
    size = sum(p.numel() for p in model.parameters())
    dimension = range_basis_size(size, free.stop - free.start, len(inputs), n_classes)
    need = range_matrices_bytes(size, dimension)
    refuse_over_memory(need, f"the Hessian of M={size} through its range needs about {need / 2**30:.2f} GiB "
                             f"(an M x r basis twice, r={dimension})", memory_budget_gb, device,
                       "use spectrum.method: lanczos")  # before anything goes to the device
    model64 = _float64_copy(model, device)
    inputs, targets = inputs.to(device=device, dtype=DTYPE), targets.to(device=device, dtype=torch.long)
    return _eigenvalues_through_range(model64, inputs, targets, free, batch_size, show_progress)


def _eigenvalues_through_range(model: nn.Module, inputs: Tensor, targets: Tensor, free: slice, batch_size: int,
                               show_progress: bool) -> tuple[np.ndarray, dict]:
    """The computation of ``range_eigenvalues`` for a float64 ``model`` on the device of
    ``inputs``, with ``free`` the layer whose block of R is taken to vanish (checked)."""
    operator = HessianOperator(model, inputs, targets, batch_size=batch_size, block_size=BLOCK_SIZE)
    size = operator.size
    positions = torch.arange(size, device=inputs.device)
    others = positions[(positions < free.start) | (positions >= free.stop)]  # S: outside the free layer
    with progress(total=5, desc="hessian (range)", unit="stage", disable=not show_progress) as bar:
        rows = list(gauss_newton_rows(model, inputs))  # V, in chunks of samples
        residual = _residual_columns(operator, rows, others, len(inputs))  # R E_S, (M, |S|)
        bar.update()
        basis = _orthonormal_basis(rows, others, residual)  # Q, (M, r); empties ``rows``
        bar.update()
        projected = _projected_hessian(model, inputs, basis, others, residual)  # T, (r, r)
        bar.update()
        values = torch.linalg.eigvalsh(projected)
        bar.update()
        check = _probe_error(operator, basis, projected)
        bar.update()
    if not check <= CHECK_TOLERANCE:
        raise RangeCheckError(f"H v and its value through the range basis differ by {check:.3g} (relative), "
                              f"over {CHECK_TOLERANCE:g}: the basis misses part of the Hessian's range")
    zeros = torch.zeros(size - len(values), dtype=DTYPE, device=values.device)
    everything = torch.sort(torch.cat([values, zeros])).values.cpu().numpy()
    return everything, {"dimension": int(basis.shape[1]), "check": check}


def _residual_columns(operator: HessianOperator, parts: list[Tensor], others: Tensor, n_samples: int) -> Tensor:
    """R E_S = H E_S - G E_S: the columns of R at the positions ``others`` (``parts``: the
    chunks of V, G = V^T V / N, N = ``n_samples``)."""
    unit = torch.zeros(operator.size, len(others), dtype=DTYPE, device=others.device)
    unit[others, torch.arange(len(others), device=others.device)] = 1.0
    columns = operator.matmat(unit)
    del unit
    for rows in parts:
        columns.addmm_(rows.T, rows[:, others], alpha=-1.0 / n_samples)
    return columns


def _orthonormal_basis(parts: list[Tensor], others: Tensor, residual: Tensor) -> Tensor:
    """Q: orthonormal columns spanning [V^T, E_S, R E_S] (Householder QR of the columns
    scaled to unit length, which changes their lengths, not their span; a dependent column
    still gets an orthonormal partner, which only adds a zero to T's spectrum). Empties
    ``parts`` (the chunks of V) as they are copied in, so V is not held twice."""
    n_rows, (size, n_others) = sum(len(rows) for rows in parts), residual.shape
    spanning = torch.zeros(size, n_rows + 2 * n_others, dtype=DTYPE, device=residual.device)
    column = 0
    while parts:  # fill in place, freeing each chunk of V as it lands
        rows = parts.pop(0)
        spanning[:, column : column + len(rows)] = rows.T
        column += len(rows)
    spanning[others, column + torch.arange(n_others, device=residual.device)] = 1.0  # E_S
    spanning[:, column + n_others :] = residual
    norms = spanning.norm(dim=0)
    spanning /= torch.where(norms > 0, norms, torch.ones_like(norms))
    basis, _ = torch.linalg.qr(spanning, mode="reduced")
    return basis


def _projected_hessian(model: nn.Module, inputs: Tensor, basis: Tensor, others: Tensor,
                       residual: Tensor) -> Tensor:
    """T = Q^T H Q = (V Q)^T (V Q) / N + Q^T R Q, where with B = R E_S (rows S: B_S = R_SS,
    rows F: B_F = R_FS) Q^T R Q = Q_S^T B_S Q_S + X + X^T, X = (Q_F^T B_F) Q_S. V is
    computed again here rather than kept beside Q: 4.5 GB at M = 55,660."""
    projected = torch.zeros(basis.shape[1], basis.shape[1], dtype=DTYPE, device=basis.device)
    for rows in gauss_newton_rows(model, inputs):
        reduced = rows @ basis
        projected.addmm_(reduced.T, reduced, alpha=1.0 / len(inputs))
    q_others = basis[others]  # Q_S, (|S|, r)
    projected.addmm_(q_others.T, residual[others] @ q_others)
    free_rows = residual.clone()
    free_rows[others] = 0.0  # B_F in place, so that Q_F^T B_F = Q^T (B with rows S zeroed): no copy of Q_F
    cross = (basis.T @ free_rows) @ q_others  # X
    projected += cross
    projected += cross.T
    return (projected + projected.T) / 2


def _probe_error(operator: HessianOperator, basis: Tensor, projected: Tensor) -> float:
    """||H v - Q T Q^T v|| / ||H v|| for one seeded Gaussian probe v."""
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn(operator.size, generator=generator, dtype=DTYPE).to(basis.device)
    direct = operator.matvec(probe)
    through = basis @ (projected @ (basis.T @ probe))
    return float((direct - through).norm() / direct.norm().clamp_min(torch.finfo(DTYPE).tiny))
