"""The runs a workflow configuration defines, as data (loading and validation: ``schema``).

``family_runs`` builds every training run of every family as data, from the config
values themselves; the workflow passes each step only the sections of a run it depends
on, so a change reruns exactly what it affects. Parsing imports no torch.

Names: a *family* is one experiment of the paper (``clusters``: Family A, Fig. 1-3 and
Table 1; ``width``: Family B, Fig. 4-6; ``batch``: Family C, Fig. 7-8; ``fidelity``: the
ablation of Family A's settings behind the fidelity table; ``batch_ablation``: the runs of
Family C's step-size and training-length ablation that Family C does not train; and apart, ``switch``: Family D,
Fig. 9 and 10, two runs, ``part1`` and ``part2``, the second starting where the first
ends). Family A's runs come in
*groups* (the rows of Table 1 that share algorithm, activation and spread).
A *data set* is what runs train on: one Gaussian-cluster set per (k, cov, N), one image set
shared by ``width`` and ``batch``. The outlier ``threshold`` is the number the ``cutoff``
counting method compares eigenvalues with.
"""

from __future__ import annotations

import numpy as np

from ..data.sources import INPUT_SHAPES
from .sizes import BUDGET_FIELD, dense_matrices_bytes, parameter_count, range_dimension, range_matrices_bytes

#: the families (Family A, B, C of the paper)
FAMILIES = ("clusters", "width", "batch", "fidelity", "batch_ablation")
#: the families that train on Gaussian clusters (Table 1's runs and the ablation around them)
CLUSTER_FAMILIES = ("clusters", "fidelity")
N_IMAGE_CLASSES = 10
SPECTRUM_METHODS = ("exact", "range", "lanczos", "auto")


class ConfigError(ValueError):
    """The configuration breaks the schema or a cross-field rule; the message names the fields."""


def interpolation_grid(start: float, stop: float, points: int) -> np.ndarray:
    """``points`` evenly spaced values from ``start`` to ``stop``, a_i = (start (n - i) +
    stop i) / n with n = points - 1, and a = 0 and a = 1 set exactly where they fall.

    Raises ValueError (naming the config field ``switch.interpolation``) when 0 or 1 is not
    a grid point, e.g. 21 points on [-1, 2] (the paper's 22 put them at i = 7 and 14)."""
    if points < 2 or not start < stop:
        raise ValueError(f"config field 'switch.interpolation': need start < stop and points >= 2, got "
                         f"start={start}, stop={stop}, points={points}")
    n = points - 1
    grid = np.array([(start * (n - i) + stop * i) / n for i in range(points)])
    for end in (0.0, 1.0):
        position = (end - start) * n / (stop - start)
        index = round(position)
        if not (0 <= index <= n and abs(position - index) < 1e-9):
            raise ValueError(f"config field 'switch.interpolation': a = {end:g} is not on the grid of {points} "
                             f"points from {start:g} to {stop:g} (spacing {(stop - start) / n:g}); choose points so "
                             f"that {end:g} - start is a multiple of the spacing")
        grid[index] = end
    return grid


# ----------------------------------------------------------------------------- data sets

def cluster_data(config: dict, k: int, cov: float, n_train: int | None = None) -> dict:
    """The arguments of ``data.clusters.gaussian_clusters`` for k clusters of spread ``cov``
    and ``n_train`` training points (the profile's ``clusters.n_train`` when None)."""
    clusters = config["clusters"]
    return {"k": int(k), "cov": float(cov), "n_train": int(n_train or clusters["n_train"]),
            "n_test": clusters["n_test"], "n_features": clusters["n_features"], "seed": config["seed"]}


IMAGE_FAMILIES = ("width", "batch")


def image_data(config: dict, family: str) -> dict:
    """The image data of Family B (``width``) or C (``batch``): the family's source
    (``images.source.<family>``) with the shared subset, split and seed, in a fixed key order.
    Two families that name one source get the same dict, so one data step serves both."""
    images = config["images"]
    keys = ("data_dir", "download", "digits_test_size", "train_subset")
    return {"source": images["source"][family], **{key: images[key] for key in keys}, "seed": config["seed"]}


