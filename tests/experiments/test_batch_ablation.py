"""The batch ablation: the Lanczos edges along training against the Hessian from
``torch.func.hessian`` in float64 and the metrics against a direct evaluation; an
interrupted job resumes (its table and figure: tests/outputs/test_batch_ablation.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from cases import reference_hessian
from hessian_spectra.base.io import load_npz, save_npz
from hessian_spectra.data.split import Split, save_split
from hessian_spectra.experiments import batch_ablation
from hessian_spectra.experiments.batch_ablation import edges_along_training
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import TrainSettings, train

CONVNET = {"kind": "convnet", "input_shape": [1, 6, 6], "channels": [2, 3], "kernel_size": 3, "padding": 1,
           "hidden": 5, "out_features": 3, "seed": 1}
EXECUTION = {"device": "cpu", "batch_size": 7}
EDGES = {"points": 4, "k": 3, "tol": 1e-10, "max_products": 2000, "seed": 0}
CELL = {"run": "ablation_b8_lr0p2", "lr": 0.2, "batch_size": 8}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny convnet trained by SGD with log-spaced checkpoints, and its data file."""
    folder = tmp_path_factory.mktemp("run")
    generator = np.random.default_rng(0)
    x = generator.normal(size=(30, 1, 6, 6)).astype(np.float32)
    y = generator.integers(0, 3, size=30).astype(np.int64)
    data = Split(x[:20], y[:20], x[20:], y[20:], 3)
    save_split(data, folder / "data.npz", metadata={})
    settings = TrainSettings(algorithm="sgd", lr=0.2, max_steps=60, grad_tol=0.0, batch_size=8, eval_every=30,
                             checkpoint_every=60, log_checkpoints=4)
    train(build_model(CONVNET), data, settings, folder, show_progress=False)
    return folder, data


def _edges(trained, out):
    folder, _ = trained
    edges_along_training(CELL, CONVNET, EDGES, folder / "data.npz", folder, out, execution=EXECUTION)
    return load_npz(out)


def test_edges_along_training_match_torch_func_hessian_and_a_direct_evaluation(trained, tmp_path):
    folder, data = trained
    arrays, meta = _edges(trained, tmp_path / "edges.npz")
    # 4 of the checkpoints 0, 1, 2, 3, 6, 10, 18, 32, 56, 60: nearest to log(1 + step) = 0, 1.37, 2.74, 4.11
    assert list(arrays["steps"]) == [0, 3, 18, 60]
    assert (meta["run"], meta["lr"], meta["batch_size"], meta["k"]) == ("ablation_b8_lr0p2", 0.2, 8, 3)
    x, y = data.tensors("train")
    x_test, y_test = data.tensors("test")
    net = build_model(CONVNET)
    for i, step in enumerate(arrays["steps"]):
        net.load_state_dict(torch.load(folder / "checkpoints" / f"step_{step:08d}.pt", weights_only=True)["model"])
        exact = np.linalg.eigvalsh(reference_hessian(copy.deepcopy(net).double(), x.double(), y).numpy())
        scale = np.abs(exact).max()
        assert np.abs(arrays["largest"][i] - exact[::-1][:3]).max() <= 1e-8 * scale
        assert np.abs(arrays["smallest"][i] - exact[:3]).max() <= 1e-8 * scale
        assert arrays["converged"][i] and arrays["n_products"][i] > 0
        with torch.no_grad():
            for part, (inputs, labels) in (("train", (x, y)), ("test", (x_test, y_test))):
                logits = net(inputs)
                loss = torch.nn.functional.cross_entropy(logits, labels).item()
                accuracy = (logits.argmax(1) == labels).double().mean().item()
                assert arrays[f"{part}_loss"][i] == pytest.approx(loss, rel=1e-6)
                assert arrays[f"{part}_accuracy"][i] == pytest.approx(accuracy)
    assert not (tmp_path / "edges.npz.partial.npz").exists()


def test_an_interrupted_job_resumes_from_the_checkpoints_it_finished(trained, tmp_path, monkeypatch):
    whole, _ = _edges(trained, tmp_path / "whole.npz")
    measure, calls = batch_ablation._measure, []

    def stop_after_two(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return measure(*args, **kwargs)

    monkeypatch.setattr(batch_ablation, "_measure", stop_after_two)
    out = tmp_path / "edges.npz"
    with pytest.raises(KeyboardInterrupt):
        _edges(trained, out)
    assert not out.exists()
    partial, _ = load_npz(f"{out}.partial.npz")
    assert list(partial["steps"]) == [0, 3]
    calls.clear()
    monkeypatch.setattr(batch_ablation, "_measure", lambda *a, **k: (calls.append(1), measure(*a, **k))[1])
    resumed, _ = _edges(trained, out)
    assert len(calls) == 2  # only the two checkpoints not measured before
    for key in whole:
        np.testing.assert_array_equal(resumed[key], whole[key])
    # a partial file of other settings is not used
    save_npz(f"{out}.partial.npz", metadata={"settings": "other"}, **partial)
    calls.clear()
    _edges(trained, out)
    assert len(calls) == 4
    # another number of points keeps the measured checkpoints the new selection holds
    save_npz(f"{out}.partial.npz", metadata={"settings": batch_ablation._lanczos_settings(EDGES)}, **partial)
    calls.clear()
    folder, _ = trained
    edges_along_training(CELL, CONVNET, {**EDGES, "points": 2}, folder / "data.npz", folder, out, execution=EXECUTION)
    arrays, _ = load_npz(out)
    assert list(arrays["steps"]) == [0, 60] and len(calls) == 1  # step 0 from the partial file
    np.testing.assert_array_equal(arrays["largest"][0], whole["largest"][0])
