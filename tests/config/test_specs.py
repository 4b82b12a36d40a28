"""The runs a config defines (``specs``): which runs, their sections, and what a change of
each kind of value reaches."""

from __future__ import annotations

import pytest
import yaml

from cases import ROOT, with_field
from hessian_spectra.config.schema import load_config, validate_config
from hessian_spectra.config.sizes import dense_matrices_bytes
from hessian_spectra.config.specs import (ABLATED, ConfigError, appendix_b_settings, batch_ablation_cells,
                                          choose_method, family_runs, fidelity_cells, switch_interpolation,
                                          switch_runs)

DEFAULT = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
RUNS = family_runs(DEFAULT)


def test_default_profile_has_the_19_runs_of_table_1():
    assert len(RUNS["clusters"]) == 19
    assert RUNS["clusters"]["sgd_relu_cov10_k50"]["outliers"]["threshold"] == 0.005
    assert RUNS["clusters"]["sgd_relu_cov10_k20"]["outliers"]["threshold"] == 0.015
    assert {run["family"] for family in RUNS.values() for run in family.values()} == set(RUNS)


def test_a_threshold_changes_only_the_outliers_section_of_its_run():
    """Changing an outlier threshold must not retrain or recompute a spectrum: the train and
    spectrum rules only see the other sections."""
    a = RUNS["clusters"]["gd_relu_cov1_k5"]
    b = family_runs(with_field(DEFAULT, "clusters.groups.1.threshold", 0.5))["clusters"]["gd_relu_cov1_k5"]
    assert {k: v for k, v in a.items() if k != "outliers"} == {k: v for k, v in b.items() if k != "outliers"}
    assert a["outliers"] != b["outliers"]


def test_execution_settings_change_no_run():
    """Device and the Hessian engine, batch and chunk sizes decide how, not what: no run
    section (and so no param of any rule) depends on them."""
    changed = with_field(with_field(with_field(with_field(DEFAULT, "hessian.engine", "generic"), "hessian.batch_size", 7),
                        "hessian.chunk_size", 3), "device", "cpu")
    assert family_runs(changed) == RUNS


def test_memory_budget_reaches_a_run_only_through_the_method_it_selects():
    width = RUNS["width"]["width_n10"]["spectrum"]
    assert width["method"] == "exact" and width["lanczos"] is None
    assert family_runs(with_field(DEFAULT, "hessian.memory_budget_gb", 9)) == RUNS  # the same methods as 8 GiB
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    small = family_runs(with_field(paper, "hessian.memory_budget_gb", 2))  # Family A fits, widths >= 30 do not
    assert [r["spectrum"]["method"] for r in small["width"].values()] == ["exact", "lanczos", "lanczos", "lanczos"]
    assert small["width"]["width_n70"]["spectrum"]["lanczos"] == {"k": 50, "tol": 1e-10, "max_products": 20000,
                                                                  "seed": 0}
    # this machine's 20 GiB: the two widths whose dense H does not fit go through the range
    cpu = family_runs(with_field(paper, "hessian.memory_budget_gb", 20))
    assert [r["spectrum"]["method"] for r in cpu["width"].values()] == ["exact", "exact", "range", "range"]
    assert cpu["width"]["width_n70"]["spectrum"]["dimension"] == 1000 * 10 + 2 * (70 * 10 + 10)


def test_a_range_spectrum_is_refused_at_parse_time_where_it_cannot_work():
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    tanh = with_field(with_field(paper, "spectrum.method", "range"), "width.activation", "tanh")
    with pytest.raises(ConfigError, match="'spectrum.method': range needs a net that is piecewise linear"):
        family_runs(tanh)
    with pytest.raises(ConfigError, match=r"'hessian.memory_budget_gb'.*M=7960 through its range \(r=10220\)"):
        family_runs(with_field(with_field(paper, "spectrum.method", "range"), "hessian.memory_budget_gb", 1))