def switch_data(config: dict) -> dict:
    """Family D's data section (source, folder, download, digits split) with the seed."""
    switch = config["switch"]
    return {**{key: switch[key] for key in ("source", "data_dir", "download", "digits_test_size")},
            "seed": config["seed"]}


def switch_interpolation(config: dict) -> dict:
    """Family D's grid (``switch.interpolation``: start, stop, points) in a fixed key order."""
    grid = config["switch"]["interpolation"]
    return {key: grid[key] for key in ("start", "stop", "points")}


def appendix_b_settings(config: dict) -> dict:
    """The ``appendix_b`` section with the seed, in a fixed key order (Snakemake compares
    params as text, so the order must not depend on how the YAML file was written)."""
    section = config["appendix_b"]
    return {**{key: section[key] for key in ("n_features", "ratios", "separation", "n_classes")},
            "seed": config["seed"]}


# ----------------------------------------------------------------------------- runs

def choose_method(method: str, num_params: int, budget_gb: float, n_matrices: int = 1,
                  dimension: int | None = None) -> str:
    """``auto`` -> ``exact`` when the dense matrices fit ``hessian.memory_budget_gb``, else
    ``range`` when the net allows it (``dimension``: r of ``sizes.range_dimension``, None
    when it does not apply or the G/R split is wanted) and its matrices fit, else
    ``lanczos``; ``exact``, ``range`` and ``lanczos`` as given."""
    if method not in SPECTRUM_METHODS:
        raise ValueError(f"spectrum.method must be one of {SPECTRUM_METHODS}, got {method!r}")
    if method != "auto":
        return method
    budget = budget_gb * 2**30
    if dense_matrices_bytes(num_params, n_matrices) <= budget:
        return "exact"
    if dimension is not None and dimension < num_params and range_matrices_bytes(num_params, dimension) <= budget:
        return "range"
    return "lanczos"


def _spectrum(config: dict, model: dict, *, method: str, decompose: bool, n_samples: int | None) -> dict:
    """How a run's spectrum is computed: ``method`` (exact | range | lanczos, ``auto``
    resolved here by the memory budget), ``decompose`` (also G and R), and for Lanczos its
    settings and start-vector seed (None for the exact method, which has no settings), and
    with Lanczos the stochastic Lanczos quadrature that estimates the rest of the spectrum
    (``slq``: probes, steps, seed); for ``range`` its basis size r (``dimension``) on the
    ``n_samples`` samples the Hessian averages over (None: exact only, as Family A)."""
    num_params, budget_gb = parameter_count(model), config["hessian"]["memory_budget_gb"]
    n_matrices = 3 if decompose else 1  # the G/R split (Fig. 1b) holds H, G and R
    dimension = None if decompose or n_samples is None else range_dimension(model, n_samples)
    chosen = choose_method(method, num_params, budget_gb, n_matrices, dimension)
    need_gb = dense_matrices_bytes(num_params, n_matrices) / 2**30
    if chosen == "exact" and need_gb > budget_gb:
        raise ConfigError(f"config field '{BUDGET_FIELD}': the exact spectrum of M={num_params} needs "
                          f"{need_gb:.2f} GiB ({n_matrices} dense float64 matrices plus workspace), over "
                          f"{BUDGET_FIELD}={budget_gb}; raise it, or set spectrum.method to auto, range or lanczos")
    if chosen == "range":
        if dimension is None:
            raise ConfigError(f"config field 'spectrum.method': range needs a net that is piecewise linear in each "
                              f"layer (ReLU) and no G/R split; M={num_params} is not one; use exact, lanczos or auto")
        need_gb = range_matrices_bytes(num_params, dimension) / 2**30
        if need_gb > budget_gb:
            raise ConfigError(f"config field '{BUDGET_FIELD}': the spectrum of M={num_params} through its range "
                              f"(r={dimension}) needs {need_gb:.2f} GiB, over {BUDGET_FIELD}={budget_gb}; raise it, "
                              f"or set spectrum.method to auto or lanczos")
        return {"method": chosen, "decompose": decompose, "num_params": num_params, "lanczos": None,
                "dimension": dimension}
    spectrum = config["spectrum"]
    if chosen == "exact":
        return {"method": chosen, "decompose": decompose, "num_params": num_params, "lanczos": None}
    lanczos = {"k": spectrum["edge_k"], "tol": spectrum["lanczos_tol"],
               "max_products": spectrum["lanczos_max_products"], "seed": config["seed"]}
    # the density of the whole spectrum (Fig. 6's negative part) where no dense matrix fits
    slq = {"probes": spectrum["slq_probes"], "steps": spectrum["slq_steps"], "seed": config["seed"]}
    return {"method": chosen, "decompose": decompose, "num_params": num_params, "lanczos": lanczos, "slq": slq}


