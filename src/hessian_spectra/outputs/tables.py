"""Tables: CSV for machines, Markdown and LaTeX for people.

The workflow's table steps (``write_table1``, ``write_run_table``) read each run's
cached results: its spectrum file, its outlier counts (the counting step's JSON) and the
last row of its training metrics; what defines the run comes from the config (``runs``).
"""

from __future__ import annotations

import csv
from importlib.resources import files

import numpy as np
import pandas as pd

from ..base.io import load_npz, save_text
from ..experiments.switch import load_interpolation, switch_curves
from ..spectra.counts import COUNT_METHODS, load_along_training, load_counts, negative_fraction, negative_part
from ..spectra.density import negative_estimate

N_TOP = 3  # largest eigenvalues listed per run in the width and batch tables
#: ``negative_method`` of a run whose negative count means nothing: an SLQ estimate the
#: quadrature does not resolve (``density.CountEstimate.resolved``), or Lanczos edges alone
UNRESOLVED_ESTIMATE, UNKNOWN_COUNT = "slq estimate (unresolved)", "unknown (edges only)"


def load_results(runs: list[dict], spectra: list[str], counts: list[str], metrics: list[str]) -> list[dict]:
    """Per run: ``run`` (its config sections), ``arrays`` and ``metadata`` of its spectrum
    file, ``counts`` (outlier counts) and ``metrics`` (the last row of metrics.csv)."""
    items = []
    for run, spectrum_path, counts_path, metrics_path in zip(runs, spectra, counts, metrics, strict=True):
        arrays, metadata = load_npz(spectrum_path)
        with open(metrics_path) as handle:
            last = list(csv.DictReader(handle))[-1]
        items.append({"run": run, "arrays": arrays, "metadata": metadata, "counts": load_counts(counts_path),
                      "metrics": last})
    return items


def paper_table1() -> pd.DataFrame:
    """The paper's appendix table (arXiv v2): M, eigenvalue mean, counts by gap, ratio,
    heuristic, and the cutoff threshold (the paper prints the threshold, not a count)."""
    return pd.read_csv(files("hessian_spectra.outputs").joinpath("paper_table1.csv"))


def _beside_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """``ours`` (columns algorithm, activation, cov, nc) with the paper's row of Table 1
    beside each row, its columns prefixed ``paper_``."""
    paper = paper_table1().rename(columns=lambda c: c if c in ("algorithm", "activation", "cov", "k") else f"paper_{c}")
    return ours.merge(paper.rename(columns={"k": "nc"}), on=["algorithm", "activation", "cov", "nc"], how="left")


def table1(results: list[dict]) -> pd.DataFrame:
    """One row per Family A run (``load_results``), beside the paper's row."""
    rows = []
    for item in results:
        meta, values, metrics = item["metadata"], item["arrays"]["hessian"], item["metrics"]
        run, counts = item["run"], item["counts"]
        rows.append({
            "run": run["run"], "algorithm": run["train"]["algorithm"],
            "activation": run["model"]["activation"], "num_params": meta["num_params"],
            "cov": run["data"]["cov"], "nc": run["data"]["k"],
            "eig_mean": float(np.mean(values)), "eig_std": float(np.std(values)),
            **{m: counts[m] for m in COUNT_METHODS}, "cutoff_threshold": counts["threshold"],
            "window": counts["window"], "steps": int(metrics["step"]),
            "train_loss": float(metrics["train_loss"]), "grad_norm": float(metrics["grad_norm"]),
        })
    merged = _beside_paper(pd.DataFrame(rows))
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


def write_table1(results: list[dict], stem: str, caption: str) -> None:
    table = table1(results)
    write_table(table, table1_readable(table), stem, caption)