@pytest.mark.parametrize("method, run_size", [(None, "M=4022"), ("exact", "M=4780")], ids=["clusters", "width"])
def test_an_exact_spectrum_that_does_not_fit_the_budget_fails_at_parse_time(method, run_size):
    """Family A's spectra are always exact (the Fig. 1b split too); ``spectrum.method: exact``
    makes Families B and C exact: over the budget, the config is refused before any job."""
    config = with_field(DEFAULT, "hessian.memory_budget_gb", 0.01)
    if method:  # Family A shrunk to fit: the error is about width_n6 (784-6-10)
        config = with_field(with_field(with_field(config, "clusters.n_features", 2), "clusters.hidden", [2]), "spectrum.method", method)
    with pytest.raises(ConfigError, match=f"'hessian.memory_budget_gb'.*{run_size}"):
        family_runs(config)


def test_choose_method():
    assert choose_method("auto", 1000, budget_gb=1.0) == "exact"
    assert choose_method("auto", 100_000, budget_gb=1.0) == "lanczos"
    assert choose_method("auto", 1000, budget_gb=dense_matrices_bytes(1000, 3) / 2**30, n_matrices=3) == "exact"
    assert choose_method("lanczos", 10, budget_gb=1.0) == "lanczos"
    # over the dense budget: the range method where the net allows it and its basis fits
    assert choose_method("auto", 100_000, budget_gb=1.0, dimension=500) == "range"
    assert choose_method("auto", 100_000, budget_gb=1.0, dimension=2000) == "lanczos"  # 1.9 GiB
    assert choose_method("auto", 100_000, budget_gb=1.0, dimension=None) == "lanczos"
    assert choose_method("range", 10, budget_gb=1.0) == "range"
    with pytest.raises(ValueError, match="spectrum.method"):
        choose_method("power", 10, budget_gb=1.0)


def test_image_runs_share_step_size_and_steps_within_a_family():
    """The paper: same step size and same number of steps for every width and both batch sizes."""
    assert list(RUNS["width"]) == ["width_n6", "width_n8", "width_n10"]
    assert list(RUNS["batch"]) == ["batch_b10", "batch_b512"]
    for family in ("width", "batch"):
        assert len({(r["train"]["lr"], r["train"]["max_steps"]) for r in RUNS[family].values()}) == 1
    widths = [r["model"] for r in RUNS["width"].values()]
    assert [w["hidden"] for w in widths] == [[6], [8], [10]]
    assert [r["train"]["batch_size"] for r in RUNS["batch"].values()] == [10, 512]


def test_each_image_family_reads_its_own_source():
    """default: Family B on 28x28 mnist_5k, Family C on 8x8 digits; one data set per source."""
    widths, batches = RUNS["width"].values(), RUNS["batch"].values()
    assert {r["data"]["source"] for r in widths} == {"mnist_5k"} and {r["data"]["source"] for r in batches} == {"digits"}
    assert [r["model"]["in_features"] for r in widths] == [784] * 3
    assert [r["model"]["input_shape"] for r in batches] == [[1, 8, 8]] * 2
    assert [r["spectrum"]["num_params"] for r in widths] == [785 * n + (n + 1) * 10 for n in (6, 8, 10)]
    same = with_field(DEFAULT, "images.source.batch", "mnist_5k")
    same = with_field(same, "along_training.negative_fraction.runs", ["width_n6"])
    runs = family_runs(validate_config(same))
    assert runs["batch"]["batch_b10"]["data"] == runs["width"]["width_n6"]["data"]  # one data step serves both
    assert runs["batch"]["batch_b10"]["model"]["input_shape"] == [1, 28, 28]


def test_paper_profile_uses_mnist_and_the_31770_parameter_convnet():
    paper = family_runs(load_config(ROOT / "config" / "paper.yaml"))
    assert paper["width"]["width_n70"]["model"]["in_features"] == 784
    assert paper["width"]["width_n70"]["spectrum"]["num_params"] == 55660
    assert paper["batch"]["batch_b512"]["spectrum"]["num_params"] == 31770


