"""Appendix B's measurement (``appendix_b``): G of the linear softmax model from the project's
engines equals the Kronecker form A (x) S, and the figure's spectra have the right shape."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.base.io import load_npz
from hessian_spectra.experiments.appendix_b import appendix_b_spectra, gaussian_inputs, linear_softmax_gauss_newton
from hessian_spectra.spectra.random_matrix import bbp_outlier, marchenko_pastur_edges


@pytest.mark.parametrize("n_classes", [2, 3])
def test_gauss_newton_at_zero_weights_is_a_kronecker_product_with_the_sample_covariance(n_classes):
    x, y = gaussian_inputs(60, 7, n_classes, 0.0, seed=3)
    s = (x.T @ x / len(x)).numpy()
    a = (np.eye(n_classes) - 1 / n_classes) / n_classes
    expected = np.linalg.eigvalsh(np.kron(a, s))
    assert np.allclose(linear_softmax_gauss_newton(x, y, n_classes), expected, atol=1e-13)


def test_separated_clusters_are_shifted_along_the_first_axis_only():
    x, y = gaussian_inputs(4000, 3, 2, 3.0, seed=0)
    means = np.stack([x[y == c].numpy().mean(0) for c in (0, 1)])
    assert means[1, 0] - means[0, 0] == pytest.approx(3.0, abs=0.1)
    assert np.abs(means[:, 1:]).max() < 0.1
    with pytest.raises(ValueError, match="n_classes = 2"):
        gaussian_inputs(10, 3, 3, 1.0, seed=0)


def test_spectra_file_holds_one_panel_per_ratio_and_the_bbp_panel(tmp_path):
    settings = {"n_features": 50, "ratios": [0.2, 1.0], "separation": 3.0, "n_classes": 2, "seed": 0}
    appendix_b_spectra(settings, str(tmp_path / "b.npz"))
    arrays, metadata = load_npz(tmp_path / "b.npz")
    assert [p["ratio"] for p in metadata["panels"]] == [0.2, 1.0, 0.2]
    assert [p["n"] for p in metadata["panels"]] == [250, 50, 250]
    assert all(len(arrays[f"panel{i}"]) == 50 and arrays[f"panel{i}"].min() > 0 for i in range(3))
    edge = marchenko_pastur_edges(0.2)[1]
    assert arrays["panel0"].max() < 1.3 * edge  # no outlier without clusters
    outlier = bbp_outlier(metadata["panels"][2]["spike"], 0.2)
    assert arrays["panel2"].max() == pytest.approx(outlier, rel=0.15) and arrays["panel2"][-2] < 1.3 * edge
