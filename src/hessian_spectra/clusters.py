"""Family A steps (Gaussian clusters): data, training, spectra, PCA.

Each function is one workflow step with file inputs and outputs; the Snakemake rules
call them through thin scripts. ``run`` is the dict of ``config.cluster_run``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

from .data import Split, gaussian_clusters
from .hessian import hessian_split, exact_hessian
from .io import load_npz, save_npz, save_text
from .models import mlp
from .seeding import resolve_device, seed_everything
from .spectrum import count_outliers, eigenvalues
from .train import TrainSettings, train

log = logging.getLogger(__name__)


def make_data(*, k: int, cov: float, n_train: int, n_test: int, n_features: int, seed: int,
              out: str | Path) -> None:
    split = gaussian_clusters(k=k, cov=cov, n_train=n_train, n_test=n_test,
                              n_features=n_features, seed=seed)
    save_npz(out, metadata={"k": k, "cov": cov, "seed": seed}, **split.arrays())


def load_data(path: str | Path) -> Split:
    arrays, metadata = load_npz(path)
    return Split.from_arrays(arrays, n_classes=metadata["k"])


def build_model(run: dict) -> torch.nn.Sequential:
    """The 100-30-30-k net of the run, initialised from the run's seed."""
    seed_everything(run["seed"])
    return mlp(run["n_features"], run["hidden"], run["k"], run["activation"])


def train_run(run: dict, data_path: str | Path, run_dir: str | Path, device: str = "auto") -> None:
    """Train one run into ``run_dir`` (init.pt, final.pt, metrics.csv, checkpoints/)."""
    model = build_model(run)
    settings = TrainSettings(algorithm=run["algorithm"], lr=run["lr"], max_steps=run["max_steps"],
                             grad_tol=run["grad_tol"], batch_size=run["batch_size"],
                             eval_every=run["eval_every"], checkpoint_every=run["checkpoint_every"],
                             seed=run["seed"])
    fingerprint = {key: run[key] for key in ("k", "cov", "activation", "n_features", "hidden", "n_train")}
    result = train(model, load_data(data_path), settings, run_dir, device=resolve_device(device),
                   fingerprint=fingerprint)
    log.info("%s: %s", run["run"], result)


def load_model(run: dict, checkpoint: str | Path) -> torch.nn.Sequential:
    model = mlp(run["n_features"], run["hidden"], run["k"], run["activation"])
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    return model


def spectrum(run: dict, data_path: str | Path, checkpoint: str | Path, out: str | Path, *,
             hessian: dict, decompose: bool, device: str = "auto") -> None:
    """Eigenvalues of H (and of G and R = H - G when ``decompose``) at a checkpoint, with the
    outlier counts of H, saved as .npz (arrays ``hessian``[, ``gauss_newton``, ``residual``])."""
    model = load_model(run, checkpoint)
    x, y = load_data(data_path).tensors("train")
    options = dict(batch_size=hessian["batch_size"], chunk_size=hessian["chunk_size"],
                   engine=hessian["engine"], memory_budget_gb=hessian["memory_budget_gb"],
                   device=resolve_device(device), show_progress=True)
    start = time.perf_counter()
    if decompose:
        split = hessian_split(model, x, y, **options)
        matrices = {"hessian": split.hessian, "gauss_newton": split.gauss_newton}
        matrices["residual"] = split.residual
        del split
    else:
        matrices = {"hessian": exact_hessian(model, x, y, **options)}
    assembled = time.perf_counter() - start
    values = {}
    for name in list(matrices):
        values[name] = eigenvalues(matrices.pop(name))
    counts = count_outliers(values["hessian"], window=run["window"], threshold=run["cutoff"])
    metadata = {"run": run, "checkpoint": str(checkpoint), "num_params": int(len(values["hessian"])),
                "outliers": counts.as_dict(), "assembly_seconds": assembled,
                "eigvalsh_seconds": time.perf_counter() - start - assembled}
    save_npz(out, metadata=metadata, **values)
    log.info("%s: M=%d, outliers %s, %.1f s", run["run"], len(values["hessian"]), counts, time.perf_counter() - start)


def pca_explained_variance(data_paths: dict[int, str | Path], out: str | Path) -> None:
    """Explained-variance ratio of every principal component of the training inputs per k, as CSV."""
    lines = ["k,component,explained_variance_ratio"]
    for k, path in sorted(data_paths.items()):
        ratios = PCA().fit(load_data(path).x_train).explained_variance_ratio_
        lines += [f"{k},{i + 1},{r:.10g}" for i, r in enumerate(ratios)]
    save_text(out, "\n".join(lines) + "\n")
