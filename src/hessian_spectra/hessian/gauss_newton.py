"""The generalized Gauss-Newton matrix of the mean softmax cross-entropy, for any module,
from per-sample Jacobians.

G = (1/N) sum_i J_i^T A_i J_i with J_i = d logits(x_i) / d w (C x M) and
A_i = diag(p_i) - p_i p_i^T the Hessian of the cross-entropy in the logits. A_i factors as
B_i^T B_i with B_i = diag(sqrt(p_i)) (I - 1 p_i^T), so G = V^T V with V the rows
B_i J_i / sqrt(N) stacked over samples: one matrix product, much cheaper than M
Gauss-Newton-vector products when N C is small next to the cost of a product.
The per-sample Jacobians are ``torch.func``'s documented recipe (vmap over samples of
jacrev); samples are processed in chunks so that V stays near ``chunk_bytes``.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

CHUNK_BYTES = 256 * 2**20


def flat_functional(model: nn.Module) -> tuple[Tensor, Callable[[Tensor], dict[str, Tensor]]]:
    """The parameters of ``model`` as one detached vector (``model.parameters()`` order)
    and the map from such a vector back to ``functional_call``'s name -> tensor dict."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    numels = [p.numel() for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def unflatten(vector: Tensor) -> dict[str, Tensor]:
        return {n: t.reshape(s) for n, t, s in zip(names, vector.split(numels), shapes)}

    return flat, unflatten


def output_jacobians(model: nn.Module, inputs: Tensor) -> Tensor:
    """Per-sample Jacobians of the logits in the flattened parameters: (n, C, M)."""
    flat, unflatten = flat_functional(model)

    def logits_one(w: Tensor, x: Tensor) -> Tensor:
        return functional_call(model, unflatten(w), (x[None],))[0]

    return vmap(jacrev(logits_one), in_dims=(None, 0))(flat, inputs)


def gauss_newton_rows(model: nn.Module, inputs: Tensor,
                      chunk_bytes: int = CHUNK_BYTES) -> Iterator[Tensor]:
    """The rows B_i J_i (C per sample) of the given samples, a chunk of samples at a time
    (each chunk about ``chunk_bytes``): G = (1/N) sum over all chunks of rows^T rows."""
    n_params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():  # torch.func transforms still differentiate; no autograd graph is kept
        n_classes = model(inputs[:1]).shape[1]
        chunk = max(1, chunk_bytes // (8 * n_classes * n_params))
        for start in range(0, len(inputs), chunk):
            x = inputs[start : start + chunk]
            jac = output_jacobians(model, x)  # (n, C, M)
            prob = torch.softmax(model(x), dim=1)
            mean = torch.einsum("nc,ncm->nm", prob, jac)
            rows = (jac - mean[:, None, :]) * prob.sqrt()[:, :, None]  # B_i J_i
            yield rows.reshape(-1, n_params)


def add_gauss_newton(out: Tensor, model: nn.Module, inputs: Tensor, targets: Tensor, n_total: int,
                     chunk_bytes: int = CHUNK_BYTES) -> None:
    """``out += (1/n_total) sum_i J_i^T A_i J_i`` over the given samples (``out`` is (M, M))."""
    for rows in gauss_newton_rows(model, inputs, chunk_bytes):
        out.addmm_(rows.T, rows, alpha=1.0 / n_total)
