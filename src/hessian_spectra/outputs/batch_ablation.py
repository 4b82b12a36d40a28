"""The batch ablation's table and figure: Family C's top and bottom eigenvalues, their
ratio between batch sizes and the outlier counts, by step size and along training.

Reads the files of ``experiments.batch_ablation.edges_along_training``, one per cell of
``config.specs.batch_ablation_cells``. Counts come from the ``k`` largest eigenvalues only
(Lanczos gives no more), so the gap, ratio and elbow methods search a window of
min(k, ``spectrum.outlier_window``) and the cutoff count is at most k.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..base.io import load_npz, save_text
from ..spectra.counts import COUNT_METHODS, count_outliers
from . import plots

N_TOP = 3  # largest eigenvalues listed per row
#: a run *fits* its training set at the first checkpoint with this train accuracy
FITS_ACCURACY = 1.0


def ablation_table(paths: list[str], outliers: dict) -> pd.DataFrame:
    """One row per (step size, batch size, checkpoint): the metrics, lambda_1..3, the most
    negative eigenvalue and its size against lambda_1, the four counts on the top k, the
    Lanczos quality, and on the largest batch's rows ``sharper_by`` = its lambda_1 over the
    smallest batch's at the same step size and step (the Fig. 7 claim's quantity)."""
    rows = []
    for path in paths:
        arrays, meta = load_npz(path)
        for i, step in enumerate(arrays["steps"]):
            largest = arrays["largest"][i]
            counts = count_outliers(largest, window=min(meta["k"], outliers["window"]),
                                    threshold=outliers["threshold"])
            rows.append({
                "lr": meta["lr"], "batch_size": meta["batch_size"], "run": meta["run"], "step": int(step),
                **{key: float(arrays[key][i]) for key in ("train_loss", "train_accuracy", "test_loss",
                                                          "test_accuracy")},
                **{f"lambda_{j + 1}": float(largest[j]) for j in range(N_TOP)},
                "most_negative": float(arrays["smallest"][i][0]),
                "negative_over_top": float(-arrays["smallest"][i][0] / largest[0]),
                **{method: getattr(counts, method) for method in COUNT_METHODS},
                "window": counts.window, "cutoff_threshold": counts.threshold,
                "converged": bool(arrays["converged"][i]), "n_products": int(arrays["n_products"][i]),
            })
    table = pd.DataFrame(rows).sort_values(["lr", "batch_size", "step"], kind="stable").reset_index(drop=True)
    table["elbow"] = table["elbow"].astype("Int64")
    small, large = table["batch_size"].min(), table["batch_size"].max()
    top = table.set_index(["lr", "batch_size", "step"])["lambda_1"]
    table["sharper_by"] = [top[(lr, large, step)] / top[(lr, small, step)]
                           if batch == large and (lr, small, step) in top.index else np.nan
                           for lr, batch, step in zip(table["lr"], table["batch_size"], table["step"])]
    return table


def ablation_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per step size, what the paper's procedure asks ("a learning rate for which both
    algorithms converge", "the same number of iterations"): for each batch size the first
    checkpoint at which it fits its training set (``FITS_ACCURACY``), whether both do, the
    steps both need, and at the last checkpoint lambda_1 of each batch size, their ratio
    and the ratio counts."""
    rows = []
    for lr, group in table.groupby("lr", sort=True):
        row: dict = {"lr": lr}
        for batch, runs in group.groupby("batch_size", sort=True):
            fitted = runs.loc[runs["train_accuracy"] >= FITS_ACCURACY, "step"]
            last = runs.iloc[-1]
            row[f"fits_at_b{batch}"] = int(fitted.min()) if len(fitted) else None
            row[f"train_loss_b{batch}"] = last["train_loss"]
            row[f"lambda_1_b{batch}"] = last["lambda_1"]
            row[f"ratio_count_b{batch}"] = int(last["ratio"])
        fits = [row[key] for key in row if key.startswith("fits_at_")]
        row["both_fit"] = all(step is not None for step in fits)
        row["steps_both_need"] = max(fits) if row["both_fit"] else None
        row["last_step"] = int(group["step"].max())
        row["sharper_by_at_end"] = group["sharper_by"].dropna().iloc[-1] if group["sharper_by"].notna().any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def write_ablation_table(paths: list[str], stem: str, caption: str, outliers: dict) -> None:
    """``stem``.csv (one row per checkpoint) and ``stem``.md (the per-step-size summary, then the rows)."""
    table = ablation_table(paths, outliers)
    summary = ablation_summary(table)
    readable = table.drop(columns=["window", "cutoff_threshold"]).copy()
    general = ("train_loss", "test_loss", *(f"lambda_{j + 1}" for j in range(N_TOP)), "most_negative",
               "negative_over_top", "sharper_by")
    for column in general:
        readable[column] = readable[column].map(lambda v: "" if pd.isna(v) else f"{v:.3g}")
    for column in ("train_accuracy", "test_accuracy"):
        readable[column] = readable[column].map("{:.1%}".format)
    save_text(f"{stem}.csv", table.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    save_text(f"{stem}.md", f"{caption}\n\nBy step size (the paper's procedure):\n\n"
              f"{summary.to_markdown(index=False, floatfmt='.3g')}\n\nBy checkpoint:\n\n"
              f"{readable.to_markdown(index=False)}\n")


def ablation_figure(paths: list[str], *, outliers: dict, title: str) -> plots.plt.Figure:
    """Six panels against the training step (symlog axis: step 0 is the initial point), one
    colour per step size, solid for the smallest batch and dashed for the largest: lambda_1,
    the large batch's lambda_1 over the small one's, |most negative| / lambda_1, the ratio
    and gap counts on the top k, and the train loss."""
    table = ablation_table(paths, outliers)
    panels = (("lambda_1", "lambda_1", "log"), ("sharper_by", "lambda_1: large / small batch", "linear"),
              ("negative_over_top", "|most negative| / lambda_1", "log"), ("ratio", "ratio count", "linear"),
              ("gap", "gap count", "linear"), ("train_loss", "train loss", "log"))
    fig, axes = plots.plt.subplots(2, 3, figsize=(12, 6.4), sharex=True)
    small = table["batch_size"].min()
    for i, lr in enumerate(sorted(table["lr"].unique())):
        colour = f"C{i}"
        for batch, runs in table[table["lr"] == lr].groupby("batch_size", sort=True):
            style = "-" if batch == small else "--"
            for ax, (column, _, _) in zip(axes.flat, panels):
                shown = runs.dropna(subset=[column])
                if len(shown):
                    ax.plot(shown["step"], shown[column].astype(float), ls=style, marker=".", ms=4, lw=1.1,
                            color=colour, label=f"lr {lr:g}, batch {batch}")
    for ax, (_, label, scale) in zip(axes.flat, panels):
        ax.set_xscale("symlog", linthresh=1)
        ax.set_yscale(scale)
        ax.set_ylabel(label)
    axes[0, 1].axhline(1, color="0.3", lw=0.6)
    axes[0, 0].legend(fontsize=6)
    for ax in axes[1]:
        ax.set_xlabel("training step")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
