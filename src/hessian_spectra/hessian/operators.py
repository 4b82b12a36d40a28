"""Hessian-vector products without forming the Hessian: the operators the eigensolvers
(``lanczos``) and the generic dense engine (``hessian``) apply.

* ``SymmetricOperator``: what an eigensolver needs (``size``, ``dtype``, ``device``,
  ``matmat``); ``MatrixOperator`` wraps a dense symmetric matrix as one.
* ``HessianOperator``: v -> H v for the mean softmax cross-entropy of any ``nn.Module``
  (same conventions as ``hessian.py``: float64 copy of the model, parameters flattened in
  ``model.parameters()`` order, data in batches weighted by their size). Everything that
  does not depend on v is computed once: for any module the forward pass and the
  first-order graph (gradient with ``create_graph=True``), reused by a double backward
  of g . v per product (``retain_graph``); for the paper's MLPs the forward quantities of
  an explicit R-operator. ``matmat`` applies H to a block of vectors at once.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor, nn

from .architectures import MLPPass, MLPStack, mlp_layers

DTYPE = torch.float64


class SymmetricOperator(Protocol):
    """What the eigensolvers need: a symmetric (size x size) linear map on float64 tensors."""

    size: int
    dtype: torch.dtype
    device: torch.device

    def matmat(self, block: Tensor) -> Tensor:
        """(size, b) -> (size, b)."""
        ...


class MatrixOperator:
    """A dense symmetric matrix as an operator (for tests and small problems)."""

    def __init__(self, matrix: Tensor):
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"need a square matrix, got shape {tuple(matrix.shape)}")
        self.matrix = matrix.to(DTYPE)
        self.size = matrix.shape[0]
        self.dtype = DTYPE
        self.device = matrix.device
        self.n_products = 0

    def matmat(self, block: Tensor) -> Tensor:
        self.n_products += block.shape[1]
        return self.matrix @ block

    def matvec(self, vector: Tensor) -> Tensor:
        return self.matmat(vector[:, None])[:, 0]


def check_data(model: nn.Module, inputs: Tensor, targets: Tensor) -> int:
    """Check (inputs, targets) before any Hessian work and return the number of classes C
    (the model's outputs): as many targets as inputs (> 0), and integer class labels in
    0..C-1. A label outside that range would otherwise fail deep inside cross-entropy
    (or, on a GPU, as an asynchronous device assert); the error names the labels."""
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise ValueError(f"need as many targets as inputs (>0), got {len(inputs)} and {len(targets)}")
    if targets.is_floating_point() or targets.is_complex() or targets.ndim != 1:
        raise ValueError(f"targets must be a 1-D tensor of integer class labels, got dtype {targets.dtype} "
                         f"and shape {tuple(targets.shape)}")
    first = next(model.parameters())
    with torch.no_grad():
        n_classes = model(inputs[:1].to(device=first.device, dtype=first.dtype)).shape[1]
    labels = targets.detach().cpu()
    outside = labels[(labels < 0) | (labels >= n_classes)]
    if len(outside):
        shown = sorted(set(outside.tolist()))
        listed = ", ".join(map(str, shown[:10])) + (", ..." if len(shown) > 10 else "")
        raise ValueError(f"targets hold {len(outside)} label(s) outside the model's {n_classes} classes "
                         f"(0..{n_classes - 1}): {listed}")
    return n_classes


def _mean_cross_entropy_sum(logits: Tensor, targets: Tensor) -> Tensor:
    """sum_i CE(logits_i, y_i), written with ops that have batching rules for the batched
    double backward (``F.cross_entropy``'s log-softmax double backward falls back to a slow
    per-vector loop under ``is_grads_batched``). The shift by the row maximum is a
    constant (detached): the value and all derivatives are those of logsumexp."""
    shift = logits.detach().max(dim=1, keepdim=True).values
    logsumexp = (logits - shift).exp().sum(dim=1).log() + shift.squeeze(1)
    return (logsumexp - logits.gather(1, targets[:, None]).squeeze(1)).sum()


class _AutogradProducts:
    """Any module: per data batch, the first-order graph (gradient with create_graph=True)
    is built once; a product is a double backward of g . v through it (retain_graph), a
    block of vectors one batched double backward (is_grads_batched)."""

    def __init__(self, model: nn.Module, params: list[Tensor], batches, n_total: int, numels, shapes):
        self.params, self.numels, self.shapes = params, numels, shapes
        self.grads: list[tuple[Tensor, ...]] = []
        for x, y in batches:
            loss = _mean_cross_entropy_sum(model(x), y) / n_total
            self.grads.append(torch.autograd.grad(loss, params, create_graph=True))

    def __call__(self, rows: Tensor) -> Tensor:
        batched = len(rows) > 1
        if batched:
            outputs = [piece.reshape(len(rows), *shape) for piece, shape in zip(rows.split(self.numels, dim=1),
                                                                                   self.shapes)]
        else:
            outputs = [piece.reshape(shape) for piece, shape in zip(rows[0].split(self.numels), self.shapes)]
        out = torch.zeros_like(rows)
        for grads in self.grads:
            products = torch.autograd.grad(grads, self.params, grad_outputs=outputs, retain_graph=True,
                                           is_grads_batched=batched, allow_unused=True, materialize_grads=True)
            out += torch.cat([p.reshape(len(rows), -1) for p in products], dim=1)
        return out


@dataclass(frozen=True)
class _Directions:
    """A block of b directions split by layer: weight parts in (in, b*out) and (out, b*in)
    layouts, bias parts as (b, out) and as one (1, b*out) row (None without a bias), so
    that each contraction over all b is one matrix product."""

    count: int
    biases: list[Tensor | None]
    weights_in: list[Tensor]
    weights_out: list[Tensor]
    bias_rows: list[Tensor | None]


class _MLPProducts:
    """``nn.Sequential`` stacks of Linear and ReLU/Tanh (the paper's nets): Pearlmutter's
    R-operator written out layer by layer. The forward and backward pass of every data
    batch (``architectures.MLPPass``) is computed once; a product of a block of b vectors
    is then one forward and one backward sweep of b "directional" copies, every
    contraction a single matrix product over all b (checked against the autograd engine
    and against ``torch.func.hessian`` in the tests); a single vector (b = 1, each step
    of plain Lanczos) takes a leaner path with the same sweeps (``_vector``)."""

    def __init__(self, stack: MLPStack, batches, n_total: int):
        self.weights, self.biases = stack.weights, stack.biases
        self.weights_t = [w.T.contiguous() for w in self.weights]
        self.passes = [MLPPass.of(stack, x, y, n_total) for x, y in batches]
        self.scaled_probs = [batch.prob / n_total for batch in self.passes]
        # (weight start, weight end, bias end or None) of each layer in a flat vector
        self.offsets: list[tuple[int, int, int | None]] = []
        start = 0
        for w, bias in zip(self.weights, self.biases):
            end = start + w.numel()
            bias_end = None if bias is None else end + bias.numel()
            self.offsets.append((start, end, bias_end))
            start = end if bias_end is None else bias_end

    def __call__(self, rows: Tensor) -> Tensor:
        if len(rows) == 1:
            return self._vector(rows[0])[None]
        directions = self._directions(rows)
        out = None
        for batch, prob_scaled in zip(self.passes, self.scaled_probs):
            r_h, r_a = self._directional_forward(batch, directions)
            r_z = r_h[-1]
            # R{dL/dz} = (diag p - p p^T) R{z} / N
            r_d = (r_z - torch.linalg.vecdot(batch.prob[:, None, :], r_z)[:, :, None]).mul_(prob_scaled[:, None, :])
            product = self._directional_backward(batch, directions, r_h, r_a, r_d)
            out = product if out is None else out.add_(product)
        return out

    def _vector(self, row: Tensor) -> Tensor:
        """H v for one (M,) vector: the same sweeps as a block, written for b = 1 (a Lanczos
        step's product). Every tensor is 2-D (n, width), with no layout copies of v, and each
        layer's piece of H v is written into its slice of the result, so the product costs
        its matrix products and a few elementwise passes, not the bookkeeping around them."""
        weights, offsets, n_layers = self.weights, self.offsets, len(self.weights)
        v_w = [row[start:end].view(w.shape) for (start, end, _), w in zip(offsets, weights)]
        v_b = [None if bias_end is None else row[end:bias_end] for _, end, bias_end in offsets]
        result = None
        for batch, prob_scaled in zip(self.passes, self.scaled_probs):
            a, d1, curv, delta = batch.inputs, batch.first, batch.curvature, batch.errors
            r_h, r_a = [], [None]
            for l in range(n_layers):
                t = a[l] @ v_w[l].T if v_b[l] is None else torch.addmm(v_b[l], a[l], v_w[l].T)
                if l > 0:
                    t.addmm_(r_a[l], self.weights_t[l])
                r_h.append(t)
                if l < n_layers - 1:
                    r_a.append(d1[l] * t)
            r_z = r_h[-1]
            # R{dL/dz} = (diag p - p p^T) R{z} / N
            r_d = (r_z - (batch.prob * r_z).sum(1, keepdim=True)).mul_(prob_scaled)
            out = torch.empty_like(row)
            for l in range(n_layers - 1, -1, -1):
                start, end, bias_end = offsets[l]
                if bias_end is not None:
                    torch.sum(r_d, 0, out=out[end:bias_end])
                g_w = out[start:end].view(weights[l].shape)
                torch.mm(r_d.T, a[l], out=g_w)
                if l > 0:
                    g_w.addmm_(delta[l].T, r_a[l])
                    r_g = r_d @ weights[l]
                    r_g.addmm_(delta[l], v_w[l])
                    r_d = r_g.mul_(d1[l - 1])
                    if curv[l - 1] is not None:
                        r_d.addcmul_(curv[l - 1], r_h[l - 1])
            result = out if result is None else result.add_(out)
        return result

    def _directions(self, rows: Tensor) -> _Directions:
        b = len(rows)
        v_w, v_b = [], []
        offset = 0
        for w, bias in zip(self.weights, self.biases):
            v_w.append(rows[:, offset : offset + w.numel()].reshape(b, *w.shape))
            offset += w.numel()
            v_b.append(None if bias is None else rows[:, offset : offset + bias.numel()])
            offset += 0 if bias is None else bias.numel()
        return _Directions(count=b, biases=v_b,
                           weights_in=[v.permute(2, 0, 1).reshape(v.shape[2], -1) for v in v_w],
                           weights_out=[v.permute(1, 0, 2).reshape(v.shape[1], -1) for v in v_w],
                           bias_rows=[None if v is None else v.reshape(1, -1) for v in v_b])

    def _directional_forward(self, batch: MLPPass, directions: _Directions) -> tuple[list[Tensor], list]:
        """R{h_l} and R{a_l} (None for the input) of every layer as (n, b, width)."""
        a, d1 = batch.inputs, batch.first
        n, n_layers, b = len(a[0]), len(self.weights), directions.count
        v_in, v_bias = directions.weights_in, directions.bias_rows
        r_h, r_a = [], [None]
        for l in range(n_layers):
            width = self.weights[l].shape[0]
            t = (a[l] @ v_in[l] if v_bias[l] is None else torch.addmm(v_bias[l], a[l], v_in[l])).view(n, b, width)
            if l > 0:
                t.view(n * b, width).addmm_(r_a[l].view(n * b, -1), self.weights_t[l])
            r_h.append(t)
            if l < n_layers - 1:
                r_a.append(d1[l][:, None, :] * t)
        return r_h, r_a

    def _directional_backward(self, batch: MLPPass, directions: _Directions, r_h: list[Tensor], r_a: list,
                              r_d: Tensor) -> Tensor:
        """(b, M): the products H v from R{dL/dz} = ``r_d``, layer by layer downwards."""
        a, d1, curv, delta = batch.inputs, batch.first, batch.curvature, batch.errors
        n, b = r_d.shape[0], r_d.shape[1]
        pieces: list[Tensor] = []
        for l in range(len(self.weights) - 1, -1, -1):
            width_out, width_in = self.weights[l].shape
            if directions.biases[l] is not None:
                pieces.append(r_d.sum(0))
            g_w = (r_d.view(n, b * width_out).T @ a[l]).view(b, width_out, width_in)
            if l > 0:
                g_w += (delta[l].T @ r_a[l].view(n, b * width_in)).view(width_out, b, width_in).transpose(0, 1)
            pieces.append(g_w.view(b, -1))
            if l > 0:
                r_g = (r_d.view(n * b, width_out) @ self.weights[l]).view(n, b, width_in)
                r_g.view(n, -1).addmm_(delta[l], directions.weights_out[l])
                r_d = r_g.mul_(d1[l - 1][:, None, :])
                if curv[l - 1] is not None:
                    r_d += curv[l - 1][:, None, :] * r_h[l - 1]
        return torch.cat(pieces[::-1], dim=1)


ENGINES = ("auto", "mlp", "autograd")


class HessianOperator:
    """v -> H v, H the Hessian of the mean softmax cross-entropy of ``model`` on
    (inputs, targets) with respect to all of ``model.parameters()`` (flattened in that
    order), in float64.

    The caller's model is not touched: a float64 copy in eval mode is differentiated.
    Data is split into batches of ``batch_size`` samples (all at once when None); batch
    j contributes (n_j / N) times its mean loss, so H does not depend on the split.

    Engines (``engine="auto"`` takes ``mlp`` when the model has that structure):

    * ``autograd``: any module. For every data batch the forward pass and the first-order
      graph (gradient with ``create_graph=True``) are built once and kept; a product is a
      double backward of g . v through them (``retain_graph``), a block one batched
      double backward (``is_grads_batched``).
    * ``mlp``: ``nn.Sequential`` of Linear and ReLU/Tanh (``architectures.mlp_layers``): the same
      products from one cached ``architectures.MLPPass`` per data batch (the pass the
      dense ``mlp`` engine uses too) and explicit matrix products.

    Memory: what is kept per data batch, for all batches at once: the autograd graph
    (forward activations plus the create_graph backward: a few (batch x width) tensors per
    layer and a few parameter-sized ones), or for ``mlp`` the layer inputs, activation
    derivatives, errors and probabilities (about 4 (batch x width) tensors per layer);
    so about 3-6 times one ordinary forward+backward pass over all N samples. A block of
    b vectors needs b times one batch's activations on top, transiently.

    ``matmat`` applies H to the columns of a (M, b) block, ``block_size`` columns per
    pass; ``matvec`` to one (M,) vector. ``n_products`` counts the Hessian-vector
    products done so far (a block of b counts b).
    """

    def __init__(self, model: nn.Module, inputs: Tensor, targets: Tensor, *, batch_size: int | None = None,
                 block_size: int = 8, engine: str = "auto", device: str | torch.device | None = None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        layers = mlp_layers(model)
        if engine == "mlp" and layers is None:
            raise ValueError("engine='mlp' needs nn.Sequential(Linear, ReLU|Tanh, ..., Linear)")
        check_data(model, inputs, targets)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if block_size < 1:
            raise ValueError(f"block_size must be positive, got {block_size}")
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.dtype = DTYPE
        self.block_size = block_size
        self.model = copy.deepcopy(model).to(device=self.device, dtype=DTYPE).eval()
        params = list(self.model.parameters())
        self.shapes = [p.shape for p in params]
        self.numels = [p.numel() for p in params]
        self.size = sum(self.numels)
        self.n_products = 0
        inputs = inputs.to(device=self.device, dtype=DTYPE)
        targets = targets.to(device=self.device, dtype=torch.long)
        n_total = len(inputs)
        step = n_total if batch_size is None else batch_size
        batches = [(inputs[i : i + step], targets[i : i + step]) for i in range(0, n_total, step)]
        self.engine = "mlp" if engine == "mlp" or (engine == "auto" and layers is not None) else "autograd"
        if self.engine == "mlp":
            self._products = _MLPProducts(MLPStack.of(mlp_layers(self.model)), batches, n_total)
        else:
            for param in params:
                param.requires_grad_(True)
            self._products = _AutogradProducts(self.model, params, batches, n_total, self.numels, self.shapes)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    def matmat(self, block: Tensor) -> Tensor:
        """H @ block for a (M, b) block; returns (M, b)."""
        if block.ndim != 2 or block.shape[0] != self.size:
            raise ValueError(f"need a ({self.size}, b) block, got shape {tuple(block.shape)}")
        rows = block.to(device=self.device, dtype=DTYPE).T
        if len(rows) == 0:
            return block.clone()
        out = torch.cat([self._products(rows[i : i + self.block_size].contiguous())
                         for i in range(0, len(rows), self.block_size)])
        self.n_products += len(rows)
        return out.T

    def matvec(self, vector: Tensor) -> Tensor:
        """H @ vector for a (M,) vector."""
        return self.matmat(vector.reshape(-1, 1))[:, 0]

    def __matmul__(self, other: Tensor) -> Tensor:
        return self.matvec(other) if other.ndim == 1 else self.matmat(other)
