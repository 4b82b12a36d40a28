"""What a spectrum says: its negative part above round-off, and the four outlier counts of Table 1.

The paper never published its counting code; the definitions below are ours and are
what the table reports. All four look at the eigenvalues sorted in descending order,
lambda_1 >= lambda_2 >= ..., and return "how many eigenvalues lie above the split".
The gap, ratio and elbow methods only search the top ``window`` eigenvalues (the top of
the spectrum that Fig. 3 shows), because the bulk near zero has gaps and ratios of its
own that say nothing about outliers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import json
from pathlib import Path

import numpy as np

from ..base.io import load_npz, save_text

#: the four counting methods, in the order tables list them
COUNT_METHODS = ("gap", "ratio", "elbow", "cutoff")


def numerical_zero(values: np.ndarray) -> float:
    """The size below which an eigenvalue of a dense float64 eigensolve is indistinguishable
    from zero: M * eps * max |lambda| (the usual numerical-rank tolerance)."""
    values = np.asarray(values, dtype=np.float64)
    return numerical_zero_of(len(values), float(np.abs(values).max(initial=0.0)))


def numerical_zero_of(size: int, scale: float) -> float:
    """``numerical_zero`` of a spectrum known by its size M and max |lambda| only (Lanczos
    edges and an SLQ density)."""
    return size * np.finfo(np.float64).eps * scale


def negative_part(values: np.ndarray, relative_tolerance: float | None = None) -> np.ndarray:
    """The eigenvalues below -tau, ascending (most negative first). tau is the round-off
    level ``numerical_zero`` by default (the round-off of the many zero eigenvalues of a
    singular Hessian does not count), or ``relative_tolerance`` * max |lambda|."""
    values = np.asarray(values, dtype=np.float64)
    if relative_tolerance is None:
        tau = numerical_zero(values)
    else:
        tau = relative_tolerance * float(np.abs(values).max(initial=0.0))
    return np.sort(values[values < -tau])


def _top(values: np.ndarray, window: int) -> np.ndarray:
    if window < 2:
        raise ValueError(f"outliers.window must be >= 2, got {window}")
    return np.sort(np.asarray(values, dtype=np.float64))[::-1][:window]


def count_by_gap(values: np.ndarray, window: int) -> int:
    """Gap method: with d_i = lambda_i - lambda_{i+1} for i = 1..W-1 over the top W = ``window``
    eigenvalues, the count is the i of the largest d_i (the first one on ties): the number
    of eigenvalues above the largest gap. 0 when the window holds no gap (all equal)."""
    top = _top(values, window)
    if len(top) < 2:
        return 0
    gaps = top[:-1] - top[1:]
    return int(np.argmax(gaps) + 1) if gaps.max() > 0 else 0


def count_by_ratio(values: np.ndarray, window: int) -> int:
    """Ratio method: over the positive eigenvalues among the top W, r_i = lambda_i / lambda_{i+1};
    the count is the i of the largest r_i (first on ties). 0 with fewer than two positive
    eigenvalues or when all ratios are 1."""
    top = _top(values, window)
    top = top[top > 0]
    if len(top) < 2:
        return 0
    ratios = top[:-1] / top[1:]
    return int(np.argmax(ratios) + 1) if ratios.max() > 1 else 0


def count_by_elbow(values: np.ndarray, window: int) -> int | None:
    """Elbow (scree-plot heuristic): the knee of the curve (rank, lambda_rank), rank = 1..W,
    found by ``kneed.KneeLocator`` (Satopaa et al. 2011; convex, decreasing, no online
    refinement). The knee is the first eigenvalue of the flat part, so the count is its
    rank minus one. None when kneed finds no knee (e.g. a straight or flat curve)."""
    top = _top(values, window)
    if len(top) < 3 or top[0] == top[-1]:
        return None
    from kneed import KneeLocator  # imported here: it pulls in scipy.signal and matplotlib (slow)

    ranks = np.arange(1, len(top) + 1)
    knee = KneeLocator(ranks, top, curve="convex", direction="decreasing").knee
    return None if knee is None else int(knee) - 1


def count_by_cutoff(values: np.ndarray, threshold: float) -> int:
    """Cutoff method: the number of eigenvalues strictly above ``threshold`` (whole spectrum)."""
    return int(np.sum(np.asarray(values) > threshold))


@dataclass(frozen=True)
class OutlierCounts:
    """Outlier counts of one spectrum by the four methods (see the module docstring)."""

    gap: int
    ratio: int
    elbow: int | None
    cutoff: int
    window: int
    threshold: float

    def as_dict(self) -> dict:
        return asdict(self)


def count_outliers(values: np.ndarray, *, window: int, threshold: float) -> OutlierCounts:
    """All four counts of one spectrum."""
    return OutlierCounts(
        gap=count_by_gap(values, window),
        ratio=count_by_ratio(values, window),
        elbow=count_by_elbow(values, window),
        cutoff=count_by_cutoff(values, threshold),
        window=window,
        threshold=threshold,
    )


def count_spectrum_file(spectrum_path: str | Path, out: str | Path, *, window: int, threshold: float) -> None:
    """The counts of a spectrum file's largest eigenvalues (all of them for the exact
    method, the Lanczos top edge otherwise) as JSON: the workflow's counting step."""
    arrays, _ = load_npz(spectrum_path)
    counts = count_outliers(arrays["largest"], window=window, threshold=threshold)
    save_text(out, json.dumps(counts.as_dict(), sort_keys=True, indent=1) + "\n")


def load_counts(path: str | Path) -> dict:
    """The counts a counting step wrote (``count_spectrum_file``)."""
    return json.loads(Path(path).read_text())


def negative_fraction(values: np.ndarray, relative_tolerance: float | None = None) -> float:
    """The fraction of eigenvalues that ``negative_part`` (with the same numerical-zero
    rule) counts as negative."""
    return len(negative_part(values, relative_tolerance)) / len(values)


def load_along_training(path: str | Path, outliers: dict | None = None) -> dict:
    """A file of ``along_training.spectra_along_training`` as one dict: its arrays (steps,
    train_loss, hessian, residual_ratio), its metadata (run, num_params, k),
    ``negative_fraction`` per checkpoint (round-off rule) and, given the run's ``outliers``
    settings (window, threshold), ``counts``: one ``OutlierCounts`` per checkpoint."""
    arrays, metadata = load_npz(path)
    along = {**metadata, **arrays,
             "negative_fraction": np.array([negative_fraction(values) for values in arrays["hessian"]])}
    if outliers is not None:
        along["counts"] = [count_outliers(values, **outliers) for values in arrays["hessian"]]
    return along
