"""Config validation: the profiles are valid; bad values fail naming the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from cases import ROOT
from hessian_spectra.config import (ConfigError, cluster_run, image_run, image_run_ids, load_config, run_ids,
                                    validate_config)

DEFAULT = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())


@pytest.mark.parametrize("profile", ["ci", "default", "paper"])
def test_profiles_are_valid_and_name_their_folders(profile):
    config = load_config(ROOT / "config" / f"{profile}.yaml")
    assert config["profile"] == profile


def test_default_profile_has_the_19_runs_of_table_1():
    assert len(run_ids(DEFAULT)) == 19
    assert cluster_run(DEFAULT, "sgd_relu_cov10_k50")["outliers"]["threshold"] == 0.005
    assert cluster_run(DEFAULT, "sgd_relu_cov10_k20")["outliers"]["threshold"] == 0.015


def _set(config: dict, path: str, value) -> dict:
    config = copy.deepcopy(config)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return config


DELETE = object()
BAD = [
    # (field path, bad value, text the message must contain)
    ("colour", "red", "'colour': unknown key"),
    ("clusters.learning_rate", 0.1, "'clusters.learning_rate': unknown key"),
    ("seed", "zero", "'seed'"),
    ("seed", -1, "'seed'"),
    ("device", "gpu", "allowed values: auto, cpu, cuda"),
    ("threads", 0, "'threads'"),
    ("hessian.engine", "fast", "allowed values: auto, mlp, piecewise, generic"),
    ("hessian.memory_budget_gb", 0, "'hessian.memory_budget_gb'"),
    ("hessian.batch_size", 2.5, "'hessian.batch_size'"),
    ("hessian.chunk_size", DELETE, "'hessian': 'chunk_size' is a required property"),
    ("clusters.lr", -0.1, "'clusters.lr'"),
    ("clusters.hidden", [30, 0], "'clusters.hidden.1'"),
    ("clusters.max_steps.gd", 0, "'clusters.max_steps.gd'"),
    ("clusters.groups.0.algorithm", "adam", "allowed values: gd, sgd"),
    ("clusters.groups.1.activation", "gelu", "allowed values: relu, tanh"),
    ("clusters.groups.0.k", [1, 2], "'clusters.groups.0.k.0'"),
    ("clusters.groups.0.cutoff", "high", "'clusters.groups.0.cutoff'"),
    ("clusters.groups.3.cutoff", [0.1, 0.2], "'clusters.groups.3.cutoff': 2 values for 5 values of k"),
    ("clusters.fig1_run", "gd_relu_cov1_k7", "'clusters.fig1_run'"),
    ("clusters.fig3_group", "adam_relu", "'clusters.fig3_group'"),
    ("clusters.sgd_batch_size", 5000, "'clusters.sgd_batch_size'"),
    ("plots.dpi", 5, "'plots.dpi'"),
    ("profile", "my profile", "'profile'"),
    ("images.source", "cifar10", "allowed values: digits, mnist, fashion_mnist"),
    ("images.download", "yes", "'images.download'"),
    ("spectrum.method", "arnoldi", "allowed values: exact, lanczos, auto"),
    ("batch.batch_sizes", [10, 5000], "'batch.batch_sizes': [10, 5000] exceeds images.train_subset=1000"),
    ("batch.convnet.channels", [8], "'batch.convnet.channels'"),
    ("width.hidden", [], "'width.hidden'"),
]


@pytest.mark.parametrize("path, value, message", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_rejected_naming_the_field(path, value, message):
    with pytest.raises(ConfigError) as error:
        validate_config(_set(DEFAULT, path, value))
    assert message in str(error.value)


def test_fig1_run_error_lists_the_allowed_runs():
    with pytest.raises(ConfigError, match="allowed values: gd_tanh_cov1_k2"):
        validate_config(_set(DEFAULT, "clusters.fig1_run", "nope"))


def test_every_problem_is_reported_at_once():
    bad = _set(_set(DEFAULT, "seed", "zero"), "device", "gpu")
    with pytest.raises(ConfigError) as error:
        validate_config(bad)
    assert "'seed'" in str(error.value) and "'device'" in str(error.value)


def test_training_params_do_not_include_counting_settings():
    """Changing an outlier cutoff must not retrain: the train rule only sees these sections."""
    a = cluster_run(DEFAULT, "gd_relu_cov1_k5")
    b = cluster_run(_set(DEFAULT, "clusters.groups.1.cutoff", 0.5), "gd_relu_cov1_k5")
    assert {k: a[k] for k in ("data", "model", "train")} == {k: b[k] for k in ("data", "model", "train")}
    assert a["outliers"] != b["outliers"]


def test_image_runs_share_step_size_and_steps_within_a_family():
    """The paper: same step size and same number of steps for every width and both batch sizes."""
    ids = image_run_ids(DEFAULT)
    assert ids == {"width": ["width_n10", "width_n30", "width_n50", "width_n70"], "batch": ["batch_b10", "batch_b512"]}
    for family in ids.values():
        trains = [image_run(DEFAULT, r)["train"] for r in family]
        assert len({(t["lr"], t["max_steps"]) for t in trains}) == 1
    widths = [image_run(DEFAULT, r)["model"] for r in ids["width"]]
    assert [w["in_features"] for w in widths] == [64] * 4 and [w["hidden"] for w in widths] == [[10], [30], [50], [70]]
    assert [image_run(DEFAULT, r)["train"]["batch_size"] for r in ids["batch"]] == [10, 512]


def test_paper_profile_uses_mnist_and_the_31770_parameter_convnet():
    from hessian_spectra.runs import build_model
    from hessian_spectra.hessian import num_parameters

    paper = load_config(ROOT / "config" / "paper.yaml")
    assert image_run(paper, "width_n70")["model"]["in_features"] == 784
    assert num_parameters(build_model(image_run(paper, "width_n70")["model"])) == 55660
    assert num_parameters(build_model(image_run(paper, "batch_b512")["model"])) == 31770


def test_unknown_image_run_is_rejected():
    with pytest.raises(KeyError, match="width_n11"):
        image_run(DEFAULT, "width_n11")