def run_table(results: list[dict]) -> pd.DataFrame:
    """Family B or C, per run (``load_results``): M, train/test loss and accuracy, the largest
    eigenvalues, the number and fraction of negative eigenvalues (below the numerical zero;
    exact method only), the most negative eigenvalue, and the outlier count by each method."""
    rows = []
    for item in results:
        arrays, meta, counts, last = item["arrays"], item["metadata"], item["counts"], item["metrics"]
        negative = _negative_count(arrays, meta)
        rows.append({
            "run": item["run"]["run"], "num_params": meta["num_params"], "method": meta["method"],
            "steps": int(last["step"]),
            **{key: float(last[key]) for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")},
            **{f"lambda_{i + 1}": float(arrays["largest"][i]) for i in range(N_TOP)},
            **negative,
            "most_negative": float(arrays["smallest"][0]),
            **{m: counts[m] for m in COUNT_METHODS},
            "cutoff_threshold": counts["threshold"], "window": counts["window"],
        })
    table = pd.DataFrame(rows)
    table["elbow"] = table["elbow"].astype("Int64")
    return table


def _negative_count(arrays: dict[str, np.ndarray], meta: dict) -> dict:
    """The negative part of a run's spectrum and where the number comes from
    (``negative_method``): counted (every eigenvalue: ``exact``, or ``exact (range)``
    through the Hessian's range), estimated with its interval (Lanczos edges and an SLQ
    density; ``slq estimate (unresolved)`` when the nodes beside the threshold outweigh
    half the estimate, ``density.RESOLVED_SHARE``), or unknown (Lanczos edges only)."""
    size = meta["num_params"]
    if "hessian" in arrays:
        n = len(negative_part(arrays["hessian"]))
        low = high = n
        method = "exact" if meta["method"] == "exact" else f"exact ({meta['method']})"
    elif "slq_nodes" in arrays:
        estimate = negative_estimate(arrays, size)
        n, low, high = estimate.estimate, estimate.low, estimate.high
        method = "slq estimate" if estimate.resolved else UNRESOLVED_ESTIMATE
    else:
        return {"n_negative": None, "fraction_negative": None, "negative_low": None, "negative_high": None,
                "negative_method": UNKNOWN_COUNT}
    return {"n_negative": n, "fraction_negative": n / size, "negative_low": low / size, "negative_high": high / size,
            "negative_method": method}


def _formatted(table: pd.DataFrame, general: tuple[str, ...], percent: tuple[str, ...]) -> pd.DataFrame:
    """A copy of ``table`` for reading: the ``general`` columns to 3 significant digits, the
    ``percent`` ones as percentages ("n/a" where missing)."""
    out = table.copy()
    for column in general:
        out[column] = out[column].map("{:.3g}".format)
    for column in percent:
        out[column] = out[column].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2%}")
    return out


def run_table_readable(table: pd.DataFrame) -> pd.DataFrame:
    general = ("train_loss", "test_loss", *(f"lambda_{i + 1}" for i in range(N_TOP)), "most_negative")
    readable = _formatted(table, general, ("train_accuracy", "test_accuracy", "fraction_negative"))
    estimated = table["negative_method"].str.startswith("slq estimate")
    unresolved = table["negative_method"] == UNRESOLVED_ESTIMATE
    readable["n_negative"] = [("n/a" if pd.isna(n) else "unresolved" if vague else f"~{n:.0f}" if guess else f"{n:.0f}")
                              for n, guess, vague in zip(table["n_negative"], estimated, unresolved)]
    readable.loc[unresolved, "fraction_negative"] = "unresolved"
    readable["negative_interval"] = [f"[{low:.2%}, {high:.2%}]" if guess else ""
                                     for low, high, guess in zip(table["negative_low"], table["negative_high"], estimated)]
    return readable.drop(columns=["window", "negative_low", "negative_high"])


def write_run_table(results: list[dict], stem: str, caption: str) -> None:
    table = run_table(results)
    write_table(table, run_table_readable(table), stem, caption, formats=("csv", "md"))


#: the fidelity measure: a run's mean eigenvalue is "close" to the paper's within this factor
CLOSE_FACTOR = 1.5


def fidelity_ablation(results: list[dict]) -> pd.DataFrame:
    """One row per ablation cell (``load_results`` of ``config.fidelity_cells``): the setting
    (stopping tolerance, initialisation, training size), where training stopped, the mean
    eigenvalue of H beside the paper's and their ratio, and the four outlier counts (the
    cutoff at the run's threshold, the paper's for the ReLU rows)."""
    rows = []
    for item in results:
        cell, counts, metrics = item["run"], item["counts"], item["metrics"]
        rows.append({
            "setting": cell["setting"]["name"], **{key: cell["setting"][key] for key in ("grad_tol", "init", "n_train")},
            "run": cell["run"], "algorithm": cell["algorithm"], "activation": cell["activation"], "cov": cell["cov"],
            "nc": cell["k"], "steps": int(metrics["step"]), "grad_norm": float(metrics["grad_norm"]),
            "train_loss": float(metrics["train_loss"]), "eig_mean": float(np.mean(item["arrays"]["hessian"])),
            **{m: counts[m] for m in COUNT_METHODS}, "cutoff_threshold": counts["threshold"],
        })
    table = _beside_paper(pd.DataFrame(rows)).drop(columns=["paper_gap", "paper_ratio", "paper_heuristic",
                                                             "paper_cutoff_threshold", "paper_num_params"])
    table["mean_ratio"] = table["eig_mean"] / table["paper_eig_mean"]
    table["elbow"] = table["elbow"].astype("Int64")
    return table


