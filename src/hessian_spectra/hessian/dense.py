"""Exact Hessians of the mean softmax cross-entropy loss, as dense float64 matrices.

The loss is L(w) = (1/N) sum_i CE(f(x_i; w), y_i) over all parameters w (M of them,
flattened in ``model.parameters()`` order). Besides the Hessian H we build its
generalized Gauss-Newton part G = (1/N) sum_i J_i^T (diag(p_i) - p_i p_i^T) J_i and
the residual R = H - G (Sagun et al., section 2).

Three engines compute the same matrices:

* ``mlp``: for ``nn.Sequential`` stacks of ``nn.Linear`` and ReLU/Tanh (the paper's
  fully connected nets). It uses the layer structure: every weight enters one
  pre-activation linearly, so each Hessian block (l, m) is a sum over samples of
  small per-sample Jacobians times input activations, contracted in one matrix
  product, and only the blocks with l >= m are computed (symmetry). No autograd
  library offers this assembly, so it is written here; it is checked against
  ``torch.func.hessian`` and the generic engine in the tests.
* ``piecewise``: ``nn.Sequential`` nets of Linear/Conv layers with piecewise-linear
  modules between them (ReLU, max-pool, flatten), such as the Family C convnet:
  G from per-sample Jacobians in one matrix product, R from the cross-layer blocks
  by forward-mode products (``piecewise.py``).
* ``generic``: any module. Columns of H are Hessian-vector products with unit
  vectors (the double backward of ``operators.HessianOperator``), G comes from
  per-sample Jacobians as in ``piecewise``.

``engine="auto"`` picks ``mlp``, else ``piecewise``, else ``generic``: the first whose
structure the model has (the more structure an engine uses, the fewer passes it needs;
``benchmarks/`` measures them). Data is processed in batches, each weighted by its size,
so the result does not depend on the split.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ..base.progress import progress
from ..config.sizes import BUDGET_FIELD, dense_matrices_bytes
from .architectures import MLPPass, MLPStack, mlp_layers
from .gauss_newton import add_gauss_newton
from .operators import HessianOperator, check_data
from .piecewise import piecewise_matrices, piecewise_stages

DTYPE = torch.float64
ENGINES = ("auto", "mlp", "piecewise", "generic")


class HessianMemoryError(MemoryError):
    """The dense matrices would not fit in the configured memory budget."""


@dataclass(frozen=True)
class HessianSplit:
    """H = G + R as dense float64 (M, M) tensors; ``residual`` is ``hessian - gauss_newton``."""

    hessian: Tensor
    gauss_newton: Tensor

    @property
    def residual(self) -> Tensor:
        return self.hessian - self.gauss_newton


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_memory(num_params: int, budget_gb: float, n_matrices: int = 1, device: torch.device | None = None) -> None:
    """Refuse before allocating when the dense matrices exceed ``budget_gb`` or, on a CUDA
    ``device``, the memory free on it now (``torch.cuda.mem_get_info``): the matrices are
    assembled and diagonalised there, and nothing falls back to the CPU."""
    need = dense_matrices_bytes(num_params, n_matrices)
    what = (f"the exact Hessian of M={num_params} parameters needs about {need / 2**30:.2f} GiB ({n_matrices} "
            f"dense float64 matrices of M^2 x 8 bytes plus workspace)")
    refuse_over_memory(need, what, budget_gb, device, "use spectrum.method: auto, range or lanczos")


def refuse_over_memory(need: int, what: str, budget_gb: float, device: torch.device | None, instead: str) -> None:
    """Raise ``HessianMemoryError`` (``what`` needs ``need`` bytes; ``instead``: what to do
    other than raising the budget) when ``need`` exceeds ``budget_gb`` or the memory free
    on a CUDA ``device``."""
    if need > budget_gb * 2**30:
        raise HessianMemoryError(f"{what}, over the budget {BUDGET_FIELD}={budget_gb} GiB; raise {BUDGET_FIELD}, "
                                 f"shrink the model, or {instead}")
    if device is not None and device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        if need > free:
            raise HessianMemoryError(
                f"{what}, but {device} has {free / 2**30:.2f} GiB free (of {total / 2**30:.2f} GiB); free the "
                f"device, use a larger one, or {instead} (or device: cpu with enough memory)"
            )


def _batches(inputs: Tensor, targets: Tensor, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
    for start in range(0, len(inputs), batch_size):
        yield inputs[start : start + batch_size], targets[start : start + batch_size]


def _float64_copy(model: nn.Module, device: torch.device) -> nn.Module:
    return copy.deepcopy(model).to(device=device, dtype=DTYPE).eval()


# ----------------------------------------------------------------------------- mlp engine

class _MLPAssembler:
    """Accumulates the (l, m), l >= m blocks of H (and G) over sample chunks."""

    def __init__(self, stack: MLPStack, n_total: int, with_gn: bool):
        self.stack = stack
        self.weights, self.biases = stack.weights, stack.biases
        self.n_total = n_total
        self.with_gn = with_gn
        self.blocks_h: dict[tuple[int, int], Tensor] = {}
        self.blocks_g: dict[tuple[int, int], Tensor] = {}

    def _augment(self, a: Tensor, layer: int) -> Tensor:
        """Input activations with a trailing 1 when the layer has a bias."""
        if self.biases[layer] is None:
            return a
        return torch.cat([a, a.new_ones(len(a), 1)], dim=1)

    def add(self, x: Tensor, y: Tensor) -> None:
        batch = MLPPass.of(self.stack, x, y, self.n_total)
        curv, curv_gn = self._curvatures(batch)
        self._add_blocks(batch, curv, curv_gn)

    def _curvatures(self, batch: MLPPass) -> tuple[list[Tensor], list[Tensor]]:
        """d^2L/dh_l^2 per sample, (n, out_l, out_l), and its Gauss-Newton part."""
        n_layers = len(self.weights)
        prob, d1 = batch.prob, batch.first
        curv = [None] * n_layers
        curv_gn = [None] * n_layers
        curv[-1] = (torch.diag_embed(prob) - prob[:, :, None] * prob[:, None, :]) * (1.0 / self.n_total)
        curv_gn[-1] = curv[-1]
        for l in range(n_layers - 2, -1, -1):
            w_next = self.weights[l + 1]
            outer = d1[l][:, :, None] * d1[l][:, None, :]
            curv_gn[l] = outer * (w_next.T @ curv_gn[l + 1] @ w_next)
            curv[l] = outer * (w_next.T @ curv[l + 1] @ w_next)
            if batch.curvature[l] is not None:
                curv[l] = curv[l] + torch.diag_embed(batch.curvature[l])
        return curv, curv_gn

    def _add_blocks(self, batch: MLPPass, curv: list[Tensor], curv_gn: list[Tensor]) -> None:
        """Blocks (l, m) for l >= m, with jac = dh[l]/dh[m] and act_jac = d a_bar[l]/dh[m]:
          block[p,q,r,s] = sum_n (curv[l] jac)[n,p,r] a_bar[l][n,q] a_bar[m][n,s]
                         + sum_n delta[l][n,p] act_jac[n,q,r] a_bar[m][n,s]      (l > m only)
        where a_bar[l] is the input of layer l with a trailing 1 when it has a bias."""
        n_layers = len(self.weights)
        a_bar = [self._augment(a, l) for l, a in enumerate(batch.inputs)]
        d1, delta = batch.first, batch.errors
        n = len(batch.prob)
        for m in range(n_layers):
            jac = torch.eye(self.weights[m].shape[0], dtype=DTYPE, device=batch.prob.device).expand(n, -1, -1)
            for l in range(m, n_layers):
                if l > m:
                    act_jac = d1[l - 1][:, :, None] * jac  # d a[l-1] / d h[m]  (n, q, r)
                    jac = torch.einsum("ij,njk->nik", self.weights[l], act_jac)
                inputs_lm = _outer(a_bar[l], a_bar[m])  # (n, q, s)
                term = _contract(curv[l] @ jac, inputs_lm)  # (p, r, q, s)
                if l > m:
                    if self.biases[l] is not None:  # the bias input is constant
                        act_jac = torch.cat([act_jac, act_jac.new_zeros(n, 1, act_jac.shape[2])], 1)
                    second = _contract(_outer(delta[l], a_bar[m]), act_jac)  # (p, s, q, r)
                    term += second.permute(0, 3, 2, 1)
                self._add(self.blocks_h, (l, m), term)
                if self.with_gn:
                    self._add(self.blocks_g, (l, m), _contract(curv_gn[l] @ jac, inputs_lm))

    @staticmethod
    def _add(blocks: dict, key: tuple[int, int], term: Tensor) -> None:
        """Accumulate a (p, r, q, s) contribution into blocks[key], stored as (p, q, r, s)."""
        term = term.permute(0, 2, 1, 3)
        if key in blocks:
            blocks[key] += term
        else:
            blocks[key] = term.contiguous()

    def matrix(self, blocks: dict[tuple[int, int], Tensor]) -> Tensor:
        """Scatter the augmented (l, m) blocks into one M x M matrix in parameter order."""
        sizes = self.stack.sizes
        offsets = [sum(sizes[:l]) for l in range(len(sizes))]
        total = sum(sizes)
        device = self.weights[0].device
        out = torch.empty(total, total, dtype=DTYPE, device=device)
        for (l, m), block in blocks.items():
            rows = self._split(block, l, m)
            for (ri, ci), sub in rows.items():
                r0 = offsets[l] + ri[0]
                c0 = offsets[m] + ci[0]
                out[r0 : r0 + ri[1], c0 : c0 + ci[1]] = sub
                if l != m:
                    out[c0 : c0 + ci[1], r0 : r0 + ri[1]] = sub.T
        for start, size in zip(offsets, sizes):  # diagonal blocks: symmetric to the last bit
            diagonal = out[start : start + size, start : start + size]
            diagonal.copy_((diagonal + diagonal.T) / 2)
        return out

    def _split(self, block: Tensor, l: int, m: int) -> dict:
        """Weight/bias sub-blocks of an augmented block, keyed by ((row start, rows), (col start, cols))."""
        out_l, in_l = self.weights[l].shape
        out_m, in_m = self.weights[m].shape
        row_parts = [((0, out_l * in_l), slice(0, in_l))]
        if self.biases[l] is not None:
            row_parts.append(((out_l * in_l, out_l), slice(in_l, in_l + 1)))
        col_parts = [((0, out_m * in_m), slice(0, in_m))]
        if self.biases[m] is not None:
            col_parts.append(((out_m * in_m, out_m), slice(in_m, in_m + 1)))
        subs = {}
        for r_key, r_slice in row_parts:
            for c_key, c_slice in col_parts:
                subs[(r_key, c_key)] = block[:, r_slice, :, c_slice].reshape(r_key[1], c_key[1])
        return subs


def _outer(left: Tensor, right: Tensor) -> Tensor:
    """Per-sample outer product: (n, a), (n, b) -> (n, a, b)."""
    return left[:, :, None] * right[:, None, :]


def _contract(left: Tensor, right: Tensor) -> Tensor:
    """sum_n left[n, a, b] right[n, c, d] -> (a, b, c, d), as one matrix product."""
    n, a, b = left.shape
    _, c, d = right.shape
    return (left.reshape(n, a * b).T @ right.reshape(n, c * d)).reshape(a, b, c, d)


def _mlp_matrices(model, inputs, targets, batch_size, with_gn, show_progress):
    assembler = _MLPAssembler(MLPStack.of(mlp_layers(model)), len(inputs), with_gn)
    n_batches = -(-len(inputs) // batch_size)
    with torch.no_grad():
        for x, y in progress(_batches(inputs, targets, batch_size), total=n_batches,
                             desc="hessian (mlp)", disable=not show_progress):
            assembler.add(x, y)
    hessian = assembler.matrix(assembler.blocks_h)
    gauss_newton = assembler.matrix(assembler.blocks_g) if with_gn else None
    return hessian, gauss_newton


# ------------------------------------------------------------------------- generic engine


def _generic_matrices(model, inputs, targets, batch_size, chunk_size, with_gn, show_progress):
    """Any module: the columns of H are Hessian-vector products with the unit vectors
    (``operators.HessianOperator``, double backward through a graph built once per data
    batch), G comes from per-sample Jacobians (``gauss_newton``)."""
    n_params = num_parameters(model)
    n_total = len(inputs)
    device = next(model.parameters()).device
    hessian = torch.zeros(n_params, n_params, dtype=DTYPE, device=device)
    gauss_newton = torch.zeros_like(hessian) if with_gn else None
    n_batches = -(-n_total // batch_size)
    n_chunks = -(-n_params // chunk_size)
    with progress(total=n_batches * n_chunks, desc="hessian (generic)", disable=not show_progress) as bar:
        for x, y in _batches(inputs, targets, batch_size):
            operator = HessianOperator(model, x, y, engine="autograd")
            for start in range(0, n_params, chunk_size):
                units = torch.arange(start, min(start + chunk_size, n_params), device=device)
                basis = torch.nn.functional.one_hot(units, n_params).to(DTYPE).T  # e_start, e_start+1, ...
                # H is symmetric: the products H e_j are its rows as well
                hessian[units] += (len(x) / n_total) * operator.matmat(basis).T
                bar.update()
            if with_gn:
                add_gauss_newton(gauss_newton, model, x, y, n_total)
    for matrix in (hessian, gauss_newton) if with_gn else (hessian,):
        matrix.copy_((matrix + matrix.T).div_(2))  # separate products: make it exactly symmetric (one temporary)
    return hessian, gauss_newton


# ----------------------------------------------------------------------------- public API


def _choose_engine(model: nn.Module, engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"hessian.engine must be one of {ENGINES}, got {engine!r}")
    fits = {"mlp": mlp_layers(model) is not None, "piecewise": piecewise_stages(model) is not None,
            "generic": True}
    if engine == "auto":
        return next(name for name, ok in fits.items() if ok)
    if not fits[engine]:
        needs = {"mlp": "nn.Sequential(Linear, ReLU|Tanh, ..., Linear)",
                 "piecewise": "nn.Sequential of Linear/Conv layers and ReLU/pooling/Flatten modules"}
        raise ValueError(f"hessian.engine={engine!r} needs {needs[engine]}")
    return engine


def _prepare(model, inputs, targets, engine, memory_budget_gb, n_matrices, device):
    engine = _choose_engine(model, engine)
    check_data(model, inputs, targets)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    check_memory(num_parameters(model), memory_budget_gb, n_matrices, device)
    model64 = _float64_copy(model, device)
    inputs = inputs.to(device=device, dtype=DTYPE)
    targets = targets.to(device=device, dtype=torch.long)
    return model64, inputs, targets, engine


def _matrices(model, inputs, targets, *, with_gn, batch_size, chunk_size, engine,
              memory_budget_gb, device, show_progress):
    model64, inputs, targets, engine = _prepare(
        model, inputs, targets, engine, memory_budget_gb, 3 if with_gn else 1, device)
    if engine == "mlp":
        return _mlp_matrices(model64, inputs, targets, batch_size, with_gn, show_progress)
    if engine == "piecewise":
        return piecewise_matrices(model64, list(_batches(inputs, targets, batch_size)), chunk_size,
                                  with_gn, show_progress)
    return _generic_matrices(model64, inputs, targets, batch_size, chunk_size, with_gn, show_progress)


def exact_hessian(model: nn.Module, inputs: Tensor, targets: Tensor, *, batch_size: int = 1000,
                  chunk_size: int = 64, engine: str = "auto", memory_budget_gb: float = 8.0,
                  device: str | torch.device | None = None, show_progress: bool = False) -> Tensor:
    """Dense float64 (M, M) Hessian of the mean cross-entropy of ``model`` on (inputs, targets).

    ``targets`` are class indices. ``batch_size`` bounds how many samples are processed at
    once, ``chunk_size`` how many basis vectors the generic and piecewise engines push
    through at once.
    Raises ``HessianMemoryError`` before allocating when the matrix would exceed
    ``memory_budget_gb``.
    """
    hessian, _ = _matrices(model, inputs, targets, with_gn=False, batch_size=batch_size,
                           chunk_size=chunk_size, engine=engine, memory_budget_gb=memory_budget_gb,
                           device=device, show_progress=show_progress)
    return hessian


def hessian_split(model: nn.Module, inputs: Tensor, targets: Tensor, *, batch_size: int = 1000,
                  chunk_size: int = 64, engine: str = "auto", memory_budget_gb: float = 8.0,
                  device: str | torch.device | None = None, show_progress: bool = False) -> HessianSplit:
    """H and its Gauss-Newton part G (R = H - G), dense float64; arguments as ``exact_hessian``."""
    hessian, gauss_newton = _matrices(model, inputs, targets, with_gn=True, batch_size=batch_size,
                                      chunk_size=chunk_size, engine=engine,
                                      memory_budget_gb=memory_budget_gb, device=device,
                                      show_progress=show_progress)
    return HessianSplit(hessian=hessian, gauss_newton=gauss_newton)


def eigenvalues(matrix: Tensor) -> np.ndarray:
    """All eigenvalues of a symmetric matrix, ascending, float64 (``torch.linalg.eigvalsh``)."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"need a square matrix, got shape {tuple(matrix.shape)}")
    return torch.linalg.eigvalsh(matrix.to(torch.float64)).cpu().numpy()
