"""Family D, the batch switch: its data step, Part II starting from Part I's end point,
kill-and-resume, the straight line between the two end points, and the table."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from cases import ROOT
from data_files import write_cifar
from hessian_spectra.base.io import load_npz, save_npz
from hessian_spectra.config.schema import validate_config
from hessian_spectra.config.specs import interpolation_grid, switch_runs
from hessian_spectra.data.cifar import load_cifar10
from hessian_spectra.data.images import digits_pixels
from hessian_spectra.data.split import load_split
from hessian_spectra.data.switch import make_switch_data
from hessian_spectra.experiments.switch import (INTERPOLATION_FIELDS, interpolate, interpolate_state,
                                                load_interpolation, switch_curves)
from hessian_spectra.outputs.tables import batch_switch_table, write_batch_switch
from hessian_spectra.pipeline import runs as runs_module
from hessian_spectra.pipeline.runs import train_run
from hessian_spectra.training.models import load_model
from hessian_spectra.training.train import train

CI = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())


class Interrupted(Exception):
    pass


# ----------------------------------------------------------------------------- the grid

def test_the_papers_grid_has_22_even_points_with_0_and_1_exactly_on_it():
    grid = interpolation_grid(-1.0, 2.0, 22)
    np.testing.assert_allclose(grid, np.linspace(-1, 2, 22), rtol=0, atol=1e-15)
    assert grid[7] == 0.0 and grid[14] == 1.0
    assert np.all(np.diff(grid) > 0)


@pytest.mark.parametrize("start, stop, points, missing", [(-1.0, 2.0, 21, "0"), (0.0, 1.5, 3, "1"), (-0.3, 1.0, 5, "0")])
def test_a_grid_without_0_or_1_is_rejected_naming_the_field(start, stop, points, missing):
    with pytest.raises(ValueError, match=rf"'switch.interpolation': a = {missing} is not on the grid"):
        interpolation_grid(start, stop, points)


# ----------------------------------------------------------------------------- interpolating states

def _net_with_buffers(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    net.train()
    net(torch.randn(16, 3))  # moves the running statistics away from their initial values
    return net


def test_parameters_and_floating_buffers_move_on_the_straight_line():
    first, last = _net_with_buffers(0).state_dict(), _net_with_buffers(1).state_dict()
    assert not torch.equal(first["1.running_mean"], last["1.running_mean"])
    for a in (-1.0, 0.25, 0.5, 0.75, 2.0):
        state = interpolate_state(first, last, a)
        for name, value in first.items():
            if value.is_floating_point():  # oracle: the formula written out
                torch.testing.assert_close(state[name], value + a * (last[name] - value), rtol=1e-6, atol=1e-6)
        assert torch.equal(state["1.num_batches_tracked"], first["1.num_batches_tracked"])
    for a, end in ((0.0, first), (1.0, last)):  # exactly the end points, not just close
        state = interpolate_state(first, last, a)
        assert all(torch.equal(state[name], end[name]) for name in end)


def test_a_differing_integer_buffer_cannot_be_interpolated():
    first = _net_with_buffers(0).state_dict()
    last = {**first, "1.num_batches_tracked": first["1.num_batches_tracked"] + 1}
    with pytest.raises(ValueError, match="1.num_batches_tracked: a non-floating tensor"):
        interpolate_state(first, last, 0.5)


# ----------------------------------------------------------------------------- the data step

def test_digits_data_are_standardised_per_channel_from_the_training_images(tmp_path):
    data = {"source": "digits", "data_dir": "unused", "download": False, "digits_test_size": 0.4, "seed": 0}
    make_switch_data(data, tmp_path / "switch.npz")
    split, (arrays, metadata) = load_split(tmp_path / "switch.npz"), load_npz(tmp_path / "switch.npz")
    pixels = digits_pixels(test_size=0.4, seed=0)
    mean, std = pixels.x_train.astype(np.float64).mean(), pixels.x_train.astype(np.float64).std()
    np.testing.assert_allclose(metadata["channel_mean"], [mean], rtol=1e-12)
    np.testing.assert_allclose(metadata["channel_std"], [std], rtol=1e-12)
    np.testing.assert_allclose(split.x_test, (pixels.x_test - mean) / std, rtol=0, atol=1e-5)
    assert split.x_train.shape == (1078, 1, 8, 8) and abs(split.x_train.mean()) < 1e-5
    assert metadata["source"] == "digits" and metadata["n_classes"] == 10


def test_cifar10_data_step_reads_the_python_batches_and_saves_the_constants(tmp_path, no_network):
    write_cifar(tmp_path / "data", per_batch=3, n_test=4)
    data = {"source": "cifar10", "data_dir": str(tmp_path / "data"), "download": False, "digits_test_size": 0.4,
            "seed": 0}
    make_switch_data(data, tmp_path / "switch.npz")
    split, (_, metadata) = load_split(tmp_path / "switch.npz"), load_npz(tmp_path / "switch.npz")
    expected, constants = load_cifar10(tmp_path / "data")
    assert split.x_train.shape == (15, 3, 32, 32) and split.x_test.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(split.x_train, expected.x_train)
    assert metadata["channel_mean"] == constants["channel_mean"] and len(metadata["channel_std"]) == 3


def test_missing_cifar10_fails_in_the_data_step_and_writes_nothing(tmp_path, no_network):
    data = {"source": "cifar10", "data_dir": str(tmp_path), "download": False, "digits_test_size": 0.4, "seed": 0}
    with pytest.raises(FileNotFoundError, match="CIFAR10 data not found"):
        make_switch_data(data, tmp_path / "switch.npz")
    assert not (tmp_path / "switch.npz").exists()


# ----------------------------------------------------------------------------- both parts and the line

def _small_config(**steps) -> dict:
    config = copy.deepcopy(CI)
    config["switch"].update(net={"channels": [4, 4], "kernel_size": 3, "padding": 1, "pool": 3, "pool_stride": 2,
                                 "hidden": [8]},
                            batch_sizes={"part1": 200, "part2": 8}, steps={"part1": 12, "part2": 12, **steps},
                            record_every=4, eval_batch_size=300, lr=0.1,
                            interpolation={"start": -1.0, "stop": 2.0, "points": 7})
    return validate_config(config)


@pytest.fixture(scope="module")
def switch_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("switch") / "switch.npz"
    data = {"source": "digits", "data_dir": "unused", "download": False, "digits_test_size": 0.4, "seed": 0}
    make_switch_data(data, path)
    return path


def _part2(runs: dict, data, folder) -> None:
    train_run(runs["part2"], data, folder / "part2", device="cpu", family="switch",
              start=folder / "part1" / "final.pt")


def _both_parts(runs: dict, data, folder) -> None:
    train_run(runs["part1"], data, folder / "part1", device="cpu", family="switch")
    _part2(runs, data, folder)


def _interrupt(step, model):
    if step == 9:
        raise Interrupted


def _killed_part2(runs: dict, data, folder, monkeypatch) -> None:
    """Part I, then Part II killed after 9 of its steps (between two checkpoints)."""
    train_run(runs["part1"], data, folder / "part1", device="cpu", family="switch")
    monkeypatch.setattr(runs_module, "train", functools.partial(train, callback=_interrupt))
    with pytest.raises(Interrupted):
        _part2(runs, data, folder)
    monkeypatch.setattr(runs_module, "train", train)
    assert not (folder / "part2" / "final.pt").exists()


def _last_record(folder) -> dict:
    """The last metrics row at full precision (the final checkpoint's, not the CSV's 10 digits)."""
    newest = sorted((folder / "checkpoints").glob("step_*.pt"))[-1]
    return torch.load(newest, weights_only=True)["metrics"][-1]


def test_part2_starts_at_part1s_end_and_the_line_reproduces_both_ends_exactly(tmp_path, switch_data):
    runs = switch_runs(_small_config())
    _both_parts(runs, switch_data, tmp_path)
    part1_end = torch.load(tmp_path / "part1" / "final.pt", weights_only=True)["model"]
    part2_start = torch.load(tmp_path / "part2" / "init.pt", weights_only=True)["model"]
    assert all(torch.equal(part1_end[name], part2_start[name]) for name in part1_end)
    grid = interpolation_grid(-1.0, 2.0, 7)
    out = tmp_path / "line.npz"
    interpolate(runs["part1"]["model"], switch_data, tmp_path / "part1" / "final.pt",
                tmp_path / "part2" / "final.pt", grid, out, eval_batch_size=300, device="cpu")
    line = load_interpolation(out)
    for a, part in ((0.0, "part1"), (1.0, "part2")):
        record = _last_record(tmp_path / part)
        at = line[line["a"] == a].iloc[0]
        assert all(at[field] == record[field] for field in INTERPOLATION_FIELDS), (a, dict(at), record)
    # an independent evaluation at a = 0.5: the averaged weights, loaded by hand
    part2_end = torch.load(tmp_path / "part2" / "final.pt", weights_only=True)["model"]
    net = load_model(runs["part1"]["model"], tmp_path / "part1" / "final.pt")
    net.load_state_dict({name: (part1_end[name] + part2_end[name]) / 2 for name in part1_end})
    split = load_split(switch_data)
    with torch.no_grad():
        loss = nn.functional.cross_entropy(net(torch.from_numpy(split.x_test)), torch.from_numpy(split.y_test))
    assert line[line["a"] == 0.5]["test_loss"].iloc[0] == pytest.approx(loss.item(), rel=1e-5)
    # Part II's records continue Part I's steps in the curves
    curves = switch_curves([tmp_path / "part1" / "metrics.csv", tmp_path / "part2" / "metrics.csv"])
    assert curves["total_step"].tolist() == [0, 4, 8, 12, 12, 16, 20, 24]


def test_a_killed_part2_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path, switch_data, monkeypatch):
    runs = switch_runs(_small_config())
    _both_parts(runs, switch_data, tmp_path / "straight")
    _killed_part2(runs, switch_data, tmp_path / "resumed", monkeypatch)
    _part2(runs, switch_data, tmp_path / "resumed")
    for part in ("part1", "part2"):
        straight = torch.load(tmp_path / "straight" / part / "final.pt", weights_only=True)["model"]
        resumed = torch.load(tmp_path / "resumed" / part / "final.pt", weights_only=True)["model"]
        assert all(torch.equal(straight[name], resumed[name]) for name in straight)
    assert ((tmp_path / "straight" / "part2" / "metrics.csv").read_text()
            == (tmp_path / "resumed" / "part2" / "metrics.csv").read_text())
    # checkpoints every record, only the newest two kept besides step 0
    kept = sorted(p.name for p in (tmp_path / "resumed" / "part2" / "checkpoints").iterdir())
    assert kept == ["step_00000000.pt", "step_00000008.pt", "step_00000012.pt"]


def test_part2_never_resumes_checkpoints_made_from_other_start_weights(tmp_path, switch_data, monkeypatch):
    runs = switch_runs(_small_config())
    _both_parts(runs, switch_data, tmp_path / "straight")
    other = switch_runs(_small_config(part1=8))  # a shorter Part I: another start for Part II
    _killed_part2(other, switch_data, tmp_path / "resumed", monkeypatch)
    _both_parts(runs, switch_data, tmp_path / "resumed")  # back to the real Part I
    straight = torch.load(tmp_path / "straight" / "part2" / "final.pt", weights_only=True)["model"]
    resumed = torch.load(tmp_path / "resumed" / "part2" / "final.pt", weights_only=True)["model"]
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)


# ----------------------------------------------------------------------------- the table

def _metrics(tmp_path, name, steps, train_loss):
    n = len(steps)
    frame = pd.DataFrame({"step": steps, "train_loss": train_loss, "train_accuracy": np.linspace(0.5, 0.9, n),
                          "grad_norm": 1.0, "test_loss": np.array(train_loss) + 0.1,
                          "test_accuracy": np.linspace(0.4, 0.8, n)})
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _line(tmp_path, a, train_loss, ends):
    values = {"train_loss": np.array(train_loss, dtype=float)}
    values["test_loss"] = values["train_loss"] + 0.1
    values["train_accuracy"] = np.full(len(a), 0.7)
    values["test_accuracy"] = np.full(len(a), 0.6)
    for a_end, row in ends:
        i = list(a).index(a_end)
        for field in INTERPOLATION_FIELDS:
            values[field][i] = row[field]
    save_npz(tmp_path / "line.npz", a=np.array(a, dtype=float), **values)
    return tmp_path / "line.npz"


def test_the_table_reads_the_ends_the_jump_and_the_barrier(tmp_path):
    p1, m1 = _metrics(tmp_path, "part1", [0, 10, 20], [2.0, 0.5, 0.2])
    p2, m2 = _metrics(tmp_path, "part2", [0, 10, 20], [0.2, 0.6, 0.1])
    a = [-1.0, 0.0, 0.5, 1.0, 2.0]
    line = _line(tmp_path, a, [3.0, 0, 0.3, 0, 4.0], [(0.0, m1.iloc[-1]), (1.0, m2.iloc[-1])])
    write_batch_switch([p1, p2], line, str(tmp_path / "batch_switch"), "caption")
    table = pd.read_csv(tmp_path / "batch_switch.csv").set_index("quantity")
    assert table.loc["end of Part I", "step"] == 20 and table.loc["end of Part II", "step"] == 40
    assert table.loc["first record after the switch", "step"] == 30
    assert table.loc["jump (after - end of Part I)", "train_loss"] == pytest.approx(0.6 - 0.2)
    assert table.loc["change over Part II (end II - end I)", "train_loss"] == pytest.approx(0.1 - 0.2)
    barrier = table.iloc[-1]
    assert barrier["train_loss"] == pytest.approx(0.3 / 0.2)  # the bump at a = 0.5 over the higher end
    assert barrier["test_loss"] == pytest.approx(0.4 / 0.3)
    assert barrier["test_accuracy"] == pytest.approx(0.6 - 0.8)  # lowest inside minus the lower end
    assert "| end of Part I" in (tmp_path / "batch_switch.md").read_text()


def test_the_table_refuses_a_line_whose_ends_are_not_the_runs_ends(tmp_path):
    p1, m1 = _metrics(tmp_path, "part1", [0, 10], [2.0, 0.5])
    p2, m2 = _metrics(tmp_path, "part2", [0, 10], [0.5, 0.4])
    line = _line(tmp_path, [0.0, 0.5, 1.0], [0, 0.3, 0], [(0.0, m1.iloc[-1]), (1.0, m1.iloc[-1])])
    with pytest.raises(ValueError, match="a = 1 does not reproduce the end of Part 2"):
        batch_switch_table(switch_curves([p1, p2]), load_interpolation(line))
