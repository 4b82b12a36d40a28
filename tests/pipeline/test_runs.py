"""The workflow's shared steps (``runs``): training a run from its sections, and a spectrum
file against an independent eigensolve; execution settings do not change the numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hessian_spectra.base.io import load_npz
from hessian_spectra.data.clusters import gaussian_clusters
from hessian_spectra.data.split import load_split, save_split
from hessian_spectra.hessian.dense import exact_hessian
from hessian_spectra.pipeline.runs import spectrum, train_run
from hessian_spectra.spectra.counts import negative_part
from hessian_spectra.spectra.density import negative_estimate
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import NonFiniteError

MLP = {"kind": "mlp", "in_features": 5, "hidden": [6], "out_features": 3, "activation": "tanh", "seed": 1}
EXACT = {"method": "exact", "decompose": True, "num_params": 57, "lanczos": None}
EXECUTION = {"device": "cpu", "engine": "auto", "batch_size": 16, "chunk_size": 8, "memory_budget_gb": 1.0}


@pytest.fixture()
def saved_run(tmp_path):
    split = gaussian_clusters(k=3, cov=1.0, n_train=40, n_test=10, n_features=5, seed=0)
    save_split(split, tmp_path / "data.npz", metadata={"k": 3})
    net = build_model(MLP)
    torch.save({"model": net.state_dict()}, tmp_path / "final.pt")
    return net, tmp_path


def test_exact_spectrum_file_against_eigvalsh(saved_run):
    net, folder = saved_run
    spectrum("r", MLP, EXACT, folder / "data.npz", folder / "final.pt", folder / "s.npz", execution=EXECUTION)
    arrays, meta = load_npz(folder / "s.npz")
    x, y = load_split(folder / "data.npz").tensors()
    expected = np.linalg.eigvalsh(exact_hessian(net, x, y, engine="generic").numpy())
    assert np.allclose(arrays["hessian"], expected, atol=1e-12)
    assert np.array_equal(arrays["largest"], arrays["hessian"][::-1])
    assert np.array_equal(arrays["smallest"], arrays["hessian"])
    # H = G + R: traces add up, and G is positive semi-definite
    assert arrays["gauss_newton"].sum() + arrays["residual"].sum() == pytest.approx(arrays["hessian"].sum(), rel=1e-10)
    assert arrays["gauss_newton"].min() > -1e-12 * arrays["gauss_newton"].max()
    assert meta["method"] == "exact" and meta["num_params"] == len(expected) == EXACT["num_params"]


@pytest.mark.parametrize("execution", [{"engine": "generic"}, {"batch_size": 7}, {"chunk_size": 3}],
                         ids=["engine", "batch_size", "chunk_size"])
def test_execution_settings_do_not_change_the_spectrum(saved_run, execution):
    """Why they are resources, not params, in the workflow: a change must rerun nothing."""
    _, folder = saved_run
    spectrum("r", MLP, EXACT, folder / "data.npz", folder / "final.pt", folder / "a.npz", execution=EXECUTION)
    spectrum("r", MLP, EXACT, folder / "data.npz", folder / "final.pt", folder / "b.npz",
             execution={**EXECUTION, **execution})
    a, b = load_npz(folder / "a.npz")[0], load_npz(folder / "b.npz")[0]
    for name in ("hessian", "gauss_newton", "residual"):
        assert np.allclose(a[name], b[name], rtol=0, atol=1e-13 * np.abs(a["hessian"]).max()), name


def test_range_spectrum_file_holds_every_eigenvalue(tmp_path):
    """A ReLU net wide enough that r = N C + 2 |S| < M: the file holds what the exact
    method's would, eigvalsh of the dense H, and says how it was computed."""
    relu = {**MLP, "in_features": 40, "hidden": [12], "activation": "relu"}  # M = 531, r = 30 + 78
    split = gaussian_clusters(k=3, cov=1.0, n_train=10, n_test=4, n_features=40, seed=0)
    save_split(split, tmp_path / "data.npz", metadata={"k": 3})
    net = build_model(relu)
    torch.save({"model": net.state_dict()}, tmp_path / "final.pt")
    ranged = {"method": "range", "decompose": False, "num_params": 531, "lanczos": None, "dimension": 108}
    spectrum("r", relu, ranged, tmp_path / "data.npz", tmp_path / "final.pt", tmp_path / "s.npz", execution=EXECUTION)
    arrays, meta = load_npz(tmp_path / "s.npz")
    x, y = load_split(tmp_path / "data.npz").tensors()
    expected = np.linalg.eigvalsh(exact_hessian(net, x, y).numpy())
    assert np.allclose(arrays["hessian"], expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert np.array_equal(arrays["smallest"], arrays["hessian"]) and len(arrays["largest"]) == 531
    assert meta["method"] == "range" and meta["range"]["dimension"] == 108 and meta["range"]["check"] < 1e-10


def test_lanczos_spectrum_file_holds_the_edges_with_their_convergence(saved_run):
    net, folder = saved_run
    lanczos = {**EXACT, "method": "lanczos", "decompose": False,
               "lanczos": {"k": 3, "tol": 1e-10, "max_products": 2000, "seed": 4}}
    spectrum("r", MLP, lanczos, folder / "data.npz", folder / "final.pt", folder / "s.npz", execution=EXECUTION)
    arrays, meta = load_npz(folder / "s.npz")
    x, y = load_split(folder / "data.npz").tensors()
    exact = np.linalg.eigvalsh(exact_hessian(net, x, y).numpy())
    assert np.allclose(arrays["largest"], exact[::-1][:3], atol=1e-8) and np.allclose(arrays["smallest"], exact[:3], atol=1e-8)
    assert meta["method"] == "lanczos" and meta["lanczos"]["converged"] and "hessian" not in arrays


def test_lanczos_spectrum_file_with_an_slq_density_brackets_the_negative_count(saved_run):
    net, folder = saved_run
    lanczos = {**EXACT, "method": "lanczos", "decompose": False,
               "lanczos": {"k": 3, "tol": 1e-10, "max_products": 2000, "seed": 4},
               "slq": {"probes": 6, "steps": 20, "seed": 1}}
    spectrum("r", MLP, lanczos, folder / "data.npz", folder / "final.pt", folder / "s.npz", execution=EXECUTION)
    arrays, meta = load_npz(folder / "s.npz")
    assert arrays["slq_nodes"].shape == arrays["slq_weights"].shape == (6, 20) and meta["slq"]["probes"] == 6
    x, y = load_split(folder / "data.npz").tensors()
    exact = np.linalg.eigvalsh(exact_hessian(net, x, y).numpy())
    count = negative_estimate(arrays, meta["num_params"])
    assert count.low <= len(negative_part(exact)) <= count.high


def test_train_run_writes_the_run_folder(saved_run):
    _, folder = saved_run
    run = {"run": "r", "data": {"k": 3}, "model": MLP,
           "train": {"algorithm": "gd", "lr": 0.1, "max_steps": 5, "grad_tol": 0.0, "eval_every": 2,
                     "checkpoint_every": 2, "seed": 0}}
    train_run(run, folder / "data.npz", folder / "run", device="cpu")
    assert {p.name for p in (folder / "run").iterdir()} == {"init.pt", "final.pt", "metrics.csv", "checkpoints"}
    rows = (folder / "run" / "metrics.csv").read_text().splitlines()
    assert rows[-1].startswith("5,") and len(rows) == 1 + 4  # steps 0, 2, 4 and the end


@pytest.mark.parametrize("family, field", [("clusters", "clusters.lr"), ("width", "width.lr"), ("batch", "batch.lr"),
                                           ("switch", "switch.lr")])
def test_a_diverging_run_names_its_step_and_the_config_field_to_change(saved_run, family, field):
    _, folder = saved_run
    relu = {**MLP, "activation": "relu"}
    run = {"run": "r", "data": {"k": 3}, "model": relu,
           "train": {"algorithm": "gd", "lr": 1e8, "max_steps": 50, "grad_tol": 0.0, "eval_every": 2,
                     "checkpoint_every": 2, "seed": 0}}
    with pytest.raises(NonFiniteError, match=rf"r: training diverged at step \d+.*config field '{field}'"):
        train_run(run, folder / "data.npz", folder / "run", device="cpu", family=family)
    assert not (folder / "run" / "final.pt").exists()
