"""Config validation: the profiles are valid; bad values fail naming the field."""

from __future__ import annotations

import pytest
import yaml

from cases import DELETE, ROOT, with_field
from hessian_spectra.config.schema import load_config, validate_config
from hessian_spectra.config.specs import ConfigError

DEFAULT = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())


@pytest.mark.parametrize("profile", ["ci", "default", "paper"])
def test_profiles_are_valid_and_name_their_folders(profile):
    config = load_config(ROOT / "config" / f"{profile}.yaml")
    assert config["profile"] == profile


BAD = [
    # (field path, bad value, text the message must contain)
    ("colour", "red", "'colour': unknown key"),
    ("clusters.learning_rate", 0.1, "'clusters.learning_rate': unknown key"),
    ("seed", "zero", "'seed'"),
    ("seed", -1, "'seed'"),
    ("device", "gpu", "allowed values: auto, cpu, cuda"),
    ("families", ["clusters", "cifar"], "'families.1': 'cifar' is not allowed (allowed values: clusters, fidelity, "
                                        "width, batch, batch_ablation, along_training, switch, appendix_b)"),
    ("families", [], "'families'"),
    ("families", ["width", "width"], "'families'"),
    ("threads", 2, "'threads'"),
    ("threads.spectrum", 0, "'threads.spectrum'"),
    ("threads.eigensolver", 2, "'threads.eigensolver': unknown key"),
    ("threads.switch", DELETE, "'threads': 'switch' is a required property"),
    ("hessian.engine", "fast", "allowed values: auto, mlp, piecewise, generic"),
    ("hessian.memory_budget_gb", 0, "'hessian.memory_budget_gb'"),
    ("hessian.batch_size", 2.5, "'hessian.batch_size'"),
    ("hessian.chunk_size", DELETE, "'hessian': 'chunk_size' is a required property"),
    ("clusters.lr", -0.1, "'clusters.lr'"),
    ("clusters.lr", float("nan"), "'clusters.lr': nan is not a finite number"),
    ("width.lr", float("inf"), "'width.lr': inf is not a finite number"),
    ("clusters.groups.3.threshold", [0.1, float("nan"), 0.1, 0.1, 0.1], "'clusters.groups.3.threshold.1': nan is not"),
    ("clusters.init", "xavier", "allowed values: pytorch, authors"),
    ("clusters.hidden", [30, 0], "'clusters.hidden.1'"),
    ("clusters.max_steps.gd", 0, "'clusters.max_steps.gd'"),
    ("clusters.groups.0.algorithm", "adam", "allowed values: gd, sgd"),
    ("clusters.groups.1.activation", "gelu", "allowed values: relu, tanh"),
    ("clusters.groups.0.k", [1, 2], "'clusters.groups.0.k.0'"),
    ("clusters.groups.0.threshold", "high", "'clusters.groups.0.threshold'"),
    ("clusters.groups.3.threshold", [0.1, 0.2], "'clusters.groups.3.threshold': 2 values for 5 values of k"),
    ("clusters.fig1_run", "gd_relu_cov1_k7", "'clusters.fig1_run'"),
    ("clusters.fig3_group", "adam_relu", "'clusters.fig3_group'"),
    ("clusters.sgd_batch_size", 5000, "'clusters.sgd_batch_size'"),
    ("plots.dpi", 5, "'plots.dpi'"),
    ("profile", "my profile", "'profile'"),
    ("images.source.batch", "cifar10", "allowed values: digits, mnist, mnist_5k, fashion_mnist"),
    ("images.source", "digits", "'images.source'"),
    ("images.download", "yes", "'images.download'"),
    ("spectrum.method", "arnoldi", "allowed values: exact, range, lanczos, auto"),
    ("batch.batch_sizes", [10, 5000], "'batch.batch_sizes': [10, 5000] exceeds images.train_subset=1000"),
    ("batch.convnet.channels", [8], "'batch.convnet.channels'"),
    ("width.hidden", [], "'width.hidden'"),
    ("appendix_b.ratios", [0.2, 0], "'appendix_b.ratios.1'"),
    ("appendix_b.n_classes", 3, "'appendix_b.n_classes': 3 with separated clusters"),
    ("along_training.fig11.runs", ["gd_relu_cov1_k7"], "'along_training.fig11.runs.0': 'gd_relu_cov1_k7' is not a run"),
    ("along_training.negative_fraction.runs", ["gd_relu_cov1_k50"],
     "'along_training.negative_fraction.runs.0': 'gd_relu_cov1_k50' is not a run (allowed values: width_n6"),
    ("along_training.negative_fraction.relative_tolerances", [1e-3, 2], "'along_training.negative_fraction.relative_tolerances.1'"),
    ("along_training.fig11.points", 1, "'along_training.fig11.points'"),
    ("hessian.memory_budget_gb", 0.5, "'along_training.fig11.runs.0': the exact spectra of gd_relu_cov1_k50 need 0.90 GiB"),
    ("fidelity.groups", ["gd_relu_cov2"], "'fidelity.groups.0': 'gd_relu_cov2' is not a group (allowed values: gd_tanh"),
    ("fidelity.settings.0.init", "xavier", "allowed values: pytorch, authors"),
    ("fidelity.settings.1.name", "loose_pytorch_n1000", "'fidelity.settings': setting names must be unique"),
    ("fidelity.settings.3.n_train", 20, "'clusters.sgd_batch_size': 32 exceeds the smallest training size 20"),
    ("switch.source", "mnist", "allowed values: digits, cifar10"),
    ("switch.lr", float("nan"), "'switch.lr': nan is not a finite number"),
    ("switch.interpolation.points", 21, "'switch.interpolation': a = 0 is not on the grid of 21 points from -1 to 2"),
    ("switch.interpolation.stop", 0.5, "'switch.interpolation.stop'"),
    ("switch.batch_sizes.part1", 1100, "'switch.batch_sizes.part1': 1100 exceeds the 1078 training images of digits"),
    ("switch.net.kernel_size", 9, "'switch.net': input_shape=(1, 8, 8) is too small for kernel_size=9"),
    ("switch.steps", {"part1": 10}, "'switch.steps': 'part2' is a required property"),
    ("batch_ablation.lrs", [], "'batch_ablation.lrs'"),
    ("batch_ablation.lrs", [0.05, -0.1], "'batch_ablation.lrs.1'"),
    ("batch_ablation.lrs", [0.05, 0.05], "'batch_ablation.lrs'"),
    ("batch_ablation.k", 1, "'batch_ablation.k'"),
    ("batch_ablation.points", 1, "'batch_ablation.points'"),
    ("batch_ablation.lanczos_tol", 0.5, "'batch_ablation.lanczos_tol'"),
    ("batch_ablation.depth", 3, "'batch_ablation.depth': unknown key (allowed keys at 'batch_ablation': k, lanczos_max_products"),
]


