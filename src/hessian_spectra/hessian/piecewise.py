"""Exact Hessians of piecewise-linear networks from their layer structure.

For ``nn.Sequential`` nets whose parametrised modules are affine layers (``nn.Linear``,
``nn.Conv1d``, ``nn.Conv2d``: the output is affine in the input and in the weight) and
whose other modules are piecewise linear (ReLU, max/average pooling, flatten), such as the
convnet of Family C. H = G + R (Sagun et al., section 2) is built as:

* G, the Gauss-Newton part, from per-sample Jacobians (``gauss_newton``), one matrix product;
* R = sum_i sum_c r_ic d^2 logit_ic / dw^2 with r = dL/dlogits, by the structure.
  Between activation kinks the logits are affine in each layer's parameters, so the
  blocks R_(l,l) vanish, and the backpropagated signal g_l = d(r . logits)/dh_l of
  layer l does not depend on any lower layer's parameters. What is left, for m < l, is
  R_(l,m) = d/dtheta_m of the weight gradient of layer l, sum_i g_l(x_i) "times" a_l(x_i),
  where a_l is layer l's input: the weight gradient of layer l with its input replaced
  by the tangent da_l/dtheta_m e_j (forward mode, ``torch.func.jvp``), one column j of
  theta_m at a time, vmapped over chunks of columns. Bias rows of R_(l,m) are zero.

No library assembles these blocks, hence this module. The cost is a few forward passes
per parameter instead of the double backward per parameter of the Hessian-vector-product
route (``hessian`` generic engine; ``benchmarks/peers/conv_hessian_speed.py`` compares them);
the tests check H and G against ``torch.func.hessian`` and the generic engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp, vjp, vmap

from ..base.progress import progress
from .gauss_newton import add_gauss_newton

AFFINE_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
PIECEWISE_LINEAR = (nn.ReLU, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.Flatten, nn.Identity)


@dataclass(frozen=True)
class Stage:
    """One affine layer and the parameter-free modules applied to its input."""

    prefix: tuple[nn.Module, ...]
    layer: nn.Module

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.layer.named_parameters()]

    @property
    def size(self) -> int:
        return sum(p.numel() for p in self.layer.parameters())


def piecewise_stages(model: nn.Module) -> tuple[list[Stage], tuple[nn.Module, ...]] | None:
    """(stages, tail) when ``model`` is an ``nn.Sequential`` of affine layers and
    piecewise-linear parameter-free modules (``tail``: those after the last layer), else None."""
    if not isinstance(model, nn.Sequential):
        return None
    stages: list[Stage] = []
    pending: list[nn.Module] = []
    for module in model:
        if isinstance(module, AFFINE_LAYERS):
            stages.append(Stage(tuple(pending), module))
            pending = []
        elif isinstance(module, PIECEWISE_LINEAR):
            pending.append(module)
        else:
            return None
    if not stages:
        return None
    return stages, tuple(pending)


def _run(modules, a: Tensor) -> Tensor:
    for module in modules:
        a = module(a)
    return a


def _stage_params(stage: Stage, vector: Tensor) -> dict[str, Tensor]:
    params = dict(stage.layer.named_parameters())
    pieces = vector.split([params[name].numel() for name in stage.names])
    return {name: piece.reshape(params[name].shape) for name, piece in zip(stage.names, pieces)}


class _ResidualAssembler:
    """Adds the blocks R_(l,m), l > m, of every batch of samples into the lower block
    triangle of ``out`` (the upper one is left to the caller)."""

    def __init__(self, stages: list[Stage], tail, chunk_size: int, bar, out: Tensor, offsets: list[int]):
        self.stages, self.tail, self.chunk_size, self.bar = stages, tail, chunk_size, bar
        self.out, self.offsets = out, offsets

    def _forward(self, x: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """Inputs a_l and outputs h_l of every layer, and the logits."""
        inputs, outputs = [], []
        a = x.detach().requires_grad_(True)  # a graph to backpropagate through, frozen parameters or not
        for stage in self.stages:
            a = _run(stage.prefix, a)
            inputs.append(a.detach())
            a = stage.layer(a)
            outputs.append(a)
        return inputs, outputs, _run(self.tail, a)

    def add(self, x: Tensor, y: Tensor, n_total: int) -> None:
        inputs, outputs, logits = self._forward(x)
        prob = torch.softmax(logits.detach(), dim=1)
        residual = (prob - torch.nn.functional.one_hot(y, prob.shape[1]).to(prob.dtype)) / n_total
        signals = torch.autograd.grad(logits, outputs, grad_outputs=residual)  # g_l
        with torch.no_grad():  # torch.func transforms still differentiate; no autograd graph is kept
            for m in range(len(self.stages) - 1):
                self._add_column_blocks(m, inputs, signals)

    def _above(self, m: int, a_m: Tensor, theta_m: Tensor) -> tuple[Tensor, ...]:
        """The inputs a_l of the layers l > m as functions of layer m's parameters."""
        stage = self.stages[m]
        a = functional_call(stage.layer, _stage_params(stage, theta_m), (a_m,))
        out = []
        for upper in self.stages[m + 1 :]:
            a = _run(upper.prefix, a)
            out.append(a)
            a = upper.layer(a)
        return tuple(out)

    def _add_column_blocks(self, m: int, inputs: list[Tensor], signals: tuple[Tensor, ...]) -> None:
        stage = self.stages[m]
        theta_m = torch.cat([p.detach().reshape(-1) for p in stage.layer.parameters()])
        uppers = self.stages[m + 1 :]
        upper_signals = [s.detach() for s in signals[m + 1 :]]

        def weight_gradients(tangent_inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            # sum_i g_l(x_i) "times" t_l(x_i): the weight gradient of layer l fed t_l
            grads = []
            for upper, t, g in zip(uppers, tangent_inputs, upper_signals):
                weight = upper.layer.weight.detach()
                params = {"weight": weight}
                if upper.layer.bias is not None:
                    params["bias"] = torch.zeros_like(upper.layer.bias)
                _, pull = vjp(lambda w, t=t, upper=upper, params=params:
                              functional_call(upper.layer, {**params, "weight": w}, (t,)), weight)
                grads.append(pull(g)[0].reshape(-1))
            return tuple(grads)

        def columns(direction: Tensor) -> tuple[Tensor, ...]:
            _, tangents = jvp(lambda th: self._above(m, inputs[m], th), (theta_m,), (direction,))
            return weight_gradients(tangents)

        size = theta_m.numel()
        for start in range(0, size, self.chunk_size):
            units = torch.arange(start, min(start + self.chunk_size, size), device=theta_m.device)
            directions = torch.nn.functional.one_hot(units, size).to(theta_m.dtype)  # e_start, e_start+1, ...
            cols = vmap(columns)(directions)  # per l: (chunk, |W_l|)
            col0 = self.offsets[m] + start
            for l, block in enumerate(cols, start=m + 1):
                row0 = self.offsets[l]
                self.out[row0 : row0 + block.shape[1], col0 : col0 + len(block)] += block.T
            self.bar.update(len(cols[0]))


def _mirror_lower_blocks(matrix: Tensor, offsets: list[int]) -> None:
    """Make ``matrix`` exactly symmetric from its lower block triangle: each block (l, m),
    l > m, is copied to (m, l) transposed; the diagonal blocks become (B + B^T) / 2."""
    for l in range(len(offsets) - 1):
        rows = slice(offsets[l], offsets[l + 1])
        diagonal = matrix[rows, rows]
        diagonal.copy_((diagonal + diagonal.T) / 2)
        for m in range(l):
            cols = slice(offsets[m], offsets[m + 1])
            matrix[cols, rows] = matrix[rows, cols].T


def piecewise_matrices(model: nn.Module, batches: list[tuple[Tensor, Tensor]], chunk_size: int,
                       with_gn: bool, show_progress: bool = False) -> tuple[Tensor, Tensor | None]:
    """H (and G, else None) of a float64 model that ``piecewise_stages`` accepts, for the mean
    loss over all samples of ``batches`` (a list of (inputs, targets)). Memory: the dense
    result(s) plus transient per-chunk buffers (G and R accumulate in place)."""
    stages, tail = piecewise_stages(model)
    n_total = sum(len(x) for x, _ in batches)
    first = next(model.parameters())
    offsets = [0]
    for stage in stages:
        offsets.append(offsets[-1] + stage.size)
    hessian = torch.zeros(offsets[-1], offsets[-1], dtype=first.dtype, device=first.device)
    gauss_newton = torch.zeros_like(hessian) if with_gn else hessian  # without the split, G goes into H
    columns = offsets[-2]  # the progress unit: one column of R (the last layer's columns have none)
    with progress(total=len(batches) * columns, desc="hessian (piecewise)", unit="col",
                  disable=not show_progress) as bar:
        assembler = _ResidualAssembler(stages, tail, chunk_size, bar, hessian, offsets)
        for x, y in batches:
            add_gauss_newton(gauss_newton, model, x, y, n_total)
            assembler.add(x, y, n_total)
    _mirror_lower_blocks(hessian, offsets)
    if with_gn:
        _mirror_lower_blocks(gauss_newton, offsets)
        hessian += gauss_newton
        return hessian, gauss_newton
    return hessian, None
