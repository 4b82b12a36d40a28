"""Appendix B's measurement (figB): the Gauss-Newton part G of a linear softmax model on
Gaussian inputs, computed with the project's own ``hessian_split``, to set beside the
closed forms of ``random_matrix`` (the derivation is in that module's docstring)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..base.io import save_npz
from ..hessian.dense import eigenvalues, hessian_split
from ..spectra.random_matrix import spike_of


def gaussian_inputs(n: int, d: int, n_classes: int, separation: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n standard normal inputs in d dimensions with balanced labels; with ``separation`` > 0
    (two classes only) class c is shifted by (c - 1/2) * separation along the first axis,
    so the class means are ``separation`` apart."""
    if separation and n_classes != 2:
        raise ValueError(f"separated clusters need n_classes = 2, got {n_classes}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    y = torch.arange(n) % n_classes
    x[:, 0] += (y.to(torch.float64) - 0.5) * separation
    return x, y


def linear_softmax_gauss_newton(x: torch.Tensor, y: torch.Tensor, n_classes: int) -> np.ndarray:
    """All eigenvalues of G (ascending) of the linear softmax model without biases at W = 0."""
    model = nn.Linear(x.shape[1], n_classes, bias=False).to(torch.float64)
    nn.init.zeros_(model.weight)
    return eigenvalues(hessian_split(model, x, y).gauss_newton)


def appendix_b_spectra(settings: dict, out: str) -> None:
    """The spectra of figB as .npz: per panel, C times the nonzero eigenvalues of G (the
    eigenvalues of S, C - 1 times over) and the panel's ratio and spike.

    ``settings``: ``n_features`` (d), ``ratios`` (d / N, one panel each, identity
    covariance), ``separation`` (the BBP panel, at the first ratio), ``n_classes``, ``seed``."""
    d, n_classes, seed = settings["n_features"], settings["n_classes"], settings["seed"]
    panels = [(ratio, 0.0) for ratio in settings["ratios"]] + [(settings["ratios"][0], settings["separation"])]
    arrays, metadata = {}, {"panels": []}
    for i, (ratio, separation) in enumerate(panels):
        x, y = gaussian_inputs(round(d / ratio), d, n_classes, separation, seed + i)
        values = n_classes * linear_softmax_gauss_newton(x, y, n_classes)
        arrays[f"panel{i}"] = values[-d * (n_classes - 1):]  # G's rank is d (C - 1): the rest are zeros
        metadata["panels"].append({"ratio": ratio, "n": round(d / ratio), "separation": separation,
                                   "spike": spike_of(separation)})
    save_npz(out, metadata={**metadata, "settings": settings}, **arrays)
