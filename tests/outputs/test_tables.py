"""The table step (``tables``): results of the runs' files in, CSV/Markdown/LaTeX out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hessian_spectra.base.io import save_npz
from hessian_spectra.outputs.tables import ALONG_WRITERS, load_results, paper_table1, write
from hessian_spectra.spectra.counts import count_outliers

METRICS = "step,train_loss,train_accuracy,grad_norm,test_loss,test_accuracy\n0,2.3,0.1,1.0,2.3,0.1\n40,0.01,1.0,1e-4,0.02,0.99\n"


def _run(tmp_path, name: str, k: int, values: np.ndarray, threshold: float = 0.5) -> tuple[dict, list[str]]:
    folder = tmp_path / name
    folder.mkdir()
    save_npz(folder / "s.npz", metadata={"num_params": len(values), "method": "exact", "run": name},
             hessian=np.sort(values), largest=np.sort(values)[::-1].copy(), smallest=np.sort(values))
    counts = count_outliers(values, window=20, threshold=threshold).as_dict()
    (folder / "c.json").write_text(json.dumps(counts))
    (folder / "m.csv").write_text(METRICS)
    run = {"run": name, "data": {"k": k, "cov": 1.0}, "model": {"activation": "relu"}, "train": {"algorithm": "gd"}}
    return run, [str(folder / f) for f in ("s.npz", "c.json", "m.csv")]


def _results(tmp_path, ks=(2, 5)) -> list[dict]:
    rng = np.random.default_rng(0)
    runs, files = zip(*(_run(tmp_path, f"gd_relu_cov1_k{k}", k, np.concatenate(
        [rng.uniform(1, 2, k), rng.uniform(-1e-3, 1e-3, 40)])) for k in ks))
    return load_results(list(runs), *(list(column) for column in zip(*files)))


def test_table1_puts_our_counts_and_mean_beside_the_papers_row(tmp_path):
    write("table1", _results(tmp_path), str(tmp_path / "table1"), "caption")
    table = pd.read_csv(tmp_path / "table1.csv")
    assert table["gap"].tolist() == [2, 5] and table["cutoff"].tolist() == [2, 5]
    assert table["steps"].tolist() == [40, 40] and table["train_loss"].tolist() == [0.01, 0.01]
    paper = paper_table1().query("algorithm == 'gd' and activation == 'relu' and cov == 1 and k == 5")
    assert table["paper_eig_mean"].iloc[1] == pytest.approx(paper["eig_mean"].iloc[0])
    markdown = (tmp_path / "table1.md").read_text()
    assert markdown.startswith("caption\n") and "5*" in markdown and "@ 0.5" in markdown
    assert (tmp_path / "table1.tex").read_text().count(r"\begin{tabular}") == 1


def test_run_table_counts_negative_eigenvalues_above_round_off(tmp_path):
    results = _results(tmp_path, ks=(3,))
    expected_negative = int(np.sum(results[0]["arrays"]["hessian"] < -1e-9))  # numerical zero: ~1e-14
    write("run_table", results, str(tmp_path / "runs"), "caption")
    table = pd.read_csv(tmp_path / "runs.csv")
    assert table["n_negative"].iloc[0] == expected_negative > 0
    assert table["fraction_negative"].iloc[0] == pytest.approx(expected_negative / 43)
    assert not (tmp_path / "runs.tex").exists()


def test_unknown_table_kind_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="table must be one of table1, run_table"):
        write("table2", [], str(tmp_path / "t"), "caption")


def test_fidelity_ablation_ranks_settings_by_the_median_distance_to_the_papers_means(tmp_path):
    """Two settings of the GD ReLU cov-1 runs k = 2, 5: one whose Hessians have the paper's
    mean eigenvalue exactly, one ten times smaller; the table's ratios and ranking follow."""
    paper = paper_table1().query("algorithm == 'gd' and activation == 'relu' and cov == 1").set_index("k")["eig_mean"]
    runs, files = [], []
    for name, scale in (("small", 0.1), ("match", 1.0)):
        for k in (2, 5):
            values = np.full(50, scale * paper[k])
            values[:k] += np.arange(1, k + 1)  # k outliers; keep the mean at scale * paper[k]
            values[k:2 * k] -= np.arange(1, k + 1)
            run, paths = _run(tmp_path, f"{name}_k{k}", k, values, threshold=0.5)
            runs.append({**run, "setting": {"name": name, "grad_tol": 1e-3, "init": "pytorch", "n_train": 100},
                         "algorithm": "gd", "activation": "relu", "cov": 1.0, "k": k})
            files.append(paths)
    write("fidelity_ablation", load_results(runs, *(list(column) for column in zip(*files))),
          str(tmp_path / "ablation"), "caption")
    table = pd.read_csv(tmp_path / "ablation.csv")
    assert table["mean_ratio"].tolist() == pytest.approx([0.1, 0.1, 1.0, 1.0])
    assert table["paper_eig_mean"].tolist() == pytest.approx([paper[2], paper[5]] * 2)
    markdown = (tmp_path / "ablation.md").read_text()
    summary = markdown.split("By setting, best first:")[1].split("By run:")[0]
    assert summary.index("| match") < summary.index("| small")
    match_row = next(line for line in summary.splitlines() if line.startswith("| match"))
    runs, distance, within, cutoff_ok = (cell.strip() for cell in match_row.split("|")[5:9])
    assert (runs, within, cutoff_ok) == ("2", "2", "2") and float(distance) < 1e-9


