"""Spectra along training: the exact Hessian of one run at log-spaced checkpoints.

Training already saves checkpoints at ``log_checkpoints`` steps per decade (``train``), so
this step only reads them: it picks about ``points`` of them, log-spaced from the initial
point to the end, and stores at each the whole spectrum of H, the train loss and (with
``split``) max |eig R| / max eig H, where R = H - G is the part of H that the Gauss-Newton
matrix G leaves out. Fig. 11 and the negative-fraction study read the one ``.npz`` it
writes (``spectrum.load_along_training``) and count outliers there, so that a counting
setting never recomputes a Hessian.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import numpy as np
import torch
from scipy.sparse.linalg import eigsh
from torch import nn

from ..base.io import save_npz
from ..base.progress import progress
from ..base.seeding import resolve_device
from ..data.split import load_split
from ..hessian.dense import eigenvalues, exact_hessian, hessian_split
from ..training.models import build_model

log = logging.getLogger(__name__)
_STEP = re.compile(r"step_(\d+)\.pt$")


def checkpoint_steps(run_dir: str | Path) -> list[int]:
    """The steps of the checkpoints a training run saved, ascending."""
    paths = (Path(run_dir) / "checkpoints").glob("step_*.pt")
    return sorted(int(_STEP.search(path.name).group(1)) for path in paths)


def select_checkpoints(steps: list[int], points: int) -> list[int]:
    """About ``points`` of ``steps``, log-spaced: always the first and the last, and for each
    of ``points - 2`` targets spaced evenly in log(1 + step) between them, the nearest step
    not taken yet (fewer when ``steps`` has fewer)."""
    steps = sorted(set(steps))
    if points < 2:
        raise ValueError(f"points must be >= 2, got {points}")
    if len(steps) <= points:
        return steps
    first, last = steps[0], steps[-1]
    chosen = {first, last}
    position = np.log1p(np.array(steps, dtype=np.float64))
    for target in np.linspace(np.log1p(first), np.log1p(last), points)[1:-1]:
        free = [i for i in np.argsort(np.abs(position - target), kind="stable") if steps[i] not in chosen]
        chosen.add(steps[free[0]])
    return sorted(chosen)


def residual_ratio(residual: torch.Tensor, hessian_values: np.ndarray) -> float:
    """max |eig R| / max eig H (``hessian_values`` ascending): how much of H the Gauss-Newton
    part misses at its top. The largest |eigenvalue| of R comes from ARPACK (``eigsh``, a
    few dense products) rather than a second full eigensolve."""
    matrix = residual.cpu().numpy()
    top = eigsh(matrix, k=1, which="LM", v0=np.ones(len(matrix)), return_eigenvectors=False)
    return float(np.abs(top[0]) / hessian_values[-1])


def _loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return nn.functional.cross_entropy(net(x), y).item()


def spectra_along_training(run: str, model: dict, along: dict, data_path: str | Path,
                           run_dir: str | Path, out: str | Path, *, execution: dict) -> None:
    """Write ``out`` (.npz): at each selected checkpoint of the run in ``run_dir``, ``steps``,
    ``train_loss``, ``hessian`` (all M eigenvalues, ascending; one row per checkpoint) and
    ``residual_ratio`` (NaN unless ``along["split"]``).

    ``along``: ``points`` (checkpoints to use) and ``split`` (also G and R); ``execution``
    as for ``runs.spectrum``."""
    device = resolve_device(execution["device"])
    options = dict(batch_size=execution["batch_size"], engine=execution["engine"], chunk_size=execution["chunk_size"],
                   memory_budget_gb=execution["memory_budget_gb"], device=device)
    x, y = load_split(data_path).tensors("train")
    steps = select_checkpoints(checkpoint_steps(run_dir), along["points"])
    net = build_model(model)
    rows: dict[str, list] = {"train_loss": [], "hessian": [], "residual_ratio": []}
    start = time.perf_counter()
    for step in progress(steps, desc=f"along training {run}"):
        state = torch.load(Path(run_dir) / "checkpoints" / f"step_{step:08d}.pt", map_location="cpu",
                           weights_only=True)
        net.load_state_dict(state["model"])
        if along["split"]:
            split = hessian_split(net, x, y, **options)
            values = eigenvalues(split.hessian)
            ratio = residual_ratio(split.residual, values)
            del split
        else:
            values, ratio = eigenvalues(exact_hessian(net, x, y, **options)), float("nan")
        rows["train_loss"].append(_loss(net, x, y))
        rows["hessian"].append(values)
        rows["residual_ratio"].append(ratio)
    metadata = {"run": run, "num_params": len(rows["hessian"][0]), "k": model["out_features"],
                "seconds": time.perf_counter() - start}
    save_npz(out, metadata=metadata, steps=np.array(steps), **{key: np.array(value) for key, value in rows.items()})
    log.info("%s: %d checkpoints (steps %s), %.1f s", run, len(steps), steps, metadata["seconds"])