#: what the fidelity ablation varies in a Family A run (``clusters`` keys)
ABLATED = ("grad_tol", "init", "n_train")


def _thresholds(group: dict) -> list[float]:
    threshold = group["threshold"]
    return threshold if isinstance(threshold, list) else [threshold] * len(group["k"])


def _cluster_run(config: dict, run_id: str, family: str, group: dict, k: int, threshold: float,
                 settings: dict) -> dict:
    """One Family A run: ``group``'s algorithm, activation and spread at k classes, with the
    ``clusters`` section's values for everything the group does not set (``settings``
    overrides the ``ABLATED`` ones)."""
    clusters, seed = {**config["clusters"], **settings}, config["seed"]
    algorithm = group["algorithm"]
    return {
        "run": run_id, "family": family, "group": group["name"],
        "data": cluster_data(config, k, group["cov"], clusters["n_train"]),
        "model": {"kind": "mlp", "in_features": clusters["n_features"], "hidden": list(clusters["hidden"]),
                  "out_features": k, "activation": group["activation"], "init": clusters["init"], "seed": seed},
        "train": {"algorithm": algorithm, "lr": clusters["lr"], "grad_tol": clusters["grad_tol"],
                  "max_steps": clusters["max_steps"][algorithm],
                  "batch_size": clusters["sgd_batch_size"] if algorithm == "sgd" else 0,
                  "eval_every": clusters["eval_every"], "checkpoint_every": clusters["checkpoint_every"],
                  "seed": seed, "log_checkpoints": config["along_training"]["checkpoints_per_decade"],
                  **({"stop_on": clusters["sgd_stop"]} if algorithm == "sgd" else {})},  # GD: always the full batch
        "outliers": {"window": clusters["outlier_window"], "threshold": threshold},
    }


def _cluster_runs(config: dict) -> dict[str, dict]:
    """Family A: one run per (group, k), as ``<group>_k<k>``."""
    return {f"{group['name']}_k{k}": _cluster_run(config, f"{group['name']}_k{k}", "clusters", group, k, threshold, {})
            for group in config["clusters"]["groups"] for k, threshold in zip(group["k"], _thresholds(group))}


def fidelity_cells(config: dict) -> list[dict]:
    """The fidelity ablation: every ``fidelity.settings`` entry (stopping tolerance,
    initialisation, training size) for every run of the ``fidelity.groups`` of Table 1.

    One dict per cell: ``setting`` (its entry), the Table 1 ``group`` and ``k``, and where
    its results are: ``family``/``run`` name the Family A run itself when the setting
    defines the same run (same data, model and training), so the ablation never trains a
    run twice; otherwise a run of the ``fidelity`` family, ``<setting>_<group>_k<k>``."""
    groups = {group["name"]: group for group in config["clusters"]["groups"]}
    main = _cluster_runs(config)
    cells = []
    for setting in config["fidelity"]["settings"]:
        overrides = {key: setting[key] for key in ABLATED}
        for name in config["fidelity"]["groups"]:
            group = groups[name]
            for k, threshold in zip(group["k"], _thresholds(group)):
                run_id = f"{setting['name']}_{name}_k{k}"
                run = _cluster_run(config, run_id, "fidelity", group, k, threshold, overrides)
                same = main[f"{name}_k{k}"]
                if all(run[key] == same[key] for key in ("data", "model", "train", "outliers")):
                    run = same
                cells.append({"setting": {key: setting[key] for key in ("name", *ABLATED)}, "group": name, "k": k, "family": run["family"],
                              "run": run["run"], "definition": run})
    return cells


