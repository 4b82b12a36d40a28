"""Spectra along training: which checkpoints training saves and which are used, and the
spectra, counts, losses and R/H ratios at them against an independent computation
(``torch.func.hessian`` in float64, G from per-sample Jacobians)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call, hessian, jacrev

from hessian_spectra.data.clusters import gaussian_clusters
from hessian_spectra.data.split import save_split
from hessian_spectra.experiments.along_training import checkpoint_steps, select_checkpoints, spectra_along_training
from hessian_spectra.spectra.counts import count_outliers, load_along_training, negative_fraction
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import TrainSettings, log_spaced_steps, train

MLP = {"kind": "mlp", "in_features": 4, "hidden": [5], "out_features": 3, "activation": "tanh", "seed": 2}
EXECUTION = {"device": "cpu", "engine": "auto", "batch_size": 16, "chunk_size": 8, "memory_budget_gb": 1.0}
OUTLIERS = {"window": 10, "threshold": 0.01}


def test_log_spaced_steps_are_the_rounded_powers_of_ten():
    assert log_spaced_steps(4, 100) == [1, 2, 3, 6, 10, 18, 32, 56, 100]
    assert log_spaced_steps(1, 999) == [1, 10, 100]
    assert log_spaced_steps(0, 100) == []


def test_select_checkpoints_keeps_both_ends_and_spaces_the_rest_in_log_steps():
    steps = [0, *log_spaced_steps(4, 8500), 2000, 4000, 6000, 8000, 8500]
    chosen = select_checkpoints(steps, 6)
    assert len(chosen) == 6 and chosen[0] == 0 and chosen[-1] == 8500 and set(chosen) <= set(steps)
    # targets evenly spaced in log(1 + step): 0, 5.1, 36, 227, 1394, 8500; the nearest in log(1 + step)
    assert chosen == [0, 6, 32, 178, 1778, 8500]
    assert select_checkpoints([0, 5, 9], 12) == [0, 5, 9]
    with pytest.raises(ValueError, match="points"):
        select_checkpoints(steps, 1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny GD run with 4 log checkpoints per decade, and its data."""
    folder = tmp_path_factory.mktemp("run")
    data = gaussian_clusters(k=3, cov=1.0, n_train=30, n_test=10, n_features=4, seed=0)
    save_split(data, folder / "data.npz", metadata={"k": 3})
    settings = TrainSettings(algorithm="gd", lr=0.5, max_steps=150, grad_tol=1e-12, eval_every=50,
                             checkpoint_every=100, log_checkpoints=4)
    train(build_model(MLP), data, settings, folder, show_progress=False)
    return folder, data


def test_training_saves_the_log_spaced_checkpoints_and_ends_where_a_run_without_them_ends(trained, tmp_path):
    folder, data = trained
    assert checkpoint_steps(folder) == [0, 1, 2, 3, 6, 10, 18, 32, 56, 100, 150]
    plain = build_model(MLP)
    train(plain, data, TrainSettings(algorithm="gd", lr=0.5, max_steps=150, grad_tol=1e-12, eval_every=50,
                                     checkpoint_every=100), tmp_path, show_progress=False)
    final = torch.load(folder / "final.pt", weights_only=True)["model"]
    assert all(torch.equal(final[name], value) for name, value in plain.state_dict().items())


def _oracle(state: dict, x: torch.Tensor, y: torch.Tensor):
    """H (torch.func.hessian) and G (per-sample Jacobians) in float64, and the loss."""
    net = build_model(MLP).double()
    net.load_state_dict(state)
    names = [name for name, _ in net.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    shapes = [p.shape for p in net.parameters()]

    def unflatten(w):
        parts, start = {}, 0
        for name, shape in zip(names, shapes):
            parts[name] = w[start:start + shape.numel()].reshape(shape)
            start += shape.numel()
        return parts

    def logits(w):
        return functional_call(net, unflatten(w), (x.double(),))

    def loss(w):
        return torch.nn.functional.cross_entropy(logits(w), y)

    jac = jacrev(logits)(flat)  # (N, C, M)
    p = torch.softmax(logits(flat), dim=1)
    curvature = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    gauss_newton = torch.einsum("ncm,ncd,ndk->mk", jac, curvature, jac) / len(x)
    return hessian(loss)(flat), gauss_newton, loss(flat).item()


def test_spectra_along_training_against_torch_func_hessian(trained, tmp_path):
    folder, data = trained
    out = tmp_path / "along.npz"
    spectra_along_training("r", MLP, {"points": 4, "split": True}, folder / "data.npz", folder, out,
                           execution=EXECUTION)
    along = load_along_training(out, OUTLIERS)
    assert list(along["steps"]) == select_checkpoints(checkpoint_steps(folder), 4)
    assert along["k"] == 3 and along["num_params"] == 43
    x, y = data.tensors("train")
    for i, step in enumerate(along["steps"]):
        state = torch.load(folder / "checkpoints" / f"step_{step:08d}.pt", weights_only=True)["model"]
        full, gauss_newton, loss = _oracle(state, x, y)
        expected = np.linalg.eigvalsh(full.numpy())
        assert np.allclose(along["hessian"][i], expected, atol=1e-10)
        residual = np.linalg.eigvalsh((full - gauss_newton).numpy())
        assert along["residual_ratio"][i] == pytest.approx(np.abs(residual).max() / expected[-1], rel=1e-6)
        assert along["train_loss"][i] == pytest.approx(loss, rel=1e-5)  # the float32 net against float64
        assert along["counts"][i] == count_outliers(expected, **OUTLIERS)
        assert along["negative_fraction"][i] == negative_fraction(expected)
    assert along["train_loss"][-1] < along["train_loss"][0]


def test_spectra_along_training_without_the_split_has_no_residual_ratio(trained, tmp_path):
    folder, _ = trained
    spectra_along_training("r", MLP, {"points": 3, "split": False}, folder / "data.npz", folder,
                           tmp_path / "along.npz", execution=EXECUTION)
    along = load_along_training(tmp_path / "along.npz")
    assert len(along["steps"]) == 3 and np.isnan(along["residual_ratio"]).all() and "counts" not in along


def test_negative_fraction_depends_on_the_numerical_zero_rule():
    values = np.array([-1e-2, -1e-5, -1e-15, 0.0, 1e-3, 1.0] + [0.5] * 4)
    assert negative_fraction(values) == pytest.approx(0.2)  # round-off: 10 * eps * 1 is about 2e-15
    assert negative_fraction(values, 1e-6) == pytest.approx(0.2)
    assert negative_fraction(values, 1e-4) == pytest.approx(0.1)
    assert negative_fraction(values, 1e-1) == 0.0
