"""What sets Family C's scale: the spectrum's edges along training, for each batch size and step size.

The paper gives neither Family C's step size nor its number of steps ("a learning rate for
which both algorithms converge", "the same number of iterations"), and its Fig. 7 claim
(the large batch ends sharper, with as many outliers as classes) is about the end point of
that unstated schedule. This step measures how the claim's quantities move with both: at
about ``points`` log-spaced checkpoints of one run (saved by training anyway, so nothing is
retrained) it stores the ``k`` largest and ``k`` smallest eigenvalues of H by Lanczos
(``spectra.edges.hessian_edges``: the paper's convnet has M = 31,770, whose dense Hessian costs
20 minutes per checkpoint here), and the train and test loss and accuracy there. The table
and figure (``outputs.batch_ablation``) set the runs of ``config.specs.batch_ablation_cells``
side by side.

A run's checkpoints are measured one after another and each finished one is kept in
``<out>.partial.npz``, so that an interrupted job resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from ..base.io import load_npz, save_npz
from ..base.progress import progress
from ..base.seeding import resolve_device
from ..config.sizes import parameter_count
from ..data.split import load_split
from ..spectra.edges import hessian_edges
from ..training.models import build_model
from ..training.train import evaluate
from .along_training import checkpoint_steps, select_checkpoints

log = logging.getLogger(__name__)

#: per-checkpoint arrays of the step's file, besides ``steps``
ROW_KEYS = ("largest", "smallest", "residual_max", "converged", "n_products", "train_loss", "train_accuracy",
            "test_loss", "test_accuracy")


def _measure(net: torch.nn.Module, data: dict, edges: dict, execution: dict, device: torch.device) -> dict:
    """One checkpoint: the Lanczos edges of H on the training set and the four metrics."""
    x, y = data["train"]
    found = hessian_edges(net, x, y, k=edges["k"], tol=edges["tol"], max_products=edges["max_products"],
                          seed=edges["seed"], batch_size=execution["batch_size"], device=device)
    train_loss, train_accuracy = evaluate(net, x, y)
    test_loss, test_accuracy = evaluate(net, *data["test"])
    return {"largest": found.largest, "smallest": found.smallest,
            "residual_max": float(np.max(found.residual_norms)), "converged": found.converged,
            "n_products": found.n_products, "train_loss": train_loss, "train_accuracy": train_accuracy,
            "test_loss": test_loss, "test_accuracy": test_accuracy}


def _lanczos_settings(edges: dict) -> str:
    """What a checkpoint's measurement depends on besides the checkpoint: everything in
    ``edges`` but the number of points (a job rerun with other ``points`` keeps the
    checkpoints it measured that the new selection still holds)."""
    return json.dumps({key: value for key, value in edges.items() if key != "points"}, sort_keys=True)


def _resumed(partial: Path, settings: str) -> dict[int, dict]:
    """The checkpoints an interrupted job finished with the same settings (none otherwise)."""
    if not partial.is_file():
        return {}
    arrays, metadata = load_npz(partial)
    if metadata.get("settings") != settings:
        return {}
    return {int(step): {key: arrays[key][i] for key in ROW_KEYS} for i, step in enumerate(arrays["steps"])}


def _save(path: Path, rows: dict[int, dict], metadata: dict) -> None:
    steps = sorted(rows)
    save_npz(path, metadata=metadata, steps=np.array(steps, dtype=np.int64),
             **{key: np.array([rows[step][key] for step in steps]) for key in ROW_KEYS})


def edges_along_training(cell: dict, model: dict, edges: dict, data_path: str | Path, run_dir: str | Path,
                         out: str | Path, *, execution: dict) -> None:
    """Write ``out`` (.npz) for one ablation cell (``lr``, ``batch_size``, ``run``): at each
    of about ``edges["points"]`` checkpoints of the run in ``run_dir``, ascending ``steps``,
    the ``largest`` (descending) and ``smallest`` (ascending) ``edges["k"]`` eigenvalues of
    H, Lanczos's largest residual norm, ``converged`` and ``n_products``, and the train and
    test loss and accuracy. ``edges``: ``points``, ``k``, ``tol``, ``max_products``, ``seed``
    (the start vector's); ``execution`` as for ``pipeline.runs.spectrum`` (device, batch_size)."""
    out, partial = Path(out), Path(f"{out}.partial.npz")
    device = resolve_device(execution["device"])
    split = load_split(data_path)
    data = {part: split.tensors(part) for part in ("train", "test")}
    steps = select_checkpoints(checkpoint_steps(run_dir), edges["points"])
    metadata = {**{key: cell[key] for key in ("run", "lr", "batch_size")}, "num_params": parameter_count(model),
                "k": edges["k"], "settings": _lanczos_settings(edges)}
    rows = {step: row for step, row in _resumed(partial, metadata["settings"]).items() if step in steps}
    if rows:
        log.info("%s: resuming, %d of %d checkpoints measured already", cell["run"], len(rows), len(steps))
    net = build_model(model)
    start = time.perf_counter()
    for step in progress([s for s in steps if s not in rows], desc=f"edges along training {cell['run']}"):
        state = torch.load(Path(run_dir) / "checkpoints" / f"step_{step:08d}.pt", map_location="cpu",
                           weights_only=True)
        net.load_state_dict(state["model"])
        rows[step] = _measure(net, data, edges, execution, device)
        _save(partial, rows, metadata)
    metadata["seconds"] = time.perf_counter() - start
    _save(out, rows, metadata)
    partial.unlink(missing_ok=True)
    log.info("%s: %d checkpoints (steps %s), %.1f s", cell["run"], len(steps), steps, metadata["seconds"])
