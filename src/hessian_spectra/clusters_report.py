"""Family A figures and Table 1 from the cached spectrum files (the plotting steps)."""

from __future__ import annotations

import csv

import numpy as np

from . import plots
from .io import load_npz
from .tables import table1, table1_readable, write_table

STAGES = {"init": "initial point", "final": "end of training"}


def fig1(init: str, final: str, out_pdf: str, *, title: str, dpi: int) -> None:
    values = {stage: load_npz(path)[0]["hessian"] for stage, path in (("init", init), ("final", final))}
    plots.save_figure(plots.fig1_full_spectrum(values["init"], values["final"], title), out_pdf, dpi)


def fig1b(init: str, final: str, out_pdf: str, *, title: str, dpi: int) -> None:
    stages = {STAGES[stage]: load_npz(path)[0] for stage, path in (("init", init), ("final", final))}
    plots.save_figure(plots.fig1b_gauss_newton_split(stages, title), out_pdf, dpi)


def fig2(pca_csv: str, out_pdf: str, *, title: str, top: int, dpi: int) -> None:
    explained: dict[int, list[float]] = {}
    with open(pca_csv) as handle:
        for row in csv.DictReader(handle):
            explained.setdefault(int(row["k"]), []).append(float(row["explained_variance_ratio"]))
    arrays = {k: np.array(v) for k, v in explained.items()}
    plots.save_figure(plots.fig2_cluster_pca(arrays, top, title), out_pdf, dpi)


def fig3(spectra: list[str], out_pdf: str, *, title: str, top: int, dpi: int) -> None:
    values, thresholds = {}, {}
    for path in spectra:
        arrays, meta = load_npz(path)
        k = meta["run"]["data"]["k"]
        values[k], thresholds[k] = arrays["hessian"], meta["outliers"]["threshold"]
    plots.save_figure(plots.fig3_cluster_spectra(values, thresholds, top, title), out_pdf, dpi)


def write_table1(spectra: list[str], metrics: list[str], stem: str, caption: str) -> None:
    items = []
    for spectrum_path, metrics_path in zip(spectra, metrics):
        arrays, meta = load_npz(spectrum_path)
        with open(metrics_path) as handle:
            last = list(csv.DictReader(handle))[-1]
        items.append({"metadata": meta, "hessian": arrays["hessian"], "metrics": last})
    table = table1(items)
    write_table(table, table1_readable(table), stem, caption)
