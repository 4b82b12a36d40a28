"""The workflow's plotting step: cached result files in, one figure (PDF and PNG) out.

Each entry of ``PLOTS`` reads the files of one kind of figure and draws it with
``plots``; the figure rules differ only in their inputs, this name and its options
(``workflow/scripts/figure.py`` calls ``draw``).
"""

from __future__ import annotations

import csv
from typing import Callable

import numpy as np

from ..base.io import load_npz
from ..experiments.switch import load_interpolation, switch_curves
from ..spectra.counts import COUNT_METHODS, load_along_training, negative_fraction
from ..spectra.density import SLQDensity, edges_numerical_zero
from ..spectra.random_matrix import bbp_outlier
from . import plots

STAGES = ("initial point", "end of training")


def _arrays(paths: list[str]) -> list[dict[str, np.ndarray]]:
    return [load_npz(path)[0] for path in paths]


def full_spectrum(paths: list[str], *, title: str) -> plots.plt.Figure:
    """Fig. 1: ``paths`` = the spectra at the initial point and at the end of training."""
    init, final = (arrays["hessian"] for arrays in _arrays(paths))
    return plots.full_spectrum(init, final, title)


def gauss_newton_split(paths: list[str], *, title: str) -> plots.plt.Figure:
    """Fig. 1b: ``paths`` = the decomposed spectra at the initial point and at the end."""
    return plots.gauss_newton_split(dict(zip(STAGES, _arrays(paths))), title)


def explained_variance(paths: list[str], *, top: int, title: str) -> plots.plt.Figure:
    """Fig. 2: ``paths`` = the one PCA table (k, component, explained_variance_ratio)."""
    explained: dict[int, list[float]] = {}
    with open(paths[0]) as handle:
        for row in csv.DictReader(handle):
            explained.setdefault(int(row["k"]), []).append(float(row["explained_variance_ratio"]))
    return plots.explained_variance({k: np.array(v) for k, v in explained.items()}, top, title)


def top_eigenvalues_by_k(paths: list[str], *, k: list[int], thresholds: list[float], top: int,
                         title: str) -> plots.plt.Figure:
    """Fig. 3: one spectrum per number of classes ``k``, with the cutoff method's thresholds."""
    values = {n: arrays["hessian"] for n, arrays in zip(k, _arrays(paths))}
    return plots.top_eigenvalues_by_k(values, dict(zip(k, thresholds)), top, title)


def top_eigenvalues(paths: list[str], *, labels: list[str], top: int, title: str) -> plots.plt.Figure:
    """Fig. 4 and 7: the largest eigenvalues of each run, labelled."""
    return plots.top_eigenvalues({label: a["largest"] for label, a in zip(labels, _arrays(paths))}, top, title)


def _estimated_negative_part(arrays: dict[str, np.ndarray], size: int, points: int = 200) -> dict:
    """The SLQ estimate of the negative part of a Lanczos spectrum: eigenvalue t (from the
    lowest node to the numerical zero) against the estimated count of eigenvalues <= t,
    and the estimated number below the numerical zero with its interval."""
    density, tau = SLQDensity.from_arrays(arrays, size), edges_numerical_zero(arrays, size)
    lowest = float(density.nodes.min())
    grid = np.linspace(lowest, -tau, points) if lowest < -tau else np.array([])
    return {"eigenvalue": grid, "count": density.cumulative(grid), "negative": density.count_below(-tau)}


def negative_eigenvalues(paths: list[str], *, labels: list[str], by: str, title: str) -> plots.plt.Figure:
    """Fig. 5, 6 and 8: the negative eigenvalues of each run by count or by fraction of M;
    where only the Lanczos edges are known, with the SLQ estimate of the whole negative part."""
    spectra = {}
    for label, path in zip(labels, paths):
        arrays, meta = load_npz(path)
        estimated = _estimated_negative_part(arrays, meta["num_params"]) if "slq_nodes" in arrays else None
        spectra[label] = (arrays["smallest"], meta["num_params"], estimated)
    return plots.negative_eigenvalues(spectra, by, title)


def marchenko_pastur(paths: list[str], *, title: str) -> plots.plt.Figure:
    """Appendix B: ``paths`` = the one file of ``appendix_b.appendix_b_spectra``."""
    arrays, metadata = load_npz(paths[0])
    panels = [(arrays[f"panel{i}"], p["ratio"], p["spike"], bbp_outlier(p["spike"], p["ratio"]))
              for i, p in enumerate(metadata["panels"])]
    return plots.marchenko_pastur(panels, title)


def spectrum_along_training(paths: list[str], *, labels: list[str], outliers: list[dict],
                            title: str) -> plots.plt.Figure:
    """Fig. 11: ``paths`` = the along-training files of the runs, one row each, counted with
    each run's ``outliers`` settings."""
    runs = {}
    for label, path, counting in zip(labels, paths, outliers, strict=True):
        along = load_along_training(path, counting)
        counts = {m: [getattr(c, m) for c in along["counts"]] for m in COUNT_METHODS}
        runs[label] = {**along, "counts": {m: np.array([np.nan if v is None else v for v in values], dtype=float)
                                           for m, values in counts.items()}}
    return plots.spectrum_along_training(runs, title)


def negative_fraction_along_training(paths: list[str], *, labels: list[str], relative_tolerances: list[float],
                                     reference: float, title: str) -> plots.plt.Figure:
    """The negative-fraction study: ``paths`` = the along-training files of the runs; the
    fraction at the end of training under each relative tolerance besides the round-off rule."""
    runs = {}
    for label, path in zip(labels, paths):
        along = load_along_training(path)
        end = along["hessian"][-1]
        runs[label] = {"steps": along["steps"], "negative_fraction": along["negative_fraction"],
                       "tolerances": np.array(relative_tolerances),
                       "by_tolerance": np.array([negative_fraction(end, tol) for tol in relative_tolerances])}
    return plots.negative_fraction(runs, reference, title)


def batch_switch(paths: list[str], *, title: str) -> plots.plt.Figure:
    """Fig. 9: ``paths`` = the metrics of Part I and Part II."""
    return plots.batch_switch(switch_curves(paths), title)


def interpolation(paths: list[str], *, title: str) -> plots.plt.Figure:
    """Fig. 10: ``paths`` = the one file of ``switch.interpolate``."""
    return plots.interpolation(load_interpolation(paths[0]), title)


PLOTS: dict[str, Callable[..., plots.plt.Figure]] = {
    plot.__name__: plot for plot in (full_spectrum, gauss_newton_split, explained_variance, top_eigenvalues_by_k,
                                      top_eigenvalues, negative_eigenvalues, marchenko_pastur,
                                      spectrum_along_training, negative_fraction_along_training,
                                      batch_switch, interpolation)}


def draw(plot: str, paths: list[str], out_pdf: str, *, dpi: int, **options) -> None:
    """Draw the figure of kind ``plot`` from ``paths`` and save it as ``out_pdf`` and PNG."""
    if plot not in PLOTS:
        raise ValueError(f"plot must be one of {', '.join(PLOTS)}, got {plot!r}")
    plots.save_figure(PLOTS[plot](list(paths), **options), out_pdf, dpi)
