"""Family B (width) and C (batch size) figures and tables from the cached spectra."""

from __future__ import annotations

import csv

import pandas as pd

from . import plots
from .io import load_npz
from .spectrum import negative_part
from .tables import COUNT_METHODS, write_table

N_TOP = 3  # largest eigenvalues listed per run in the tables


def _load(spectra: list[str], labels: list[str]) -> dict[str, tuple[dict, dict]]:
    return {label: load_npz(path) for label, path in zip(labels, spectra)}


def top_figure(spectra: list[str], labels: list[str], out_pdf: str, *, top: int, title: str, dpi: int) -> None:
    """Fig. 4 / Fig. 7."""
    loaded = _load(spectra, labels)
    values = {label: arrays["largest"] for label, (arrays, _) in loaded.items()}
    plots.save_figure(plots.top_eigenvalues(values, top, title), out_pdf, dpi)


def negative_figure(spectra: list[str], labels: list[str], out_pdf: str, *, by: str, title: str, dpi: int) -> None:
    """Fig. 5 / 6 / 8."""
    loaded = _load(spectra, labels)
    values = {label: (arrays["smallest"], meta["num_params"]) for label, (arrays, meta) in loaded.items()}
    plots.save_figure(plots.negative_eigenvalues(values, by, title), out_pdf, dpi)


def run_table(spectra: list[str], metrics: list[str]) -> pd.DataFrame:
    """Per run: M, train/test loss and accuracy, the largest eigenvalues, the number and
    fraction of negative eigenvalues (below the numerical zero; exact method only), the most
    negative eigenvalue,
    and the outlier count by each method."""
    rows = []
    for spectrum_path, metrics_path in zip(spectra, metrics):
        arrays, meta = load_npz(spectrum_path)
        with open(metrics_path) as handle:
            last = list(csv.DictReader(handle))[-1]
        exact = meta["method"] == "exact"
        negative = len(negative_part(arrays["hessian"])) if exact else None
        rows.append({
            "run": meta["run"]["run"], "num_params": meta["num_params"], "method": meta["method"],
            "steps": int(last["step"]),
            **{key: float(last[key]) for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")},
            **{f"lambda_{i + 1}": float(arrays["largest"][i]) for i in range(N_TOP)},
            "n_negative": negative, "fraction_negative": None if negative is None else negative / meta["num_params"],
            "most_negative": float(arrays["smallest"][0]),
            **{m: meta["outliers"][m] for m in COUNT_METHODS},
            "cutoff_threshold": meta["outliers"]["threshold"], "window": meta["outliers"]["window"],
        })
    table = pd.DataFrame(rows)
    table["n_negative"] = table["n_negative"].astype("Int64")
    table["elbow"] = table["elbow"].astype("Int64")
    return table


def readable(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in ("train_loss", "test_loss", *(f"lambda_{i + 1}" for i in range(N_TOP)), "most_negative"):
        out[column] = out[column].map("{:.3g}".format)
    for column in ("train_accuracy", "test_accuracy", "fraction_negative"):
        out[column] = out[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2%}")
    return out.drop(columns=["window"])


def write_run_table(spectra: list[str], metrics: list[str], out_csv: str, caption: str) -> None:
    table = run_table(spectra, metrics)
    write_table(table, readable(table), out_csv.removesuffix(".csv"), caption, formats=("csv", "md"))