def _fidelity_runs(config: dict) -> dict[str, dict]:
    """The ablation's own runs (those no Family A run already is), by run id."""
    return {cell["run"]: cell["definition"] for cell in fidelity_cells(config) if cell["family"] == "fidelity"}


def _image_run(config: dict, family: str, run_id: str, model: dict, train: dict, lr: float | None = None) -> dict:
    """A Family B or C run: the family's image data, and (the paper) the same step size and
    number of steps for every run of the family (``lr`` replaces the step size: the
    batch ablation's runs)."""
    section, spectrum, seed = config[family], config["spectrum"], config["seed"]
    train = {**train, "lr": section["lr"] if lr is None else lr, "max_steps": section["steps"], "grad_tol": 0.0,
             "eval_every": section["eval_every"], "checkpoint_every": section["checkpoint_every"], "seed": seed,
             "log_checkpoints": config["along_training"]["checkpoints_per_decade"]}
    return {"run": run_id, "family": family, "data": image_data(config, family),
            "model": {**model, "out_features": N_IMAGE_CLASSES, "seed": seed}, "train": train,
            "outliers": {"window": spectrum["outlier_window"], "threshold": spectrum["threshold"]}}


def _width_runs(config: dict) -> dict[str, dict]:
    """Family B: one hidden layer in-n-10 per width n, as ``width_n<n>``."""
    section, (channels, height, width) = config["width"], INPUT_SHAPES[config["images"]["source"]["width"]]
    train = {"algorithm": section["algorithm"],
             "batch_size": section["sgd_batch_size"] if section["algorithm"] == "sgd" else 0}
    return {f"width_n{n}": _image_run(config, "width", f"width_n{n}", {
        "kind": "mlp", "in_features": channels * height * width, "hidden": [n],
        "activation": section["activation"], "flatten": True}, train) for n in section["hidden"]}


def _batch_run(config: dict, run_id: str, batch_size: int, lr: float | None = None) -> dict:
    """The Family C convnet trained by SGD at ``batch_size`` (at ``batch.lr`` unless ``lr``)."""
    net, shape = config["batch"]["convnet"], INPUT_SHAPES[config["images"]["source"]["batch"]]
    model = {"kind": "convnet", "input_shape": list(shape), "channels": list(net["channels"]),
             "kernel_size": net["kernel_size"], "padding": net["padding"], "hidden": net["hidden"]}
    return _image_run(config, "batch", run_id, model, {"algorithm": "sgd", "batch_size": batch_size}, lr)


def _batch_runs(config: dict) -> dict[str, dict]:
    """Family C: the convnet trained by SGD at each batch size b, as ``batch_b<b>``."""
    return {f"batch_b{b}": _batch_run(config, f"batch_b{b}", b) for b in config["batch"]["batch_sizes"]}


def batch_ablation_cells(config: dict) -> list[dict]:
    """Family C's ablation (what sets its scale, issue 21): every batch size of ``batch``
    at every step size of ``batch_ablation.lrs``, each trained ``batch.steps`` steps and
    measured at log-spaced checkpoints. Each cell: ``lr``, ``batch_size``, ``family`` and
    ``run``; a cell at ``batch.lr`` is Family C's own run (``batch``, ``batch_b<b>``: trained
    once), the others are runs of the ``batch_ablation`` family, ``ablation_b<b>_lr<lr>``
    (``ablation_b512_lr0p1`` for lr 0.1),
    whose ``definition`` comes along."""
    cells = []
    for lr in config["batch_ablation"]["lrs"]:
        for b in config["batch"]["batch_sizes"]:
            if lr == config["batch"]["lr"]:
                cells.append({"lr": lr, "batch_size": b, "family": "batch", "run": f"batch_b{b}"})
                continue
            run_id = f"ablation_b{b}_lr{lr:g}".replace(".", "p").replace("-", "m")  # run ids: [a-z0-9_]
            definition = {**_batch_run(config, run_id, b, lr), "family": "batch_ablation"}
            cells.append({"lr": lr, "batch_size": b, "family": "batch_ablation", "run": run_id,
                          "definition": definition})
    return cells


