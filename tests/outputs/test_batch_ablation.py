"""The batch ablation's table and figure (``outputs.batch_ablation``): the ratio, counts and the
procedure's summary against values built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hessian_spectra.base.io import save_npz
from hessian_spectra.outputs.batch_ablation import ablation_figure, ablation_summary, ablation_table
from hessian_spectra.spectra.counts import count_outliers

OUTLIERS = {"window": 30, "threshold": 0.01}


def _cell_file(path, run, lr, batch, steps, tops, bottoms, accuracies, k=4):
    """An edge file as the step writes it, from chosen values."""
    n = len(steps)
    largest = np.array([[top, top / 2, top / 3, top / 40][:k] for top in tops])
    save_npz(path, metadata={"run": run, "lr": lr, "batch_size": batch, "k": k, "num_params": 100},
             steps=np.array(steps), largest=largest, smallest=np.array([[b, b / 2, 0, 0][:k] for b in bottoms]),
             residual_max=np.zeros(n), converged=np.ones(n, dtype=bool), n_products=np.full(n, 40),
             train_loss=np.linspace(2, 0.1, n), train_accuracy=np.array(accuracies), test_loss=np.ones(n),
             test_accuracy=np.full(n, 0.5))
    return str(path)


def test_the_table_compares_the_batch_sizes_at_each_step_size_and_step(tmp_path):
    paths = [_cell_file(tmp_path / "a.npz", "batch_b10", 0.05, 10, [0, 10, 100], [1.0, 2.0, 4.0], [-0.1, -0.2, -0.4],
                        [0.1, 0.9, 1.0]),
             _cell_file(tmp_path / "b.npz", "batch_b512", 0.05, 512, [0, 10, 100], [1.0, 3.0, 10.0],
                        [-0.1, -0.3, -0.5], [0.1, 1.0, 1.0]),
             _cell_file(tmp_path / "c.npz", "ablation_b10_lr0p1", 0.1, 10, [0, 10, 100], [1.0, 2.0, 2.0],
                        [-0.1, -0.1, -0.1], [0.1, 0.5, 0.8]),
             _cell_file(tmp_path / "d.npz", "ablation_b512_lr0p1", 0.1, 512, [0, 10, 100], [1.0, 1.0, 1.0],
                        [-0.1, -0.1, -0.1], [0.1, 1.0, 1.0])]
    table = ablation_table(paths, OUTLIERS)
    assert len(table) == 12
    large = table[(table["lr"] == 0.05) & (table["batch_size"] == 512)]
    assert list(large["sharper_by"]) == pytest.approx([1.0, 1.5, 2.5])
    assert table.loc[table["batch_size"] == 10, "sharper_by"].isna().all()
    row = large.iloc[-1]
    assert row["negative_over_top"] == pytest.approx(0.05) and row["most_negative"] == -0.5
    counts = count_outliers(np.array([10.0, 5.0, 10 / 3, 0.25]), window=4, threshold=0.01)
    assert (row["gap"], row["ratio"], row["cutoff"], row["window"]) == (counts.gap, counts.ratio, counts.cutoff, 4)
    summary = ablation_summary(table).set_index("lr")
    assert summary.loc[0.05, "fits_at_b10"] == 100 and summary.loc[0.05, "fits_at_b512"] == 10
    assert summary.loc[0.05, "both_fit"] and summary.loc[0.05, "steps_both_need"] == 100
    assert not summary.loc[0.1, "both_fit"] and pd.isna(summary.loc[0.1, "fits_at_b10"])
    assert summary.loc[0.05, "sharper_by_at_end"] == pytest.approx(2.5)
    figure = ablation_figure(paths, outliers=OUTLIERS, title="t")
    # six panels; on each, one line per (step size, batch size) that has the quantity
    assert len(figure.axes) == 6
    assert [len(ax.lines) for ax in figure.axes] == [4, 2 + 1, 4, 4, 4, 4]  # + the line at 1
