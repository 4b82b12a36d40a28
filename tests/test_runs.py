"""Workflow steps shared by the families: models from config sections, data files, spectra."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessian_spectra.data import gaussian_clusters
from hessian_spectra.hessian import exact_hessian, num_parameters
from hessian_spectra.io import load_npz, save_torch
from hessian_spectra.runs import build_model, choose_method, load_data, save_data, spectrum

MLP = {"kind": "mlp", "in_features": 5, "hidden": [6], "out_features": 3, "activation": "tanh", "seed": 1}
CONVNET = {"kind": "convnet", "input_shape": [1, 8, 8], "out_features": 10, "channels": [2, 3],
           "kernel_size": 3, "padding": 1, "hidden": 4, "seed": 1}
HESSIAN = {"engine": "auto", "batch_size": 16, "chunk_size": 8, "memory_budget_gb": 1.0}


def test_build_model_is_seeded_and_knows_both_kinds():
    a, b = build_model(MLP), build_model(MLP)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert num_parameters(a) == 5 * 6 + 6 + 6 * 3 + 3
    assert build_model(CONVNET)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="kind"):
        build_model({**MLP, "kind": "resnet"})


def test_choose_method():
    assert choose_method("auto", 1000, budget_gb=1.0, n_matrices=1) == "exact"
    assert choose_method("auto", 100_000, budget_gb=1.0, n_matrices=1) == "lanczos"
    assert choose_method("lanczos", 10, budget_gb=1.0, n_matrices=1) == "lanczos"
    with pytest.raises(ValueError, match="spectrum.method"):
        choose_method("power", 10, budget_gb=1.0, n_matrices=1)


@pytest.fixture()
def saved_run(tmp_path):
    split = gaussian_clusters(k=3, cov=1.0, n_train=40, n_test=10, n_features=5, seed=0)
    save_data(split, tmp_path / "data.npz", metadata={"k": 3})
    net = build_model(MLP)
    save_torch({"model": net.state_dict()}, tmp_path / "final.pt")
    run = {"run": "r", "model": MLP, "outliers": {"window": 10, "threshold": 0.01}}
    return run, net, tmp_path


def test_data_round_trip(saved_run):
    _, _, folder = saved_run
    split = load_data(folder / "data.npz")
    assert split.n_classes == 3 and split.x_train.shape == (40, 5)


def test_exact_spectrum_file_against_eigvalsh(saved_run):
    run, net, folder = saved_run
    spectrum(run, folder / "data.npz", folder / "final.pt", folder / "s.npz", hessian=HESSIAN, decompose=True)
    arrays, meta = load_npz(folder / "s.npz")
    x, y = load_data(folder / "data.npz").tensors()
    expected = torch.linalg.eigvalsh(exact_hessian(net, x, y)).numpy()
    assert np.allclose(arrays["hessian"], expected, atol=1e-12)
    assert np.array_equal(arrays["largest"], arrays["hessian"][::-1])
    assert np.array_equal(arrays["smallest"], arrays["hessian"])
    assert set(arrays) >= {"gauss_newton", "residual"}
    assert meta["method"] == "exact" and meta["num_params"] == len(expected)
    assert meta["outliers"]["cutoff"] == int(np.sum(expected > 0.01))


def test_split_without_the_exact_method_is_refused(saved_run):
    run, _, folder = saved_run
    with pytest.raises(ValueError, match="memory_budget_gb"):
        spectrum(run, folder / "data.npz", folder / "final.pt", folder / "s.npz", hessian=HESSIAN,
                 decompose=True, method="lanczos", edge={"k": 3, "tol": 1e-10, "max_products": 500})
    assert not (folder / "s.npz").exists()