def test_sections_passed_as_params_do_not_depend_on_the_yaml_key_order():
    """Snakemake compares params as text: a profile rewritten with sorted keys must give
    the same params, or every job would rerun."""
    reordered = yaml.safe_load(yaml.safe_dump(DEFAULT, sort_keys=True))
    shuffled = {key: dict(reversed(list(value.items()))) if isinstance(value, dict) else value
                for key, value in reversed(list(reordered.items()))}
    assert repr(family_runs(shuffled)) == repr(RUNS)
    assert repr(fidelity_cells(shuffled)) == repr(fidelity_cells(DEFAULT))
    assert repr(appendix_b_settings(shuffled)) == repr(appendix_b_settings(DEFAULT))
    assert repr(switch_runs(shuffled)) == repr(switch_runs(DEFAULT))
    assert repr(switch_interpolation(shuffled)) == repr(switch_interpolation(DEFAULT))


def test_the_fidelity_ablation_trains_only_the_runs_table_1_does_not_have():
    """A cell whose setting defines a Table 1 run reads that run; every other cell is a run of
    the ``fidelity`` family that differs from its Table 1 run only in the ablated settings."""
    cells = fidelity_cells(DEFAULT)
    settings, groups = DEFAULT["fidelity"]["settings"], DEFAULT["fidelity"]["groups"]
    ks = [k for group in DEFAULT["clusters"]["groups"] if group["name"] in groups for k in group["k"]]
    assert len(cells) == len(settings) * len(ks)
    clusters = DEFAULT["clusters"]
    for cell in cells:
        table1_run = RUNS["clusters"][f"{cell['group']}_k{cell['k']}"]
        same = all(cell["setting"][key] == clusters[key] for key in ABLATED)
        assert (cell["family"], cell["run"]) == (("clusters", table1_run["run"]) if same else ("fidelity", cell["run"]))
        run = RUNS[cell["family"]][cell["run"]]
        assert (run["train"]["grad_tol"], run["model"]["init"], run["data"]["n_train"]) == tuple(
            cell["setting"][key] for key in ABLATED)
        strip = lambda r: {**r, "run": None, "family": None, "spectrum": None, "train": {**r["train"], "grad_tol": None},
                           "model": {**r["model"], "init": None}, "data": {**r["data"], "n_train": None}}
        assert strip(run) == strip(table1_run)
    assert sum(cell["family"] == "clusters" for cell in cells) == len(ks)  # the profile's own setting is one of them
    assert set(RUNS["fidelity"]) == {cell["run"] for cell in cells if cell["family"] == "fidelity"}


def test_the_batch_ablation_trains_only_the_runs_family_c_does_not_have():
    """Every batch size at every step size; a cell at Family C's step size reads Family C's
    run, every other cell is a ``batch_ablation`` run that differs from it only in the step
    size, with a run id the workflow's run wildcard accepts."""
    import re

    cells = batch_ablation_cells(DEFAULT)
    lrs, sizes = DEFAULT["batch_ablation"]["lrs"], DEFAULT["batch"]["batch_sizes"]
    assert [(cell["lr"], cell["batch_size"]) for cell in cells] == [(lr, b) for lr in lrs for b in sizes]
    for cell in cells:
        family_c = RUNS["batch"][f"batch_b{cell['batch_size']}"]
        run = RUNS[cell["family"]][cell["run"]]
        assert run["train"]["lr"] == cell["lr"] and run["train"]["batch_size"] == cell["batch_size"]
        assert cell["family"] == ("batch" if cell["lr"] == DEFAULT["batch"]["lr"] else "batch_ablation")
        assert re.fullmatch(r"[a-z0-9_]+", cell["run"])
        strip = lambda r: {**r, "run": None, "family": None, "train": {**r["train"], "lr": None}}
        assert strip(run) == strip(family_c)
    assert set(RUNS["batch_ablation"]) == {cell["run"] for cell in cells if cell["family"] == "batch_ablation"}
    assert "ablation_b512_lr0p1" in RUNS["batch_ablation"]
