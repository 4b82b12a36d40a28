"""Tables: CSV for machines, Markdown and LaTeX for people."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

from .io import save_text

COUNT_METHODS = ("gap", "ratio", "elbow", "cutoff")


def paper_table1() -> pd.DataFrame:
    """The paper's appendix table (arXiv v2): M, eigenvalue mean, counts by gap, ratio,
    heuristic, and the cutoff threshold (the paper prints the threshold, not a count)."""
    return pd.read_csv(files("hessian_spectra").joinpath("paper_table1.csv"))


def table1(spectra: list[dict]) -> pd.DataFrame:
    """One row per run from the spectrum files' metadata and eigenvalues, beside the paper's.

    ``spectra`` holds dicts with ``metadata`` (a spectrum file's metadata), ``hessian``
    (its eigenvalues) and ``metrics`` (the run's last metrics row)."""
    rows = []
    for item in spectra:
        meta, values, metrics = item["metadata"], item["hessian"], item["metrics"]
        run, counts = meta["run"], meta["outliers"]
        rows.append({
            "run": run["run"], "algorithm": run["train"]["algorithm"],
            "activation": run["model"]["activation"], "num_params": meta["num_params"],
            "cov": run["data"]["cov"], "nc": run["data"]["k"],
            "eig_mean": float(np.mean(values)), "eig_std": float(np.std(values)),
            **{m: counts[m] for m in COUNT_METHODS}, "cutoff_threshold": counts["threshold"],
            "window": counts["window"], "steps": int(metrics["step"]),
            "train_loss": float(metrics["train_loss"]), "grad_norm": float(metrics["grad_norm"]),
        })
    ours = pd.DataFrame(rows)
    paper = paper_table1().rename(columns=lambda c: c if c in ("algorithm", "activation", "cov", "k") else f"paper_{c}")
    merged = ours.merge(paper.rename(columns={"k": "nc"}), on=["algorithm", "activation", "cov", "nc"], how="left")
    merged["elbow"] = merged["elbow"].astype("Int64")
    for column in ("paper_gap", "paper_ratio", "paper_heuristic", "paper_num_params"):
        merged[column] = merged[column].astype("Int64")
    return merged


def _mark(count, nc) -> str:
    """A count, with '*' when it is within 1 of the number of classes (the paper's marking)."""
    if pd.isna(count):
        return "n/a"
    return f"{int(count)}*" if abs(int(count) - int(nc)) <= 1 else str(int(count))


def table1_readable(table: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader compares: ours beside the paper's, counts within 1 of nc starred."""
    out = pd.DataFrame({
        "run": table["run"],
        "alg-size": [f"{a.upper()} {act} {m}" for a, act, m in zip(table["algorithm"], table["activation"], table["num_params"])],
        "cov": table["cov"],
        "mean (ours)": table["eig_mean"].map("{:.2e}".format),
        "mean (paper)": table["paper_eig_mean"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2e}"),
        "nc": table["nc"],
    })
    for ours, paper in (("gap", "paper_gap"), ("ratio", "paper_ratio"), ("elbow", "paper_heuristic")):
        out[f"{ours} (ours)"] = [_mark(c, n) for c, n in zip(table[ours], table["nc"])]
        out[f"{ours} (paper)"] = [_mark(c, n) for c, n in zip(table[paper], table["nc"])]
    out["cutoff (ours)"] = [f"{_mark(c, n)} @ {t:g}" for c, n, t in zip(table["cutoff"], table["nc"], table["cutoff_threshold"])]
    out["cutoff (paper)"] = table["paper_cutoff_threshold"].map(lambda v: "n/a" if pd.isna(v) else f"@ {v:g}")
    return out


def write_table(table: pd.DataFrame, readable: pd.DataFrame, stem: str, caption: str,
                formats: tuple[str, ...] = ("csv", "md", "tex")) -> None:
    """``stem``.csv (full precision), ``stem``.md and ``stem``.tex (readable), as asked."""
    writers = {
        "csv": lambda: table.to_csv(index=False, float_format="%.10g", lineterminator="\n"),
        "md": lambda: f"{caption}\n\n{readable.to_markdown(index=False)}\n",
        "tex": lambda: readable.to_latex(index=False, caption=caption, escape=True),
    }
    for suffix in formats:
        save_text(f"{stem}.{suffix}", writers[suffix]())
