"""The workflow configuration: loading a profile and validating it against the schema
(``workflow/schemas/config.schema.yaml``) and the cross-field rules.

``validate_config`` is what the Snakefile calls at parse time, so a bad config fails
before any job starts, with every offending field named by its dotted path. The runs a
valid config defines are built in ``specs``. Parsing imports no torch.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from ..data.sources import N_CIFAR10_TRAIN, N_MNIST_5K, digits_train_size
from .file import read_config_file
from .sizes import BUDGET_FIELD, dense_matrices_bytes, parameter_count
from .specs import ConfigError, _batch_runs, _cluster_runs, _switch_model, _width_runs, interpolation_grid

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


def _field(path) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


def _describe(error) -> str:
    """One line per schema violation, naming the field and, where known, the allowed values."""
    where = _field(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"config field '{_field([*error.absolute_path, unknown[0]])}': unknown key (allowed keys at '{where}': {', '.join(allowed)})"
    if error.validator == "enum":
        return f"config field '{where}': {error.instance!r} is not allowed (allowed values: {', '.join(map(str, error.validator_value))})"
    if error.validator == "oneOf" and error.absolute_path and error.absolute_path[-1] == "threshold":
        return f"config field '{where}': {error.instance!r} must be a number >= 0 or a list of them, one per k"
    return f"config field '{where}': {error.message}"


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def load_config(path: str | Path) -> dict:
    """Read and validate a profile file (a syntax error names the file and the line)."""
    return validate_config(read_config_file(path))


def _non_finite(node, path: tuple = ()) -> list[str]:
    """The fields holding NaN or an infinity (YAML ``.nan``, ``.inf``): the schema's bounds
    let NaN through (every comparison with it is false), so they are checked here."""
    if isinstance(node, float) and not math.isfinite(node):
        return [f"config field '{_field(path)}': {node} is not a finite number"]
    if isinstance(node, dict):
        return [problem for key, value in node.items() for problem in _non_finite(value, (*path, key))]
    if isinstance(node, list):
        return [problem for i, value in enumerate(node) for problem in _non_finite(value, (*path, i))]
    return []


def validate_config(config: dict) -> dict:
    """Raise ConfigError listing every problem; return ``config`` unchanged when it is valid."""
    errors = sorted(Draft202012Validator(load_schema()).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = _non_finite(config) + [_describe(e) for e in errors]
    if not problems:
        problems = _cross_field_problems(config)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _cross_field_problems(config: dict) -> list[str]:
    """The rules the schema cannot state, one message per broken rule. About 60 lines, on
    purpose: a flat list of independent checks, in the order of the config's sections."""
    clusters = config["clusters"]
    groups = clusters["groups"]
    names = [g["name"] for g in groups]
    problems = []
    if len(set(names)) != len(names):
        problems.append(f"config field 'clusters.groups': group names must be unique, got {names}")
    for i, group in enumerate(groups):
        if isinstance(group["threshold"], list) and len(group["threshold"]) != len(group["k"]):
            problems.append(f"config field 'clusters.groups.{i}.threshold': {len(group['threshold'])} values for "
                            f"{len(group['k'])} values of k; give one number or one per k")
    cluster_runs = _cluster_runs(config)
    cluster_ids = list(cluster_runs)
    if clusters["fig1_run"] not in cluster_ids:
        problems.append(f"config field 'clusters.fig1_run': {clusters['fig1_run']!r} is not a run "
                        f"(allowed values: {', '.join(cluster_ids)})")
    if clusters["fig3_group"] not in names:
        problems.append(f"config field 'clusters.fig3_group': {clusters['fig3_group']!r} is not a group "
                        f"(allowed values: {', '.join(names)})")
    for section, field in (("width", "sgd_batch_size"), ("batch", "batch_sizes")):
        sizes = config[section][field]
        if max(sizes if isinstance(sizes, list) else [sizes]) > config["images"]["train_subset"]:
            problems.append(f"config field '{section}.{field}': {sizes} exceeds images.train_subset="
                            f"{config['images']['train_subset']}")
    images = config["images"]
    if "mnist_5k" in images["source"].values() and images["train_subset"] >= N_MNIST_5K:
        problems.append(f"config field 'images.train_subset': {images['train_subset']} leaves no test images of "
                        f"mnist_5k's {N_MNIST_5K} (allowed values: 10 to {N_MNIST_5K - 1})")
    appendix = config["appendix_b"]
    if appendix["separation"] > 0 and appendix["n_classes"] != 2:
        problems.append(f"config field 'appendix_b.n_classes': {appendix['n_classes']} with separated clusters "
                        f"(appendix_b.separation={appendix['separation']}); allowed values: 2")
    fidelity = config["fidelity"]
    settings = [setting["name"] for setting in fidelity["settings"]]
    if len(set(settings)) != len(settings):
        problems.append(f"config field 'fidelity.settings': setting names must be unique, got {settings}")
    for i, name in enumerate(fidelity["groups"]):
        if name not in names:
            problems.append(f"config field 'fidelity.groups.{i}': {name!r} is not a group "
                            f"(allowed values: {', '.join(names)})")
    along = config["along_training"]
    image_runs = {**_width_runs(config), **_batch_runs(config)}
    image_ids = list(image_runs)
    models = {run_id: run["model"] for run_id, run in {**cluster_runs, **image_runs}.items()}
    budget_gb = config["hessian"]["memory_budget_gb"]
    for field, allowed, n_matrices in (("fig11", cluster_ids, 3), ("negative_fraction", image_ids, 1)):
        for i, run in enumerate(along[field]["runs"]):
            if run not in allowed:
                problems.append(f"config field 'along_training.{field}.runs.{i}': {run!r} is not a run "
                                f"(allowed values: {', '.join(allowed)})")
                continue
            need_gb = dense_matrices_bytes(parameter_count(models[run]), n_matrices) / 2**30
            if need_gb > budget_gb:  # spectra along training are always exact
                problems.append(f"config field 'along_training.{field}.runs.{i}': the exact spectra of {run} need "
                                f"{need_gb:.2f} GiB, over {BUDGET_FIELD}={budget_gb}")
    problems += _switch_problems(config["switch"])
    smallest_n = min([clusters["n_train"], *(setting["n_train"] for setting in fidelity["settings"])])
    if clusters["sgd_batch_size"] > smallest_n:
        problems.append(f"config field 'clusters.sgd_batch_size': {clusters['sgd_batch_size']} exceeds "
                        f"the smallest training size {smallest_n} (clusters.n_train, fidelity.settings)")
    return problems


def _switch_problems(switch: dict) -> list[str]:
    """Family D: the interpolation grid holds a = 0 and 1; the batches fit the training set;
    the net fits the images."""
    problems = []
    grid = switch["interpolation"]
    try:
        interpolation_grid(grid["start"], grid["stop"], grid["points"])
    except ValueError as error:
        problems.append(str(error))
    n_train = N_CIFAR10_TRAIN if switch["source"] == "cifar10" else digits_train_size(switch["digits_test_size"])
    for part, size in switch["batch_sizes"].items():
        if size > n_train:
            problems.append(f"config field 'switch.batch_sizes.{part}': {size} exceeds the {n_train} training "
                            f"images of {switch['source']}")
    try:
        parameter_count(_switch_model(switch, 0))
    except ValueError as error:
        problems.append(f"config field 'switch.net': {error}")
    return problems