def test_mnist_5k_needs_images_left_to_test_on():
    config = with_field(with_field(DEFAULT, "images.source.batch", "mnist_5k"), "images.train_subset", 5000)
    config = with_field(config, "along_training.negative_fraction.runs", ["width_n10"])  # a 28x28 convnet needs 10+ GiB
    with pytest.raises(ConfigError, match=r"'images.train_subset': 5000 leaves no test images of mnist_5k's 5000 "
                                          r"\(allowed values: 10 to 4999\)"):
        validate_config(config)
    validate_config(with_field(config, "images.train_subset", 1000))  # the paper's 1,000: 4,000 left to test on


@pytest.mark.parametrize("path, value, message", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_rejected_naming_the_field(path, value, message):
    with pytest.raises(ConfigError) as error:
        validate_config(with_field(DEFAULT, path, value))
    assert message in str(error.value)


def test_fig1_run_error_lists_the_allowed_runs():
    with pytest.raises(ConfigError, match="allowed values: gd_tanh_cov1_k2"):
        validate_config(with_field(DEFAULT, "clusters.fig1_run", "nope"))


def test_every_problem_is_reported_at_once():
    bad = with_field(with_field(DEFAULT, "seed", "zero"), "device", "gpu")
    with pytest.raises(ConfigError) as error:
        validate_config(bad)
    assert "'seed'" in str(error.value) and "'device'" in str(error.value)
