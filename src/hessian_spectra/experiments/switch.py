"""Family D (Sagun et al., section 4.1, "Are they really different basins?"): the straight
line between the end of Part I (large batch) and the end of Part II (small batch, started
from Part I's end point), w(a) = w_I + a (w_II - w_I), and the loss and accuracy along it.

The grid is exact where it matters: a = 0 and a = 1 are grid points, and the weights there
are exactly w_I and w_II (``torch.lerp`` computes ``end - (end - start) (1 - a)`` for
a >= 1/2), so the metrics at both ends reproduce the end-of-part records bit for bit when
they are evaluated the same way (``train.evaluate``, same chunking, device and threads).
Torch is imported where it is used: the workflow checks the grid at parse time.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..base.io import load_npz, save_npz
from ..base.progress import progress

log = logging.getLogger(__name__)
#: what ``interpolate`` records at each grid point
INTERPOLATION_FIELDS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def interpolate_state(start: dict, end: dict, a: float) -> dict:
    """The state dict at w(a) = start + a (end - start): every floating-point tensor,
    parameters and buffers alike, by ``torch.lerp`` (exact at a = 0 and a = 1); any other
    tensor (e.g. a step counter) must agree at both ends and is kept."""
    import torch

    if start.keys() != end.keys():
        raise ValueError(f"the two states hold different tensors: {sorted(start.keys() ^ end.keys())}")
    state = {}
    for name, first in start.items():
        last = end[name]
        if first.is_floating_point():
            state[name] = torch.lerp(first, last, torch.tensor(a, dtype=first.dtype, device=first.device))
        elif torch.equal(first, last):
            state[name] = first
        else:
            raise ValueError(f"{name}: a non-floating tensor that differs between the two ends cannot be interpolated")
    return state


def interpolate(model_section: dict, data_path: str | Path, start: str | Path, end: str | Path, grid: np.ndarray,
                out: str | Path, *, eval_batch_size: int, device: str = "auto") -> None:
    """Train and test loss and accuracy of the net ``model_section`` describes at each w(a)
    of ``grid`` between the weights of the checkpoints ``start`` and ``end``, as .npz:
    ``a`` and ``INTERPOLATION_FIELDS`` (float64)."""
    import torch

    from ..base.seeding import resolve_device
    from ..data.split import load_split
    from ..training.models import build_model
    from ..training.train import evaluate

    target = resolve_device(device)
    net = build_model(model_section).to(target)
    first, last = (torch.load(path, map_location=target, weights_only=True)["model"] for path in (start, end))
    split = load_split(data_path)
    parts = {part: tuple(t.to(target) for t in split.tensors(part)) for part in ("train", "test")}
    values = {field: np.empty(len(grid)) for field in INTERPOLATION_FIELDS}
    for i, a in enumerate(progress(grid, desc="interpolate")):
        net.load_state_dict(interpolate_state(first, last, float(a)))
        for part, (x, y) in parts.items():
            values[f"{part}_loss"][i], values[f"{part}_accuracy"][i] = evaluate(net, x, y, eval_batch_size)
    save_npz(out, metadata={"start": str(start), "end": str(end)}, a=np.asarray(grid, dtype=float), **values)
    log.info("interpolated at %d points: train loss %s", len(grid), np.array2string(values["train_loss"], precision=3))


def switch_curves(metrics_paths: list[str | Path]) -> pd.DataFrame:
    """Both parts' metrics (``metrics.csv`` of part1, part2, in order) as one table with
    ``part`` (1, 2), ``step`` within the part and ``total_step`` across both (Part II's
    step 0 is Part I's last step: the same weights)."""
    frames, offset = [], 0
    for part, path in enumerate(metrics_paths, start=1):
        frame = pd.read_csv(path)
        frames.append(frame.assign(part=part, total_step=frame["step"] + offset))
        offset += int(frame["step"].iloc[-1])
    return pd.concat(frames, ignore_index=True)


def load_interpolation(path: str | Path) -> pd.DataFrame:
    """The ``interpolate`` file as a table: ``a`` and ``INTERPOLATION_FIELDS``."""
    arrays, _ = load_npz(path)
    return pd.DataFrame({key: arrays[key] for key in ("a", *INTERPOLATION_FIELDS)})
