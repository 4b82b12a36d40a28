"""Plots: one function per kind of plot, one style, each figure saved as PDF and PNG.

Functions are named by what they draw and take arrays (not file paths); they return the
matplotlib figure and ``save_figure`` writes it. Which paper figure uses which kind is
the workflow's business (``figures``, ``workflow/rules``). Eigenvalues are plotted in
descending order against their rank.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from ..base.io import atomic_path  # noqa: E402
from ..spectra.counts import negative_part  # noqa: E402
from ..spectra.random_matrix import marchenko_pastur_density, marchenko_pastur_edges  # noqa: E402

sns.set_theme(context="paper", style="whitegrid", palette="colorblind")
# PDFs that do not embed the creation date, so that reruns give the same bytes
PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}


def save_figure(fig: plt.Figure, pdf_path: str, dpi: int = 150) -> None:
    """Write ``pdf_path`` (``.pdf``) and the PNG beside it (same name, ``.png``) atomically,
    then close the figure."""
    if not str(pdf_path).endswith(".pdf"):
        raise ValueError(f"save_figure needs a .pdf path, got {pdf_path!r}")
    stem = str(pdf_path).removesuffix(".pdf")
    for suffix in ("pdf", "png"):
        with atomic_path(f"{stem}.{suffix}") as tmp:
            fig.savefig(tmp, format=suffix, dpi=dpi, bbox_inches="tight",
                        metadata=PDF_METADATA if suffix == "pdf" else None)
    plt.close(fig)


def _descending(values: np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(values))[::-1]


def _symlog(ax: plt.Axes, values: list[np.ndarray]) -> None:
    """Symmetric log y axis whose linear zone sits below the smallest visible magnitude."""
    largest = max(np.abs(v).max() for v in values)
    ax.set_yscale("symlog", linthresh=max(largest * 1e-6, 1e-12))


def full_spectrum(init: np.ndarray, end: np.ndarray, title: str) -> plt.Figure:
    """Fig. 1: all M eigenvalues at the initial point and at the end of training."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, scale in zip(axes, ("linear", "symlog")):
        for values, label in ((init, "initial point"), (end, "end of training")):
            ax.plot(np.arange(1, len(values) + 1), _descending(values), label=label, lw=1.2)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_xlabel("rank (descending)")
        ax.set_ylabel("eigenvalue")
        if scale == "symlog":
            _symlog(ax, [init, end])
        ax.set_title(f"{scale} scale")
    axes[0].legend()
    fig.suptitle(title)
    return fig


def gauss_newton_split(stages: dict[str, dict[str, np.ndarray]], title: str) -> plt.Figure:
    """Fig. 1b: ordered eigenvalues of H, its Gauss-Newton part G and the residual R = H - G,
    one panel per stage (``{"initial point": {"hessian": ..., "gauss_newton": ..., "residual": ...}}``).
    The legend gives max |eig(R)| / max eig(H), the size of R next to H."""
    labels = {"hessian": "H", "gauss_newton": "G (Gauss-Newton)", "residual": "R = H - G"}
    fig, axes = plt.subplots(1, len(stages), figsize=(4.6 * len(stages), 3.6), sharey=True)
    for ax, (stage, values) in zip(np.atleast_1d(axes), stages.items()):
        for key, label in labels.items():
            ax.plot(np.arange(1, len(values[key]) + 1), _descending(values[key]), label=label, lw=1.2)
        ratio = np.abs(values["residual"]).max() / values["hessian"].max()
        _symlog(ax, list(values.values()))
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_title(f"{stage}: max|eig R| / max eig H = {ratio:.2g}")
        ax.set_xlabel("rank (descending)")
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("eigenvalue (symlog)")
    fig.suptitle(title)
    return fig


