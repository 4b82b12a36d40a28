"""The workflow configuration: loading, validation against the schema, and derived run lists.

``validate_config`` is what the Snakefile calls at parse time, so a bad config fails
before any job starts, with every offending field named by its dotted path.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration breaks the schema or a cross-field rule; the message names the fields."""


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
    if error.validator == "oneOf" and error.absolute_path and error.absolute_path[-1] == "cutoff":
        return f"config field '{where}': {error.instance!r} must be a number >= 0 or a list of them, one per k"
    return f"config field '{where}': {error.message}"


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def run_ids(config: dict) -> list[str]:
    """Every Family A training run, as ``<group>_k<k>``."""
    return [f"{group['name']}_k{k}" for group in config["clusters"]["groups"] for k in group["k"]]


def validate_config(config: dict) -> dict:
    """Raise ConfigError listing every problem; return ``config`` unchanged when it is valid."""
    errors = sorted(Draft202012Validator(load_schema()).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_describe(e) for e in errors]
    if not problems:
        problems = _cross_field_problems(config)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _cross_field_problems(config: dict) -> list[str]:
    clusters = config["clusters"]
    groups = clusters["groups"]
    names = [g["name"] for g in groups]
    problems = []
    if len(set(names)) != len(names):
        problems.append(f"config field 'clusters.groups': group names must be unique, got {names}")
    for i, group in enumerate(groups):
        if isinstance(group["cutoff"], list) and len(group["cutoff"]) != len(group["k"]):
            problems.append(f"config field 'clusters.groups.{i}.cutoff': {len(group['cutoff'])} values for "
                            f"{len(group['k'])} values of k; give one number or one per k")
    if clusters["fig1_run"] not in run_ids(config):
        problems.append(f"config field 'clusters.fig1_run': {clusters['fig1_run']!r} is not a run "
                        f"(allowed values: {', '.join(run_ids(config))})")
    if clusters["fig3_group"] not in names:
        problems.append(f"config field 'clusters.fig3_group': {clusters['fig3_group']!r} is not a group "
                        f"(allowed values: {', '.join(names)})")
    for section, field in (("width", "sgd_batch_size"), ("batch", "batch_sizes")):
        sizes = config[section][field]
        if max(sizes if isinstance(sizes, list) else [sizes]) > config["images"]["train_subset"]:
            problems.append(f"config field '{section}.{field}': {sizes} exceeds images.train_subset="
                            f"{config['images']['train_subset']}")
    if clusters["sgd_batch_size"] > clusters["n_train"]:
        problems.append(f"config field 'clusters.sgd_batch_size': {clusters['sgd_batch_size']} exceeds "
                        f"clusters.n_train={clusters['n_train']}")
    return problems


def image_run_ids(config: dict) -> dict[str, list[str]]:
    """Family B and C runs: ``width_n<n>`` per hidden width, ``batch_b<b>`` per batch size."""
    return {"width": [f"width_n{n}" for n in config["width"]["hidden"]],
            "batch": [f"batch_b{b}" for b in config["batch"]["batch_sizes"]]}


def image_data(config: dict) -> dict:
    """The image data section (source, subset, split) with the seed, in a fixed key order."""
    images = config["images"]
    keys = ("source", "data_dir", "download", "digits_test_size", "train_subset")
    return {**{key: images[key] for key in keys}, "seed": config["seed"]}


