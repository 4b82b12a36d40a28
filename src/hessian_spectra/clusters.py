"""Family A steps (Gaussian clusters): data, training, spectra, PCA.

Each function is one workflow step with file inputs and outputs; the Snakemake rules
call them through thin scripts. ``run`` is a dict from ``config.cluster_run``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from .data import Split, gaussian_clusters
from .hessian import exact_hessian, hessian_split
from .io import load_npz, save_npz, save_text
from .models import mlp
from .seeding import resolve_device, seed_everything
from .spectrum import count_outliers, eigenvalues
from .train import TrainSettings, train

log = logging.getLogger(__name__)


def make_data(data: dict, out: str | Path) -> None:
    """The run's clusters (``data`` section of a run) as .npz."""
    split = gaussian_clusters(**data)
    save_npz(out, metadata=data, **split.arrays())


def load_data(path: str | Path) -> Split:
    arrays, metadata = load_npz(path)
    return Split.from_arrays(arrays, n_classes=metadata["k"])


def build_model(model: dict) -> torch.nn.Sequential:
    """The run's net (``model`` section), initialised from its seed."""
    seed_everything(model["seed"])
    return mlp(model["in_features"], model["hidden"], model["out_features"], model["activation"])


def train_run(run: dict, data_path: str | Path, run_dir: str | Path, device: str = "auto") -> None:
    """Train one run into ``run_dir`` (init.pt, final.pt, metrics.csv, checkpoints/)."""
    model = build_model(run["model"])
    result = train(model, load_data(data_path), TrainSettings(**run["train"]), run_dir,
                   device=resolve_device(device), fingerprint={"data": run["data"], "model": run["model"]})
    log.info("%s: %s", run["run"], result)


def load_model(run: dict, checkpoint: str | Path) -> torch.nn.Sequential:
    model = build_model(run["model"])
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
        matrices = {"hessian": split.hessian, "gauss_newton": split.gauss_newton,
                    "residual": split.residual}
        del split
    else:
        matrices = {"hessian": exact_hessian(model, x, y, **options)}
    assembled = time.perf_counter() - start
    values = {name: eigenvalues(matrices.pop(name)) for name in list(matrices)}
    counts = count_outliers(values["hessian"], **run["outliers"])
    metadata = {"run": run, "checkpoint": str(checkpoint), "num_params": int(len(values["hessian"])),
                "outliers": counts.as_dict()}
    save_npz(out, metadata=metadata, **values)
    log.info("%s: M=%d, %s; assembly %.1f s, eigenvalues %.1f s", run["run"], len(values["hessian"]),
             counts, assembled, time.perf_counter() - start - assembled)


def pca_explained_variance(data_paths: dict[int, str | Path], out: str | Path) -> None:
    """Explained-variance ratio of every principal component of the training inputs per k, as CSV."""
    from sklearn.decomposition import PCA  # slow import, only this step needs it

    lines = ["k,component,explained_variance_ratio"]
    for k, path in sorted(data_paths.items()):
        ratios = PCA().fit(load_data(path).x_train).explained_variance_ratio_
        lines += [f"{k},{i + 1},{r:.10g}" for i, r in enumerate(ratios)]
    save_text(out, "\n".join(lines) + "\n")