def explained_variance(explained: dict[int, np.ndarray], top: int, title: str) -> plt.Figure:
    """Fig. 2: explained-variance ratio of the leading principal components, one curve per k,
    with a dotted vertical line at k - 1 (k cluster means span k - 1 directions)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for k, ratios in sorted(explained.items()):
        shown = ratios[:top]
        line, = ax.plot(np.arange(1, len(shown) + 1), shown, marker=".", ms=3, lw=1, label=f"k = {k}")
        ax.axvline(k - 1, color=line.get_color(), ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    ax.legend(fontsize=7)
    ax.set_title(title)
    return fig


def top_eigenvalues_by_k(spectra: dict[int, np.ndarray], thresholds: dict[int, float], top: int,
                        title: str) -> plt.Figure:
    """Fig. 3: the top ``top`` eigenvalues per k (log scale, positive ones), with each run's
    cutoff threshold as a dashed line and a dotted line at rank k."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for k, values in sorted(spectra.items()):
        shown = _descending(values)[:top]
        ranks = np.arange(1, len(shown) + 1)
        positive = shown > 0
        line, = ax.plot(ranks[positive], shown[positive], marker=".", ms=3, lw=1, label=f"k = {k}")
        ax.axhline(thresholds[k], color=line.get_color(), ls="--", lw=0.8)
        ax.axvline(k + 0.5, color=line.get_color(), ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("rank (descending)")
    ax.set_ylabel("eigenvalue")
    ax.legend(fontsize=7, title="dashed: cutoff; dotted: rank k", title_fontsize=7)
    ax.set_title(title)
    return fig


def top_eigenvalues(spectra: dict[str, np.ndarray], top: int, title: str) -> plt.Figure:
    """Fig. 4 and Fig. 7: the largest ``top`` eigenvalues by rank, one curve per label
    (``spectra`` maps a label to eigenvalues in any order)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, values in spectra.items():
        shown = _descending(values)[:top]
        ax.plot(np.arange(1, len(shown) + 1), shown, marker=".", ms=3, lw=1, label=label)
    ax.set_xlabel("rank (descending)")
    ax.set_ylabel("eigenvalue")
    ax.legend(fontsize=7)
    ax.set_title(title)
    return fig


def negative_eigenvalues(spectra: dict[str, tuple[np.ndarray, int, dict | None]], by: str,
                         title: str) -> plt.Figure:
    """Fig. 5, 6 and 8: the negative eigenvalues (below the numerical zero,
    ``spectrum.negative_part``) in ascending order (most negative first)
    against their count i (``by="count"``) or against i / M (``by="fraction"``).
    ``spectra`` maps a label to (eigenvalues, M, estimated): with every eigenvalue known
    (exact) a solid curve; with only the Lanczos edges, their values as dots and, when
    ``estimated`` (``figures._estimated_negative_part``: eigenvalue, count, negative) is
    given, the SLQ estimate of the whole negative part as a dashed curve labelled so (its
    fraction "unresolved" where ``CountEstimate.resolved`` says so)."""
    if by not in ("count", "fraction"):
        raise ValueError(f"by must be 'count' or 'fraction', got {by!r}")
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, (values, num_params, estimated) in spectra.items():
        negative = negative_part(values)
        ranks = np.arange(1, len(negative) + 1)
        x = ranks if by == "count" else ranks / num_params
        if estimated is None:
            ax.plot(x, negative, lw=1.2, label=f"{label} ({len(negative)} negative, M={num_params})")
            continue
        count = estimated["negative"]
        fraction, low, high = count.fraction
        line, = ax.plot(x, negative, ls="none", marker=".", ms=3, label=f"{label}: Lanczos edge ({len(negative)} values)")
        counts = estimated["count"] if by == "count" else estimated["count"] / num_params
        share = f"{fraction:.2%}" if count.resolved else "unresolved:"
        ax.plot(counts, estimated["eigenvalue"], ls="--", lw=1.2, color=line.get_color(),
                label=f"{label}: estimated (SLQ), {share} negative [{low:.2%}, {high:.2%}], M={num_params}")
    ax.axhline(0, color="0.3", lw=0.6)
    ax.set_xlabel("i (ascending order)" if by == "count" else "i / M")
    ax.set_ylabel("eigenvalue")
    ax.legend(fontsize=7)
    ax.set_title(title)
    return fig


def marchenko_pastur(panels: list[tuple[np.ndarray, float, float, float | None]], title: str) -> plt.Figure:
    """Appendix B: one panel per (eigenvalues, ratio d/N, spike, predicted outlier): the
    eigenvalues (of C G, i.e. of S) as a histogram (density), the Marchenko-Pastur density of
    the ratio drawn from its closed form, and, where the data has a spike above the BBP
    threshold, the predicted outlier as a dashed line. The y axis stops above the
    histogram: at ratio 1 the density diverges at 0."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    for ax, (values, ratio, spike, outlier) in zip(np.atleast_1d(axes), panels):
        low, high = marchenko_pastur_edges(ratio)
        heights, _, _ = ax.hist(values, bins=60, density=True, color="0.75", label="C x eig(G) = eig(S)")
        grid = np.linspace(low, high, 402)[1:-1]
        ax.plot(grid, marchenko_pastur_density(grid, ratio), lw=1.4, label=f"Marchenko-Pastur, ratio {ratio:g}")
        if outlier is not None:
            ax.axvline(outlier, color="C3", ls="--", lw=1, label=f"BBP prediction ({outlier:.2f})")
        ax.set_ylim(0, 1.3 * heights.max())
        ax.set_xlabel("eigenvalue")
        ax.set_title(f"d/N = {ratio:g}, " + (f"two clusters (spike {spike:g})" if spike > 1 else "identity covariance"))
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("density")
    fig.suptitle(title)
    return fig


def _steps_axis(ax: plt.Axes) -> None:
    ax.set_xscale("log")
    ax.set_xlabel("step + 1")


def spectrum_along_training(runs: dict[str, dict[str, np.ndarray]], title: str) -> plt.Figure:
    """Fig. 11: one row per run (``runs`` maps a label to the arrays of
    ``spectrum.load_along_training``, with ``counts`` mapping each method to its counts, NaN
    where undefined): the top k + 5 eigenvalues, the four outlier counts (dashed: k), the train loss, and max |eig R| / max eig H with the
    fraction of negative eigenvalues, each against the step (log scale, step + 1)."""
    fig, axes = plt.subplots(len(runs), 4, figsize=(15, 3.2 * len(runs)), squeeze=False)
    for row, (label, arrays) in zip(axes, runs.items()):
        x, k = arrays["steps"] + 1, int(arrays["k"])
        top = np.sort(arrays["hessian"], axis=1)[:, ::-1][:, : k + 5]
        for rank in range(top.shape[1]):
            shown = np.where(top[:, rank] > 0, top[:, rank], np.nan)
            row[0].plot(x, shown, lw=0.8, color="C0" if rank < k else "0.55", marker="." if rank < k else None, ms=3)
        row[0].set_yscale("log")
        row[0].set_ylabel(f"top {k} (blue) and next 5 (grey)")
        for method, counts in arrays["counts"].items():
            row[1].plot(x, counts, marker="o", ms=3, lw=1, label=method)
        row[1].axhline(k, color="0.3", ls="--", lw=0.8)
        row[1].set_yscale("symlog", linthresh=1)  # the cutoff count runs into the thousands early on
        row[1].set_ylabel("outlier count")
        row[1].legend(fontsize=7)
        row[2].plot(x, arrays["train_loss"], marker="o", ms=3, lw=1, color="C2")
        row[2].set_yscale("log")
        row[2].set_ylabel("train loss")
        row[3].plot(x, arrays["residual_ratio"], marker="o", ms=3, lw=1, label="max |eig R| / max eig H")
        row[3].plot(x, arrays["negative_fraction"], marker="s", ms=3, lw=1, label="fraction of eig H < 0")
        row[3].set_yscale("log")
        row[3].legend(fontsize=7)
        for ax in row:
            _steps_axis(ax)
        row[0].set_title(label, loc="left", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def negative_fraction(runs: dict[str, dict[str, np.ndarray]], reference: float, title: str) -> plt.Figure:
    """The negative-fraction study: per run (``runs`` maps a label to ``steps``,
    ``negative_fraction`` (round-off rule), ``tolerances`` and ``by_tolerance`` at the
    end), the fraction of negative eigenvalues against the step, and at the end against the
    numerical-zero rule's relative tolerance; the dashed line is ``reference`` (the paper's)."""
    fig, (along, rules) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, arrays in runs.items():
        line, = along.plot(arrays["steps"] + 1, arrays["negative_fraction"], marker="o", ms=3, lw=1, label=label)
        rules.plot(arrays["tolerances"], arrays["by_tolerance"], marker="o", ms=3, lw=1, color=line.get_color(),
                   label=label)
        rules.axhline(arrays["negative_fraction"][-1], color=line.get_color(), ls=":", lw=0.8)
    for ax in (along, rules):
        ax.axhline(reference, color="0.3", ls="--", lw=0.8, label=f"paper (about {reference:.0%})")
        ax.set_ylabel("fraction of eigenvalues < -tol")
        ax.legend(fontsize=7)
    _steps_axis(along)
    along.set_title("along training (round-off rule)", fontsize=9)
    rules.set_xscale("log")
    rules.set_xlabel("tol / max |eigenvalue| (dotted: round-off rule)")
    rules.set_title("end of training, by numerical-zero rule", fontsize=9)
    fig.suptitle(title)
    return fig


def _loss_and_accuracy(title: str) -> tuple[plt.Figure, tuple[plt.Axes, plt.Axes]]:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].set_yscale("log")
    axes[0].set_ylabel("loss")
    axes[1].set_ylabel("accuracy")
    fig.suptitle(title)
    return fig, axes


def batch_switch(curves, title: str) -> plt.Figure:
    """Fig. 9: train and test loss (log scale) and accuracy across both parts against the
    step (``curves``: ``switch.switch_curves``), the switch marked by a dashed line."""
    fig, axes = _loss_and_accuracy(title)
    switch_step = curves.loc[curves["part"] == 1, "total_step"].iloc[-1]
    for ax, quantity in zip(axes, ("loss", "accuracy")):
        for part, color in (("train", "C0"), ("test", "C1")):
            ax.plot(curves["total_step"], curves[f"{part}_{quantity}"], lw=1, color=color, label=part)
        ax.axvline(switch_step, color="0.3", ls="--", lw=0.8, label="batch switch")
        ax.set_xlabel("step (Part I, then Part II)")
        ax.legend(fontsize=7)
    return fig


def interpolation(line, title: str) -> plt.Figure:
    """Fig. 10: train and test loss (log scale) and accuracy along w(a) = w_I + a (w_II - w_I)
    (``line``: ``switch.load_interpolation``); dotted lines at a = 0 and a = 1."""
    fig, axes = _loss_and_accuracy(title)
    for ax, quantity in zip(axes, ("loss", "accuracy")):
        for part, color in (("train", "C0"), ("test", "C1")):
            ax.plot(line["a"], line[f"{part}_{quantity}"], marker="o", ms=3, lw=1, color=color, label=part)
        for end, name in ((0, "w_I (end of Part I)"), (1, "w_II (end of Part II)")):
            ax.axvline(end, color="0.3", ls=":", lw=0.8)
            ax.annotate(name, (end, 1), xycoords=("data", "axes fraction"), fontsize=7, rotation=90,
                        va="top", ha="right")
        ax.set_xlabel("a")
        ax.legend(fontsize=7)
    return fig