def fidelity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting, the measure that chooses Family A's settings: the median over its runs
    of |log10(our mean eigenvalue / the paper's)| (0 is a perfect match; 0.18 is a factor
    1.5), the runs within a factor ``CLOSE_FACTOR``, and the cutoff counts within 1 of nc.
    Sorted best first."""
    distance = np.abs(np.log10(table["mean_ratio"]))
    summary = table.assign(distance=distance, close=distance <= np.log10(CLOSE_FACTOR),
                           cutoff_ok=(table["cutoff"] - table["nc"]).abs() <= 1).groupby(
        ["setting", "grad_tol", "init", "n_train"], sort=False).agg(
        runs=("run", "size"), median_log10_distance=("distance", "median"), within_factor=("close", "sum"),
        cutoff_within_1=("cutoff_ok", "sum"), median_train_loss=("train_loss", "median"))
    return summary.reset_index().sort_values("median_log10_distance", kind="stable")


def write_fidelity_ablation(results: list[dict], stem: str, caption: str) -> None:
    """``stem``.csv (one row per cell) and ``stem``.md (the per-setting summary, then the cells)."""
    table = fidelity_ablation(results)
    summary = fidelity_summary(table)
    readable = _formatted(table.drop(columns=["algorithm", "activation", "cov"]),
                          ("grad_norm", "train_loss", "eig_mean", "paper_eig_mean", "mean_ratio"), ())
    save_text(f"{stem}.csv", table.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    save_text(f"{stem}.md", f"{caption}\n\nBy setting, best first:\n\n"
              f"{summary.to_markdown(index=False, floatfmt='.3g')}\n\nBy run:\n\n{readable.to_markdown(index=False)}\n")


def along_training_table(paths: list[str], outliers: list[dict]) -> pd.DataFrame:
    """Fig. 11's table: per run and checkpoint (files of ``along_training``; ``outliers``:
    each run's counting settings), the train loss, the largest eigenvalue, lambda_k and
    lambda_(k+1), the four outlier counts, max |eig R| / max eig H and the fraction of
    negative eigenvalues (round-off rule)."""
    rows = []
    for path, counting in zip(paths, outliers, strict=True):
        along = load_along_training(path, counting)
        k = int(along["k"])
        for i, step in enumerate(along["steps"]):
            top = np.sort(along["hessian"][i])[::-1]
            counts = {m: getattr(along["counts"][i], m) for m in COUNT_METHODS}
            rows.append({"run": along["run"], "nc": k, "step": int(step), "train_loss": float(along["train_loss"][i]),
                         "lambda_1": top[0], "lambda_k": top[k - 1], "lambda_k_plus_1": top[k], **counts,
                         "residual_ratio": float(along["residual_ratio"][i]),
                         "negative_fraction": float(along["negative_fraction"][i])})
    table = pd.DataFrame(rows)
    table["elbow"] = table["elbow"].astype("Int64")
    return table


def negative_fraction_table(paths: list[str], relative_tolerances: list[float]) -> pd.DataFrame:
    """The negative-fraction study: per run and checkpoint (files of ``along_training``), the
    train loss and the fraction of eigenvalues counted negative by the round-off rule and by
    each relative tolerance (below -tol * max |lambda|)."""
    rows = []
    for path in paths:
        along = load_along_training(path)
        for i, step in enumerate(along["steps"]):
            values = along["hessian"][i]
            rows.append({"run": along["run"], "num_params": int(along["num_params"]), "step": int(step),
                         "train_loss": float(along["train_loss"][i]), "roundoff": float(along["negative_fraction"][i]),
                         **{f"rel_{tol:g}": negative_fraction(values, tol) for tol in relative_tolerances}})
    return pd.DataFrame(rows)


def write_along_training(paths: list[str], stem: str, caption: str, outliers: list[dict]) -> None:
    table = along_training_table(paths, outliers)
    readable = _formatted(table, ("train_loss", "lambda_1", "lambda_k", "lambda_k_plus_1", "residual_ratio"),
                          ("negative_fraction",))
    write_table(table, readable, stem, caption, formats=("csv", "md"))


def write_negative_fraction(paths: list[str], stem: str, caption: str, relative_tolerances: list[float]) -> None:
    table = negative_fraction_table(paths, relative_tolerances)
    fractions = tuple(c for c in table.columns if c == "roundoff" or c.startswith("rel_"))
    write_table(table, _formatted(table, ("train_loss",), fractions), stem, caption, formats=("csv", "md"))


#: tables read from along-training files -> their writers (paths, stem, caption, options)
ALONG_WRITERS = {"along_training": write_along_training, "negative_fraction": write_negative_fraction}


#: kind of table -> its writer (the workflow's table rules name one)
WRITERS = {"table1": write_table1, "run_table": write_run_table, "fidelity_ablation": write_fidelity_ablation}


def write(table: str, results: list[dict], stem: str, caption: str) -> None:
    """Write the table of kind ``table`` (``WRITERS``) from ``load_results`` output."""
    if table not in WRITERS:
        raise ValueError(f"table must be one of {', '.join(WRITERS)}, got {table!r}")
    WRITERS[table](results, stem, caption)


#: the columns of the batch-switch table, beside ``quantity`` and ``step``
SWITCH_COLUMNS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


def batch_switch_table(curves: pd.DataFrame, line: pd.DataFrame) -> pd.DataFrame:
    """Family D's numbers (``switch.switch_curves``, ``switch.load_interpolation``): the end
    of Part I, the first record after the switch and the jump there, the end of Part II and
    the change over it; then the barrier: on 0 < a < 1, the largest loss divided by the
    higher of its two end values (above 1: a barrier, which the paper says is absent) and
    the lowest accuracy minus the lower end value (below 0: a dip). ``step`` counts both
    parts; a = 0 and a = 1 are checked to be the end-of-part records."""
    part1, part2 = curves[curves["part"] == 1], curves[curves["part"] == 2]
    end1, end2 = part1.iloc[-1], part2.iloc[-1]
    after = part2[part2["step"] > 0].iloc[0]
    values = {column: [end1[column], after[column], after[column] - end1[column], end2[column],
                       end2[column] - end1[column]] for column in SWITCH_COLUMNS}
    for a, end in ((0.0, end1), (1.0, end2)):
        at = line[line["a"] == a]
        if at.empty or not np.allclose(at[list(SWITCH_COLUMNS)].iloc[0], end[list(SWITCH_COLUMNS)].astype(float),
                                       rtol=1e-6, atol=0):
            raise ValueError(f"the interpolation at a = {a:g} does not reproduce the end of Part {int(a) + 1}: "
                             "were they computed from other runs?")
    inside = line[(line["a"] > 0) & (line["a"] < 1)]
    ends = line[line["a"].isin([0.0, 1.0])]
    for column in SWITCH_COLUMNS:
        if column.endswith("loss"):
            values[column].append(inside[column].max() / ends[column].max())
        else:
            values[column].append(inside[column].min() - ends[column].min())
    table = pd.DataFrame({
        "quantity": ["end of Part I", "first record after the switch", "jump (after - end of Part I)",
                     "end of Part II", "change over Part II (end II - end I)",
                     "barrier on 0 < a < 1 (loss: max / higher end; accuracy: min - lower end)"],
        "step": [int(end1["total_step"]), int(after["total_step"]), None, int(end2["total_step"]), None, None],
        **values})
    table["step"] = table["step"].astype("Int64")
    return table


def write_batch_switch(metrics_paths: list[str], interpolation_path: str, stem: str, caption: str) -> None:
    table = batch_switch_table(switch_curves(metrics_paths), load_interpolation(interpolation_path))
    readable = _formatted(table, SWITCH_COLUMNS, ())
    readable["step"] = readable["step"].map(lambda v: "" if pd.isna(v) else f"{v:,}")
    write_table(table, readable, stem, caption, formats=("csv", "md"))