def _along(path, run: str, hessian: np.ndarray, k: int = 2) -> str:
    save_npz(path, metadata={"run": run, "num_params": hessian.shape[1], "k": k}, steps=np.array([0, 10]),
             train_loss=np.array([2.0, 0.5]), hessian=hessian, residual_ratio=np.array([0.8, 0.1]))
    return str(path)


def test_along_training_table_lists_each_checkpoint(tmp_path):
    hessian = np.array([[-0.5, 0.0, 0.1, 0.2, 3.0], [-1e-17, 0.0, 0.01, 1.0, 2.0]])
    outliers = {"window": 3, "threshold": 0.15}
    ALONG_WRITERS["along_training"]([_along(tmp_path / "a.npz", "a", hessian)], str(tmp_path / "t"), "caption",
                                    outliers=[outliers])
    table = pd.read_csv(tmp_path / "t.csv")
    assert table["step"].tolist() == [0, 10]
    assert table[["lambda_1", "lambda_k", "lambda_k_plus_1"]].values.tolist() == [[3.0, 0.2, 0.1], [2.0, 1.0, 0.01]]
    for row, values in zip(table.itertuples(), hessian):
        counts = count_outliers(values, **outliers)
        assert (row.gap, row.ratio, row.cutoff) == (counts.gap, counts.ratio, counts.cutoff)
    assert table["cutoff"].tolist() == [2, 2]
    assert table["negative_fraction"].tolist() == [0.2, 0.0]  # -1e-17 is round-off
    assert table["residual_ratio"].tolist() == [0.8, 0.1]
    assert "| a " in (tmp_path / "t.md").read_text()


def test_negative_fraction_table_applies_every_numerical_zero_rule(tmp_path):
    hessian = np.array([[-1e-1, -1e-3, -1e-5, -1e-16, 1.0], [-1e-5, 0.0, 0.0, 0.0, 1.0]])
    ALONG_WRITERS["negative_fraction"]([_along(tmp_path / "a.npz", "a", hessian)], str(tmp_path / "t"), "caption",
                                       relative_tolerances=[1e-4, 1e-2])
    table = pd.read_csv(tmp_path / "t.csv")
    assert table["roundoff"].tolist() == [0.6, 0.2]
    assert table["rel_0.0001"].tolist() == [0.4, 0.0]
    assert table["rel_0.01"].tolist() == [0.2, 0.0]
    assert "60.00%" in (tmp_path / "t.md").read_text()


def test_run_table_says_where_each_negative_count_comes_from(tmp_path):
    """Exact spectra are counted; a Lanczos file with an SLQ density is estimated, with its
    interval (here an exact rule: every probe's Krylov space holds the whole spectrum)."""
    results = _results(tmp_path, ks=(3,))
    values = np.sort(results[0]["arrays"]["hessian"])
    nodes = np.tile(values, (4, 1))
    estimated = {"largest": values[::-1][:3].copy(), "smallest": values[:3].copy(), "slq_nodes": nodes,
                 "slq_weights": np.full_like(nodes, 1 / len(values))}
    lanczos = {**results[0], "arrays": estimated, "metadata": {**results[0]["metadata"], "method": "lanczos"}}
    edges_only = {**lanczos, "arrays": {key: estimated[key] for key in ("largest", "smallest")}}
    write("run_table", [results[0], lanczos, edges_only], str(tmp_path / "runs"), "caption")
    table = pd.read_csv(tmp_path / "runs.csv")
    assert table["negative_method"].tolist() == ["exact", "slq estimate", "unknown (edges only)"]
    exact_count = table["n_negative"].iloc[0]
    assert table["n_negative"].iloc[1] == pytest.approx(exact_count)
    assert table["negative_low"].iloc[1] <= exact_count / 43 <= table["negative_high"].iloc[1]
    assert pd.isna(table["n_negative"].iloc[2])
    markdown = (tmp_path / "runs.md").read_text()
    assert f"~{exact_count:.0f}" in markdown and "n/a" in markdown


def test_run_table_names_the_range_method_and_an_unresolved_estimate(tmp_path):
    """A range spectrum holds every eigenvalue: counted, named ``exact (range)``. An SLQ
    estimate that hinges on nodes next to the threshold (``RESOLVED_SHARE``; here every
    probe's rule is one node below zero and one above, weights 1/2, one spacing apart) is
    printed as unresolved, not as its point estimate."""
    results = _results(tmp_path, ks=(3,))
    ranged = {**results[0], "metadata": {**results[0]["metadata"], "method": "range"}}
    values = np.sort(results[0]["arrays"]["hessian"])
    nodes = np.tile([-1.0, 1.0], (4, 1))
    vague = {"largest": values[::-1][:3].copy(), "smallest": values[:3].copy(), "slq_nodes": nodes,
             "slq_weights": np.full_like(nodes, 0.5)}
    lanczos = {**results[0], "arrays": vague, "metadata": {**results[0]["metadata"], "method": "lanczos"}}
    write("run_table", [results[0], ranged, lanczos], str(tmp_path / "runs"), "caption")
    table = pd.read_csv(tmp_path / "runs.csv")
    assert table["negative_method"].tolist() == ["exact", "exact (range)", "slq estimate (unresolved)"]
    assert table["n_negative"].iloc[1] == table["n_negative"].iloc[0]
    assert table["fraction_negative"].iloc[2] == pytest.approx(0.5)  # the CSV keeps the numbers
    row = [line for line in (tmp_path / "runs.md").read_text().splitlines() if "unresolved" in line]
    assert len(row) == 1 and "~" not in row[0] and "50.00%" not in row[0] and "[0.00%, 100.00%]" in row[0]