def _batch_ablation_runs(config: dict) -> dict[str, dict]:
    """The runs of the batch ablation that Family C does not train already."""
    return {cell["run"]: cell["definition"] for cell in batch_ablation_cells(config) if "definition" in cell}


def _switch_model(switch: dict, seed: int) -> dict:
    net = switch["net"]
    return {"kind": "alexnet", "input_shape": list(INPUT_SHAPES[switch["source"]]),
            **{key: net[key] for key in ("channels", "kernel_size", "padding", "pool", "pool_stride", "hidden")},
            "out_features": N_IMAGE_CLASSES, "seed": seed}


#: Family D's two runs, in order; each part after the first starts from the one before
SWITCH_PARTS = ("part1", "part2")


def switch_runs(config: dict) -> dict[str, dict]:
    """Family D: ``part1`` (SGD at ``switch.batch_sizes.part1`` from the seeded
    initialisation) and ``part2`` (SGD at the part2 batch size from part1's last weights,
    ``start_from``), the same constant step size, metrics and a checkpoint every
    ``record_every`` steps. Sections as ``family_runs``'s (no spectrum: the paper computes
    none here) and ``num_params``."""
    switch, seed = config["switch"], config["seed"]
    model = _switch_model(switch, seed)
    runs = {}
    for i, part in enumerate(SWITCH_PARTS):
        train = {"algorithm": "sgd", "lr": switch["lr"], "max_steps": switch["steps"][part], "grad_tol": 0.0,
                 "batch_size": switch["batch_sizes"][part], "eval_every": switch["record_every"],
                 "checkpoint_every": switch["record_every"], "seed": seed,
                 "eval_batch_size": switch["eval_batch_size"], "keep_checkpoints": 2}
        runs[part] = {"run": part, "family": "switch", "data": switch_data(config), "model": model, "train": train,
                      "start_from": SWITCH_PARTS[i - 1] if i else None, "num_params": parameter_count(model)}
    return runs


def along_training_runs(config: dict) -> dict[str, dict]:
    """The runs whose spectra are computed along training, by run id: ``family``,
    ``points`` (checkpoints) and ``split`` (also G and R: Fig. 11's runs, for
    max |eig R| / max eig H; the negative-fraction study needs H only)."""
    along = config["along_training"]
    runs = {run: {"family": "clusters", "points": along["fig11"]["points"], "split": True}
            for run in along["fig11"]["runs"]}
    families = {**dict.fromkeys(_width_runs(config), "width"), **dict.fromkeys(_batch_runs(config), "batch")}
    runs.update({run: {"family": families[run], "points": along["negative_fraction"]["points"], "split": False}
                 for run in along["negative_fraction"]["runs"]})
    return runs


def family_runs(config: dict) -> dict[str, dict[str, dict]]:
    """family -> run id -> everything that defines the run, in sections that the workflow
    passes as ``params`` to the steps that depend on them: ``data`` (the data set),
    ``model``, ``train``, ``spectrum`` (method; G/R split for the Fig. 1 run; Family A
    always exact: Fig. 1 and Table 1 need every eigenvalue) and ``outliers`` (counting)."""
    builders = {"clusters": _cluster_runs, "width": _width_runs, "batch": _batch_runs, "fidelity": _fidelity_runs,
                "batch_ablation": _batch_ablation_runs}
    families = {family: builders[family](config) for family in FAMILIES}
    fig1_run = config["clusters"]["fig1_run"]
    for family, runs in families.items():
        for run_id, run in runs.items():
            decompose = family == "clusters" and run_id == fig1_run
            method = "exact" if family in CLUSTER_FAMILIES else config["spectrum"]["method"]
            n_samples = None if family in CLUSTER_FAMILIES else config["images"]["train_subset"]
            run["spectrum"] = _spectrum(config, run["model"], method=method, decompose=decompose, n_samples=n_samples)
    return families
