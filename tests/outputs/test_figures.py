"""The plotting step (``figures``): every kind of figure draws from cached files of the
workflow's formats, twice to the same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.base.io import save_npz
from hessian_spectra.experiments.appendix_b import appendix_b_spectra
from hessian_spectra.outputs.figures import PLOTS, draw

RNG = np.random.default_rng(0)


def _spectrum(path, num_params: int = 50) -> str:
    values = np.sort(np.concatenate([RNG.uniform(1, 2, 3), RNG.normal(0, 1e-3, num_params - 3)]))
    save_npz(path, metadata={"num_params": num_params, "method": "exact"}, hessian=values,
             gauss_newton=np.abs(values), residual=values - np.abs(values), largest=values[::-1].copy(),
             smallest=values.copy())
    return str(path)


def _lanczos_with_density(path, num_params: int = 500) -> str:
    values = np.sort(np.concatenate([RNG.uniform(1, 2, 3), RNG.normal(0, 1e-2, num_params - 3)]))
    nodes = np.sort(RNG.choice(values, (4, 20)), axis=1)
    save_npz(path, metadata={"num_params": num_params, "method": "lanczos"}, largest=values[::-1][:5].copy(),
             smallest=values[:5].copy(), slq_nodes=nodes, slq_weights=np.full_like(nodes, 1 / 20))
    return str(path)


def _pca(path) -> str:
    rows = ["k,component,explained_variance_ratio"] + [f"{k},{i + 1},{0.5 ** (i + 1)}" for k in (2, 5) for i in range(6)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def _appendix_b(path) -> str:
    appendix_b_spectra({"n_features": 20, "ratios": [0.5], "separation": 3.0, "n_classes": 2, "seed": 0}, str(path))
    return str(path)


def _along(path, k: int = 3) -> str:
    steps = np.array([0, 3, 30, 300])
    hessian = np.sort(RNG.normal(0, 1e-3, (4, 40)) + np.r_[np.ones(k), np.zeros(40 - k)], axis=1)
    save_npz(path, metadata={"run": "r", "num_params": 40, "k": k}, steps=steps,
             train_loss=np.array([2.0, 1.0, 0.1, 0.01]), hessian=hessian, residual_ratio=np.array([0.9, 0.5, 0.1, 0.01]))
    return str(path)


def _metrics(path, train_loss) -> str:
    steps = np.arange(len(train_loss)) * 10
    rows = ["step,train_loss,train_accuracy,grad_norm,test_loss,test_accuracy"] + [
        f"{s},{v},{1 - v / 3},1.0,{v + 0.1},{0.9 - v / 3}" for s, v in zip(steps, train_loss)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def _line(path) -> str:
    a = np.linspace(-1, 2, 7)
    save_npz(path, a=a, train_loss=0.1 + a**2, test_loss=0.2 + a**2, train_accuracy=1 - a**2 / 10,
             test_accuracy=0.9 - a**2 / 10)
    return str(path)


CASES = {
    "full_spectrum": lambda d: ([_spectrum(d / "a.npz"), _spectrum(d / "b.npz")], {}),
    "gauss_newton_split": lambda d: ([_spectrum(d / "a.npz"), _spectrum(d / "b.npz")], {}),
    "explained_variance": lambda d: ([_pca(d / "pca.csv")], {"top": 4}),
    "top_eigenvalues_by_k": lambda d: ([_spectrum(d / "a.npz"), _spectrum(d / "b.npz")],
                                       {"k": [2, 5], "thresholds": [0.1, 0.2], "top": 10}),
    "top_eigenvalues": lambda d: ([_spectrum(d / "a.npz")], {"labels": ["n = 3"], "top": 10}),
    "negative_eigenvalues": lambda d: ([_spectrum(d / "a.npz"), _spectrum(d / "b.npz", 80),
                                        _lanczos_with_density(d / "c.npz")],
                                       {"labels": ["a", "b", "estimated"], "by": "fraction"}),
    "marchenko_pastur": lambda d: ([_appendix_b(d / "b.npz")], {}),
    "spectrum_along_training": lambda d: ([_along(d / "a.npz"), _along(d / "b.npz", 5)], {
        "labels": ["a", "b"], "outliers": [{"window": 10, "threshold": 0.5}] * 2}),
    "negative_fraction_along_training": lambda d: ([_along(d / "a.npz")], {
        "labels": ["a"], "relative_tolerances": [1e-6, 1e-3], "reference": 0.01}),
    "batch_switch": lambda d: ([_metrics(d / "1.csv", [2.0, 1.0, 0.5]), _metrics(d / "2.csv", [0.5, 0.8, 0.3])], {}),
    "interpolation": lambda d: ([_line(d / "line.npz")], {}),
}


def test_every_kind_of_plot_has_a_case():
    assert set(CASES) == set(PLOTS)


@pytest.mark.parametrize("plot", sorted(CASES))
def test_each_kind_draws_pdf_and_png_reproducibly(tmp_path, plot):
    paths, options = CASES[plot](tmp_path)
    for name in ("one", "two"):
        draw(plot, paths, str(tmp_path / f"{name}.pdf"), dpi=40, title=f"{plot} test", **options)
    for suffix in ("pdf", "png"):
        first, second = ((tmp_path / f"{name}.{suffix}").read_bytes() for name in ("one", "two"))
        assert len(first) > 1000 and first == second


def test_unknown_plot_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="plot must be one of"):
        draw("pie", [], str(tmp_path / "x.pdf"), dpi=40)
