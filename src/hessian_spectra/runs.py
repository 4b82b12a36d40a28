"""Workflow steps shared by every family: data files, models, training, spectra.

A *run* is a dict of sections (see ``config.cluster_run`` and ``config.image_run``):
``data``, ``model``, ``train``, ``outliers``; the workflow passes each step only the
sections it depends on, so a change reruns exactly what it affects.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import Split
from .hessian import estimate_memory_bytes, exact_hessian, hessian_split, num_parameters
from .io import load_npz, save_npz
from .lanczos import hessian_edges
from .models import convnet, mlp
from .seeding import resolve_device, seed_everything
from .spectrum import count_outliers, eigenvalues
from .train import TrainSettings, train

log = logging.getLogger(__name__)
SPECTRUM_METHODS = ("exact", "lanczos", "auto")


def save_data(split: Split, out: str | Path, metadata: dict, **extra: np.ndarray) -> None:
    """A data set as .npz (``x_train`` ... ``y_test`` plus ``extra``); metadata gets ``n_classes``."""
    save_npz(out, metadata={**metadata, "n_classes": split.n_classes}, **split.arrays(), **extra)


def load_data(path: str | Path) -> Split:
    arrays, metadata = load_npz(path)
    return Split.from_arrays(arrays, n_classes=metadata["n_classes"])


def build_model(model: dict) -> nn.Sequential:
    """The net a ``model`` section describes (``kind`` mlp | convnet), initialised from its seed."""
    seed_everything(model["seed"])
    if model["kind"] == "mlp":
        return mlp(model["in_features"], model["hidden"], model["out_features"], model["activation"],
                   flatten=model.get("flatten", False))
    if model["kind"] == "convnet":
        return convnet(tuple(model["input_shape"]), model["out_features"], tuple(model["channels"]),
                       model["kernel_size"], model["hidden"], model["padding"])
    raise ValueError(f"model kind must be mlp or convnet, got {model['kind']!r}")


def load_model(model: dict, checkpoint: str | Path) -> nn.Sequential:
    net = build_model(model)
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    return net


def train_run(run: dict, data_path: str | Path, run_dir: str | Path, device: str = "auto") -> None:
    """Train one run into ``run_dir`` (init.pt, final.pt, metrics.csv, checkpoints/)."""
    net = build_model(run["model"])
    result = train(net, load_data(data_path), TrainSettings(**run["train"]), run_dir,
                   device=resolve_device(device), fingerprint={"data": run["data"], "model": run["model"]})
    log.info("%s: %s", run["run"], result)


def choose_method(method: str, num_params: int, budget_gb: float, n_matrices: int) -> str:
    """``auto`` -> exact when the dense matrices fit ``hessian.memory_budget_gb``, else lanczos."""
    if method not in SPECTRUM_METHODS:
        raise ValueError(f"spectrum.method must be one of {SPECTRUM_METHODS}, got {method!r}")
    if method != "auto":
        return method
    fits = estimate_memory_bytes(num_params, n_matrices) <= budget_gb * 2**30
    return "exact" if fits else "lanczos"


def _exact_spectra(net, x, y, options: dict, decompose: bool) -> dict[str, np.ndarray]:
    if decompose:
        split = hessian_split(net, x, y, **options)
        matrices = {"hessian": split.hessian, "gauss_newton": split.gauss_newton, "residual": split.residual}
        del split
    else:
        matrices = {"hessian": exact_hessian(net, x, y, **options)}
    return {name: eigenvalues(matrices.pop(name)) for name in list(matrices)}


def spectrum(run: dict, data_path: str | Path, checkpoint: str | Path, out: str | Path, *,
             hessian: dict, decompose: bool = False, method: str = "exact", edge: dict | None = None,
             device: str = "auto") -> None:
    """Hessian eigenvalues of a run at a checkpoint, with the outlier counts, as .npz.

    Arrays: ``largest`` (descending) and ``smallest`` (ascending), ``edge["k"]`` of each
    (all of them with the exact method); with the exact method also ``hessian`` (every
    eigenvalue, ascending) and, when ``decompose``, ``gauss_newton`` and ``residual``.
    ``edge`` holds the Lanczos settings (k, tol, max_products)."""
    net = load_model(run["model"], checkpoint)
    x, y = load_data(data_path).tensors("train")
    n_params = num_parameters(net)
    chosen = choose_method(method, n_params, hessian["memory_budget_gb"], 3 if decompose else 1)
    if decompose and chosen != "exact":
        raise ValueError("the G/R split needs the exact method; raise hessian.memory_budget_gb")
    options = dict(batch_size=hessian["batch_size"], engine=hessian["engine"],
                   memory_budget_gb=hessian["memory_budget_gb"], device=resolve_device(device))
    start = time.perf_counter()
    metadata = {"run": run, "checkpoint": str(checkpoint), "num_params": n_params, "method": chosen}
    if chosen == "exact":
        values = _exact_spectra(net, x, y, {**options, "chunk_size": hessian["chunk_size"],
                                            "show_progress": True}, decompose)
        ascending = values["hessian"]
        values["largest"], values["smallest"] = ascending[::-1].copy(), ascending.copy()
        top = values["largest"]
    else:
        edges = hessian_edges(net, x, y, k=edge["k"], tol=edge["tol"], max_products=edge["max_products"],
                              batch_size=options["batch_size"], device=options["device"])
        values = {"largest": edges.largest, "smallest": edges.smallest}
        metadata["lanczos"] = {"converged": edges.converged, "n_products": edges.n_products,
                               "max_residual": float(np.max(edges.residual_norms))}
        top = edges.largest
    counts = count_outliers(top, **run["outliers"])
    metadata["outliers"] = counts.as_dict()
    metadata["seconds"] = time.perf_counter() - start
    save_npz(out, metadata=metadata, **values)
    log.info("%s: M=%d, %s, %s; %.1f s", run["run"], n_params, chosen, counts, metadata["seconds"])