def image_run(config: dict, run_id: str) -> dict:
    """Everything that defines one Family B (``width_n<n>``) or C (``batch_b<b>``) run, in the
    sections of ``cluster_run``."""
    from .images import INPUT_SHAPES  # noqa: PLC0415 (keeps this module light)

    seed = config["seed"]
    shape = list(INPUT_SHAPES[config["images"]["source"]])
    spectrum = config["spectrum"]
    if run_id not in sum(image_run_ids(config).values(), []):
        raise KeyError(f"unknown run {run_id!r}; runs: {image_run_ids(config)}")
    family, _, size = run_id.partition("_")
    section = config[family]
    if family == "width":
        model = {"kind": "mlp", "in_features": shape[0] * shape[1] * shape[2], "hidden": [int(size[1:])],
                 "out_features": 10, "activation": section["activation"], "flatten": True, "seed": seed}
        train = {"algorithm": section["algorithm"], "lr": section["lr"],
                 "batch_size": section["sgd_batch_size"] if section["algorithm"] == "sgd" else 0}
    else:
        net = section["convnet"]
        model = {"kind": "convnet", "input_shape": shape, "out_features": 10,
                 "channels": list(net["channels"]), "kernel_size": net["kernel_size"],
                 "padding": net["padding"], "hidden": net["hidden"], "seed": seed}
        train = {"algorithm": "sgd", "lr": section["lr"], "batch_size": int(size[1:])}
    # the paper: the same step size and the same number of steps for every run of a family
    train.update(max_steps=section["steps"], grad_tol=0.0, eval_every=section["eval_every"],
                 checkpoint_every=section["checkpoint_every"], seed=seed)
    return {"run": run_id, "group": family, "data": image_data(config), "model": model, "train": train,
            "outliers": {"window": spectrum["outlier_window"], "threshold": spectrum["cutoff"]}}


def spectrum_edge(config: dict) -> dict:
    """Lanczos settings of the image families, in a fixed key order."""
    spectrum = config["spectrum"]
    return {"k": spectrum["edge_k"], "tol": spectrum["lanczos_tol"], "max_products": spectrum["lanczos_max_products"]}


def load_config(path: str | Path) -> dict:
    """Read and validate a profile file."""
    with open(path) as handle:
        return validate_config(yaml.safe_load(handle))


def hessian_settings(config: dict) -> dict:
    """The ``hessian`` section in a fixed key order (Snakemake compares params as text, so
    the order must not depend on how the YAML file was written)."""
    return {key: config["hessian"][key] for key in ("engine", "batch_size", "chunk_size", "memory_budget_gb")}


def cluster_data(config: dict, k: int, cov: float) -> dict:
    """The arguments of ``data.gaussian_clusters`` for k clusters of spread ``cov``."""
    clusters = config["clusters"]
    return {"k": int(k), "cov": float(cov), "n_train": clusters["n_train"], "n_test": clusters["n_test"],
            "n_features": clusters["n_features"], "seed": config["seed"]}


def cluster_run(config: dict, run_id: str) -> dict:
    """Everything that defines one Family A run, in sections that the workflow passes as
    ``params`` to the steps that depend on them (so a change reruns exactly those):
    ``data`` (make_blobs and split), ``model``, ``train``, ``outliers`` (counting)."""
    clusters = config["clusters"]
    for group in clusters["groups"]:
        for i, k in enumerate(group["k"]):
            if f"{group['name']}_k{k}" != run_id:
                continue
            cutoff = group["cutoff"][i] if isinstance(group["cutoff"], list) else group["cutoff"]
            algorithm = group["algorithm"]
            return {
                "run": run_id, "group": group["name"],
                "data": cluster_data(config, k, group["cov"]),
                "model": {"kind": "mlp", "in_features": clusters["n_features"],
                          "hidden": list(clusters["hidden"]), "out_features": k,
                          "activation": group["activation"], "seed": config["seed"]},
                "train": {"algorithm": algorithm, "lr": clusters["lr"], "grad_tol": clusters["grad_tol"],
                          "max_steps": clusters["max_steps"][algorithm],
                          "batch_size": clusters["sgd_batch_size"] if algorithm == "sgd" else 0,
                          "eval_every": clusters["eval_every"],
                          "checkpoint_every": clusters["checkpoint_every"], "seed": config["seed"]},
                "outliers": {"window": clusters["outlier_window"], "threshold": cutoff},
            }
    raise KeyError(f"unknown run {run_id!r}; runs: {', '.join(run_ids(config))}")
