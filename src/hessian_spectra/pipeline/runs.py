"""Workflow steps shared by every family: train one run, then the Hessian spectrum of a
checkpoint.

A *run* is a dict of sections (``config.family_runs``); the workflow passes each step
only the sections it depends on, so a change reruns exactly what it affects. How a step
executes (device, Hessian engine, batch and chunk sizes) is an execution setting: it
reaches the step beside the sections and never changes a result (the tests check that).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import numpy as np
import torch

from ..base.io import save_npz
from ..base.seeding import resolve_device
from ..config.sizes import parameter_count
from ..data.split import load_split
from ..hessian.dense import eigenvalues, exact_hessian, hessian_split
from ..hessian.range import range_eigenvalues
from ..spectra.density import hessian_density
from ..spectra.edges import hessian_edges
from ..training.models import build_model, load_model
from ..training.train import NonFiniteError, TrainSettings, train

log = logging.getLogger(__name__)


#: the config field that sets a family's step size (named when its training diverges)
STEP_SIZE_FIELDS = {"clusters": "clusters.lr", "fidelity": "clusters.lr", "width": "width.lr", "batch": "batch.lr",
                    "switch": "switch.lr"}


def state_digest(state: dict) -> str:
    """SHA-256 of a state dict's tensor names, dtypes, shapes and values: which weights a
    run started from, for its checkpoints' fingerprint."""
    digest = hashlib.sha256()
    for name, tensor in state.items():
        values = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{values.dtype}:{tuple(values.shape)};".encode())
        digest.update(values.numpy().tobytes())
    return digest.hexdigest()


def train_run(run: dict, data_path: str | Path, run_dir: str | Path, device: str = "auto", *,
              family: str = "clusters", start: str | Path | None = None) -> None:
    """Train one run of ``family`` into ``run_dir`` (init.pt, final.pt, metrics.csv,
    checkpoints/), from the seeded initialisation or, given ``start``, from the weights of
    that checkpoint (Family D's Part II from Part I's final.pt; its checkpoints remember
    which weights, so a changed start never resumes an old run). A non-finite loss or
    gradient stops it with the step and the config field to change (the family's step
    size), before anything final is written."""
    net = build_model(run["model"])
    fingerprint = {"data": run["data"], "model": run["model"]}
    if start is not None:
        state = torch.load(start, map_location="cpu", weights_only=True)["model"]
        net.load_state_dict(state)
        fingerprint["start"] = state_digest(state)
    try:
        result = train(net, load_split(data_path), TrainSettings(**run["train"]), run_dir,
                       device=resolve_device(device), fingerprint=fingerprint)
    except NonFiniteError as error:
        raise NonFiniteError(f"{run['run']}: {error} (config field '{STEP_SIZE_FIELDS[family]}')") from error
    log.info("%s: %s", run["run"], result)


def _exact_spectra(net, x, y, options: dict, decompose: bool) -> dict[str, np.ndarray]:
    if decompose:
        split = hessian_split(net, x, y, **options)
        matrices = {"hessian": split.hessian, "gauss_newton": split.gauss_newton, "residual": split.residual}
        del split
    else:
        matrices = {"hessian": exact_hessian(net, x, y, **options)}
    return {name: eigenvalues(matrices.pop(name)) for name in list(matrices)}


def spectrum(run: str, model: dict, spectrum: dict, data_path: str | Path, checkpoint: str | Path,
             out: str | Path, *, execution: dict) -> None:
    """Hessian eigenvalues of a run's ``model`` at a checkpoint, on the training data, as .npz.

    ``spectrum`` is the run's spectrum section: ``method`` exact | range | lanczos, ``decompose``
    (also G and R), ``lanczos`` (k, tol, max_products, seed), ``slq`` (probes, steps,
    seed; optional). Arrays: ``largest`` (descending) and ``smallest`` (ascending),
    ``lanczos["k"]`` of each (all of them with the exact and range methods); with those
    also ``hessian`` (every eigenvalue, ascending) and, when ``decompose``,
    ``gauss_newton`` and ``residual``; with Lanczos and ``slq`` also the density's
    ``slq_nodes`` and ``slq_weights`` (``density.SLQDensity``).
    ``execution``: device, engine, batch_size, chunk_size, memory_budget_gb."""
    net = load_model(model, checkpoint)
    x, y = load_split(data_path).tensors("train")
    device = resolve_device(execution["device"])
    start = time.perf_counter()
    metadata = {"run": run, "num_params": parameter_count(model), "method": spectrum["method"]}
    if spectrum["method"] == "exact":
        options = dict(batch_size=execution["batch_size"], engine=execution["engine"],
                       chunk_size=execution["chunk_size"], memory_budget_gb=execution["memory_budget_gb"],
                       device=device, show_progress=True)
        values = _exact_spectra(net, x, y, options, spectrum["decompose"])
    elif spectrum["method"] == "range":  # every eigenvalue without the dense matrix
        ascending, facts = range_eigenvalues(net, x, y, batch_size=execution["batch_size"], device=device,
                                             memory_budget_gb=execution["memory_budget_gb"], show_progress=True)
        values = {"hessian": ascending}
        metadata["range"] = facts
    else:
        edge = spectrum["lanczos"]
        edges = hessian_edges(net, x, y, k=edge["k"], tol=edge["tol"], max_products=edge["max_products"],
                              seed=edge["seed"], batch_size=execution["batch_size"], device=device)
        values = {"largest": edges.largest, "smallest": edges.smallest}
        metadata["lanczos"] = {"converged": edges.converged, "n_products": edges.n_products,
                               "max_residual": float(np.max(edges.residual_norms))}
        if spectrum.get("slq"):
            slq = spectrum["slq"]
            density = hessian_density(net, x, y, probes=slq["probes"], steps=slq["steps"], seed=slq["seed"],
                                      batch_size=execution["batch_size"], device=device)
            values.update(density.arrays())
            metadata["slq"] = {key: slq[key] for key in ("probes", "steps")}
    if "hessian" in values:
        ascending = values["hessian"]
        values["largest"], values["smallest"] = ascending[::-1].copy(), ascending.copy()
    metadata["seconds"] = time.perf_counter() - start
    save_npz(out, metadata=metadata, **values)
    log.info("%s: M=%d, %s; %.1f s", run, metadata["num_params"], spectrum["method"], metadata["seconds"])
