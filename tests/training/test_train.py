"""Training: convergence, determinism, and kill-and-resume."""

from __future__ import annotations

import csv

import pytest
import torch

from hessian_spectra.data.clusters import gaussian_clusters
from hessian_spectra.training.models import mlp
from hessian_spectra.training.train import (NonFiniteError, TrainSettings, _DeviceBatches, batch_indices, evaluate,
                                   full_gradient_norm, train)

DATA = dict(k=3, cov=1.0, n_train=60, n_test=30, n_features=5, seed=0)


class Interrupted(Exception):
    pass


def _model(seed=0):
    torch.manual_seed(seed)
    return mlp(5, [6], 3, "tanh")


def _settings(algorithm="sgd", **overrides):
    base = dict(algorithm=algorithm, lr=0.5, max_steps=120, grad_tol=1e-12, batch_size=8,
                eval_every=10, checkpoint_every=25, seed=0)
    return TrainSettings(**{**base, **overrides})


def _weights(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def test_gd_reaches_the_gradient_tolerance_on_a_tiny_problem(tmp_path):
    data = gaussian_clusters(**DATA)
    model = _model()
    result = train(model, data, _settings("gd", lr=1.0, max_steps=20000, grad_tol=3e-3), tmp_path,
                   show_progress=False)
    assert result.converged and result.steps < 20000
    x, y = data.tensors()
    assert full_gradient_norm(model, x, y) < 3e-3
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert int(rows[-1]["step"]) == result.steps and float(rows[-1]["grad_norm"]) < 3e-3
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


@pytest.mark.parametrize("algorithm", ["gd", "sgd"])
def test_kill_and_resume_gives_the_same_final_weights(tmp_path, algorithm):
    data = gaussian_clusters(**DATA)
    straight = _model()
    train(straight, data, _settings(algorithm), tmp_path / "straight", show_progress=False)

    def interrupt(step, model):
        if step == 63:
            raise Interrupted

    with pytest.raises(Interrupted):
        train(_model(), data, _settings(algorithm), tmp_path / "resumed", callback=interrupt,
              show_progress=False)
    assert not (tmp_path / "resumed" / "final.pt").exists()
    resumed = _model(seed=99)  # different init: the checkpoint must win
    train(resumed, data, _settings(algorithm), tmp_path / "resumed", show_progress=False)
    assert torch.equal(_weights(straight), _weights(resumed))
    assert (tmp_path / "straight" / "metrics.csv").read_text() == (tmp_path / "resumed" / "metrics.csv").read_text()
    init = torch.load(tmp_path / "resumed" / "init.pt", weights_only=True)["model"]
    assert torch.equal(init["0.weight"], _model().state_dict()["0.weight"])


def test_checkpoints_of_other_settings_are_not_reused(tmp_path):
    data = gaussian_clusters(**DATA)
    first = _model()
    train(first, data, _settings(lr=0.5), tmp_path, show_progress=False)
    second = _model()
    train(second, data, _settings(lr=0.1), tmp_path, show_progress=False)
    fresh = _model()
    train(fresh, data, _settings(lr=0.1), tmp_path / "fresh", show_progress=False)
    assert torch.equal(_weights(second), _weights(fresh))
    assert not torch.equal(_weights(first), _weights(second))


def test_same_seed_same_run(tmp_path):
    data = gaussian_clusters(**DATA)
    a, b = _model(), _model()
    train(a, data, _settings(), tmp_path / "a", show_progress=False)
    train(b, data, _settings(), tmp_path / "b", show_progress=False)
    assert torch.equal(_weights(a), _weights(b))


def test_batch_indices_cover_each_epoch_once_and_depend_on_the_seed():
    epoch = [batch_indices(step, 40, 8, seed=1) for step in range(5)]
    assert sorted(int(i) for batch in epoch for i in batch) == list(range(40))
    assert not (batch_indices(0, 40, 8, 1) == batch_indices(5, 40, 8, 1)).all()  # next epoch reshuffles
    assert not (batch_indices(0, 40, 8, 1) == batch_indices(0, 40, 8, 2)).all()


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="algorithm"):
        _settings("adam")
    with pytest.raises(ValueError, match="batch_size"):
        _settings("sgd", batch_size=0)
    with pytest.raises(ValueError, match="stop_on must be one of"):
        _settings("sgd", stop_on="either")
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        _settings("gd", lr=float("nan"))


