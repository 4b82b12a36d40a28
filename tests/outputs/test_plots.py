"""The plots (``plots``): files written whole and reproducibly; what a plot refuses."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.outputs import plots


def test_save_figure_writes_pdf_and_png_with_the_same_bytes_each_time(tmp_path):
    values = np.linspace(-1, 3, 50)
    for name in ("a", "b"):
        plots.save_figure(plots.full_spectrum(values, values / 2, "t"), str(tmp_path / f"{name}.pdf"), dpi=40)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "a.png", "b.pdf", "b.png"]
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()  # no creation date inside


def test_save_figure_needs_a_pdf_path(tmp_path):
    with pytest.raises(ValueError, match=".pdf path"):
        plots.save_figure(plots.full_spectrum(np.ones(3), np.ones(3), "t"), str(tmp_path / "x.png"))


def test_negative_eigenvalues_counts_only_those_below_the_numerical_zero():
    fig = plots.negative_eigenvalues({"run": (np.array([-0.5, -1e-18, 0.0, 2.0]), 4, None)}, "count", "t")
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == [-0.5]
    with pytest.raises(ValueError, match="by must be"):
        plots.negative_eigenvalues({"a": (np.array([-1.0, 1.0]), 2, None)}, "rank", "t")