def test_sgd_mini_batch_stop_ends_at_the_first_mini_batch_below_the_tolerance(tmp_path):
    """Against a plain SGD loop written out here: the same mini-batches, stopped before the
    first step whose own mini-batch gradient norm is below the tolerance."""
    data = gaussian_clusters(**DATA)
    x, y = data.tensors()
    settings = _settings("sgd", lr=0.5, max_steps=3000, grad_tol=2e-2, batch_size=8, stop_on="mini_batch")
    model = _model()
    result = train(model, data, settings, tmp_path, show_progress=False)

    reference = _model()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    for step in range(3000):
        idx = torch.from_numpy(batch_indices(step, len(x), 8, 0))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(reference(x[idx]), y[idx]).backward()
        if torch.sqrt(sum((p.grad.double() ** 2).sum() for p in reference.parameters())) < 2e-2:
            break
        optimizer.step()
    assert 0 < step < 3000 and result.converged and result.steps == step
    assert torch.equal(_weights(model), _weights(reference))
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert int(rows[-1]["step"]) == step
    assert float(rows[-1]["grad_norm"]) == pytest.approx(full_gradient_norm(model, x, y), rel=1e-6)
    # the full-batch rule on the same run stops elsewhere (every eval_every = 10 steps)
    other = train(_model(), data, _settings("sgd", lr=0.5, max_steps=3000, grad_tol=2e-2, batch_size=8),
                  tmp_path / "full", show_progress=False)
    assert other.steps % 10 == 0 and other.steps != step


@pytest.mark.parametrize("algorithm", ["gd", "sgd"])
def test_a_diverging_run_stops_at_the_first_non_finite_step_and_writes_nothing_final(tmp_path, algorithm):
    """GD reads its gradient norm every step and stops at once; SGD without a per-step
    stopping test checks on the device and reads the verdict at the next metrics row or
    checkpoint, naming the same first step and saving no checkpoint past it."""
    data = gaussian_clusters(**DATA)
    finite_after = {}  # steps taken -> whether the weights are finite

    def watch(step, model):
        finite_after[step] = bool(torch.isfinite(_weights(model)).all())

    torch.manual_seed(0)
    relu = mlp(5, [6], 3, "relu")  # unbounded activations: a huge step overflows within a few steps
    with pytest.raises(NonFiniteError, match=r"training diverged at step (\d+).*lower the step size") as error:
        train(relu, data, _settings(algorithm, lr=1e8, max_steps=200, grad_tol=0.0), tmp_path,
              show_progress=False, callback=watch)
    step = int(error.value.args[0].split("step ")[1].split(":")[0])
    # the weights the loss of that step was computed from came from finite steps ...
    assert all(finite_after[k] for k in range(1, step))
    if algorithm == "gd":
        assert max(finite_after) == step  # ... and GD took no step past it
    else:  # ... and SGD's step there produced non-finite weights, found at the next check
        assert not finite_after[step + 1] and max(finite_after) % 10 == 0
    assert not any((tmp_path / name).exists() for name in ("final.pt", "init.pt", "metrics.csv"))
    for path in (tmp_path / "checkpoints").glob("*.pt"):
        state = torch.load(path, weights_only=True)
        assert state["step"] <= step
        assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_chunked_evaluation_and_gradient_norm_match_one_pass():
    data = gaussian_clusters(**DATA)
    model = _model()
    x, y = data.tensors()
    whole_loss, whole_accuracy = evaluate(model, x, y)
    for chunk in (7, 25, 59):
        loss, accuracy = evaluate(model, x, y, chunk)
        assert loss == pytest.approx(whole_loss, rel=1e-6) and accuracy == whole_accuracy
        assert full_gradient_norm(model, x, y, chunk) == pytest.approx(full_gradient_norm(model, x, y), rel=1e-5)
    with torch.no_grad():  # oracle: per-example losses summed by hand
        by_hand = sum(torch.nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).item() for i in range(len(x)))
    assert whole_loss == pytest.approx(by_hand / len(x), rel=1e-5)


def test_device_batches_are_the_documented_batch_indices():
    batches = _DeviceBatches(n=40, batch_size=8, seed=3, device=torch.device("cpu"))
    for step in (0, 1, 4, 5, 13, 4):  # also going back to an earlier epoch
        assert batches(step).tolist() == batch_indices(step, 40, 8, 3).tolist()


def test_keep_checkpoints_keeps_step_0_the_log_spaced_and_the_newest(tmp_path):
    data = gaussian_clusters(**DATA)
    settings = _settings("sgd", max_steps=60, checkpoint_every=10, log_checkpoints=1, keep_checkpoints=2)
    train(_model(), data, settings, tmp_path, show_progress=False)
    steps = sorted(int(p.stem.removeprefix("step_")) for p in (tmp_path / "checkpoints").glob("step_*.pt"))
    assert steps == [0, 1, 10, 50, 60]  # 1 and 10: log-spaced, one per decade
