"""End to end: the ci profile builds every output through Snakemake in a temporary
directory (the ``built`` fixture of conftest.py), the report last; reruns do nothing; a
changed setting reruns exactly the jobs that depend on it; two builds from scratch give
byte-identical tables and cached results, also under another machine's code paths; the claims table has a row per claim; Snakemake's own report
builds; bad configs fail before any job starts."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from cases import ROOT
from project import copy_project, snakemake

from hessian_spectra.outputs.claims import VERDICTS, load_claims
from hessian_spectra.outputs.compare import compare_tables
from hessian_spectra.outputs.report import render_report
from hessian_spectra.outputs.tolerance import Tolerances, tolerance_file

FIGURES = ("fig1_full_spectrum", "fig1b_gauss_newton_split", "fig2_cluster_pca", "fig3_cluster_spectra",
           "fig4_width_right_edge", "fig5_width_left_edge_count", "fig6_width_left_edge_fraction",
           "fig7_batch_top_eigenvalues", "fig8_batch_negative_eigenvalues", "figB_marchenko_pastur",
           "fig11_spectrum_along_training", "fig_negative_fraction_along_training", "fig9_batch_switch",
           "fig10_interpolation", "fig_batch_ablation")
TABLES = ("width_scaling", "batch_size", "fidelity_ablation", "along_training", "negative_fraction", "batch_switch",
          "batch_ablation", "claims")
OUTPUTS = [
    *(f"figures/ci/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")),
    *(f"tables/ci/table1.{ext}" for ext in ("csv", "md", "tex")),
    *(f"tables/ci/{name}.{ext}" for name in TABLES for ext in ("csv", "md")),
    "paper/ci/report.html",
]

pytestmark = pytest.mark.slow


def _jobs_to_run(project: Path, configfile: str, *args: str) -> dict[str, int]:
    """Rule -> job count of a dry run with ``args`` (targets or options; default: the default target)."""
    result = snakemake(project, *args, "--dry-run", "--quiet", "rules", configfile=configfile)
    assert result.returncode == 0, result.stderr
    counts, in_table = {}, False
    for line in (result.stdout + result.stderr).splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
        elif in_table and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def test_ci_profile_builds_every_output(built):
    missing = [path for path in OUTPUTS if not (built / path).is_file()]
    assert not missing
    table = (built / "tables/ci/table1.csv").read_text().splitlines()
    assert len(table) == 1 + 6  # header + the ci profile's six runs
    assert "paper_gap" in table[0]
    assert len((built / "tables/ci/width_scaling.csv").read_text().splitlines()) == 1 + 2
    indices = np.load(built / "results/ci/data/images_digits.npz")["train_indices"]
    assert len(indices) == 300 and len(set(indices.tolist())) == 300  # the saved subset


def test_second_invocation_has_nothing_to_do(built):
    result = snakemake(built)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def _edit(config: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return config


FIGS_WIDTH = {"fig4_width_right_edge": 1, "fig5_width_left_edge_count": 1, "fig6_width_left_edge_fraction": 1}
FIGS_BATCH = {"fig7_batch_top_eigenvalues": 1, "fig8_batch_negative_eigenvalues": 1}
# ci: one Fig. 11 run (gd_relu_cov1_k5) and two negative-fraction runs (width_n4, batch_b10)
FIG11 = {"along_training": 1, "fig11_spectrum_along_training": 1, "along_training_table": 1}
NEGATIVE_STUDY = {"along_training": 1, "fig_negative_fraction_along_training": 1, "negative_fraction_table": 1}
#: the claims table reads Table 1, the width, batch-size and batch-switch tables
CLAIMS = {"claims": 1}
#: the batch ablation's table and figure (ci: 2 step sizes x 2 batch sizes = 4 cells)
ABLATION = {"batch_ablation_table": 1, "fig_batch_ablation": 1}
SWITCH_AFTER_TRAINING = {"switch_interpolation": 1, "fig9_batch_switch": 1, "fig10_interpolation": 1,
                         "batch_switch_table": 1}
#: (config field, new value, the jobs a dry run must then schedule: rule -> count)
EDITS = [
    # what does not change a result reruns nothing (but the report, below)
    ("hessian.engine", "generic", {}),
    ("hessian.batch_size", 7, {}),
    ("hessian.chunk_size", 3, {}),
    ("device", "cpu", {}),
    ("hessian.memory_budget_gb", 3, {}),  # the same methods as 2 GiB
    # a plot setting redraws one figure
    ("plots.fig3_top", 25, {"fig3_cluster_spectra": 1}),
    # an outlier threshold recounts, never a Hessian: gd_tanh_cov1 is one run, in neither Fig. 1 nor 3
    ("clusters.groups.0.threshold", 0.5, {"count_outliers": 1, "table1": 1, **CLAIMS}),
    ("spectrum.threshold", 0.5, {"count_outliers": 4, "width_scaling": 1, "batch_size": 1, **ABLATION, **CLAIMS}),
    ("spectrum.outlier_window", 20, {"count_outliers": 4, "width_scaling": 1, "batch_size": 1, **ABLATION,
                                     **CLAIMS}),
    ("clusters.outlier_window", 20, {"count_outliers": 8, "table1": 1, "fidelity_ablation": 1,
                                     "fig11_spectrum_along_training": 1, "along_training_table": 1, **CLAIMS}),
    # Fig. 3's group also draws its thresholds
    ("clusters.groups.2.threshold", 0.5, {"count_outliers": 2, "table1": 1, "fig3_cluster_spectra": 1, **CLAIMS}),
    # the spectrum method recomputes the image families' spectra, not their training
    ("spectrum.method", "lanczos", {"spectrum": 4, "count_outliers": 4, **FIGS_WIDTH, **FIGS_BATCH,
                                    "width_scaling": 1, "batch_size": 1, **CLAIMS}),
    # a step size retrains one family
    # ... and the ablation's cells at the old step size become runs of their own (the 0.1 cells are cached)
    ("batch.lr", 0.01, {"train": 4, "spectrum": 2, "count_outliers": 2, **FIGS_BATCH, "batch_size": 1,
                        **NEGATIVE_STUDY, "batch_ablation_edges": 2, **ABLATION, **CLAIMS}),
    # the ablation: more points measure the saved checkpoints again, no retraining; a new step size trains 2
    ("batch_ablation.points", 4, {"batch_ablation_edges": 4, **ABLATION}),
    ("batch_ablation.lrs", [0.05, 0.2], {"train": 2, "batch_ablation_edges": 2, **ABLATION}),
    # the initialisation retrains Family A, and the ablation's cells that took the profile's (ci: 2)
    ("clusters.init", "authors", {"train": 8, "spectrum": 9, "count_outliers": 8, "fig1_full_spectrum": 1,
                                  "fig1b_gauss_newton_split": 1, "fig3_cluster_spectra": 1, "table1": 1,
                                  "fidelity_ablation": 1, **FIG11, **CLAIMS}),
    # the data changes every run that trains on it
    # the SGD stopping rule retrains the SGD runs only (ci: 3), not GD's
    ("clusters.sgd_stop", "full_batch", {"train": 3, "spectrum": 3, "count_outliers": 3, "table1": 1,
                                         "fig3_cluster_spectra": 1, **CLAIMS}),
    # more points along training: new spectra along training, no retraining
    ("along_training.fig11.points", 6, {"along_training": 1, "fig11_spectrum_along_training": 1,
                                        "along_training_table": 1}),
    # Appendix B stands alone
    ("appendix_b.separation", 2.0, {"appendix_b_spectra": 1, "figB_marchenko_pastur": 1}),
    # Family D: Part II's length retrains Part II only; the grid re-walks the line only
    ("switch.steps.part2", 50, {"switch_train": 1, **SWITCH_AFTER_TRAINING, **CLAIMS}),
    ("switch.interpolation.points", 4, {"switch_interpolation": 1, "fig10_interpolation": 1, "batch_switch_table": 1,
                                        **CLAIMS}),
    ("switch.lr", 0.01, {"switch_train": 2, **SWITCH_AFTER_TRAINING, **CLAIMS}),
    # torch's threads are part of what is computed: Family D's count retrains it and re-walks its line
    ("threads.switch", 1, {"switch_train": 2, **SWITCH_AFTER_TRAINING, **CLAIMS}),
    ("threads.along_training", 2, {**FIG11, **NEGATIVE_STUDY, "along_training": 3, "batch_ablation_edges": 4,
                                   **ABLATION}),
    # one family's data set retrains that family only (and the study's run of it)
    ("images.source.batch", "mnist_5k", {"image_data": 1, "train": 4, "spectrum": 2, "count_outliers": 2,
                                         **FIGS_BATCH, "batch_size": 1, **NEGATIVE_STUDY,
                                         "batch_ablation_edges": 4, **ABLATION, **CLAIMS}),
    ("images.train_subset", 200, {"image_data": 1, "train": 6, "spectrum": 4, "count_outliers": 4,
                                  **FIGS_WIDTH, **FIGS_BATCH, "width_scaling": 1, "batch_size": 1,
                                  **NEGATIVE_STUDY, "along_training": 2, "batch_ablation_edges": 4, **ABLATION,
                                  **CLAIMS}),
]


@pytest.mark.parametrize("path, value, expected", EDITS, ids=[f"{e[0]}={e[1]}" for e in EDITS])
def test_a_changed_setting_reruns_exactly_what_depends_on_it(built, path, value, expected):
    config = _edit(yaml.safe_load((built / "config/ci.yaml").read_text()), path, value)
    (built / "config/changed.yaml").write_text(yaml.safe_dump(config))
    # the report names the config files it was built from, so a file of another name re-renders it (and
    # nothing else: test_second_invocation_has_nothing_to_do is the same file); it shows every figure and table
    assert _jobs_to_run(built, "config/changed.yaml") == {**expected, "report": 1, "all": 1}


def test_changing_the_threads_of_a_rule_reruns_nothing(built):
    """Snakemake's threads only reserve cores (torch's count is the profile's ``threads``)."""
    counts = _jobs_to_run(built, "config/ci.yaml", "--set-threads", "spectrum=2", "train=2")
    assert counts == {}


#: what another x86-64 machine's libraries would choose by themselves, forced on this one:
#: torch's kernels without AVX2, MKL's SSE code path, oneDNN's SSE4.1 and OpenBLAS's
#: Prescott (SSE3) kernels (benchmarks/reproducibility/code_paths.py measures what each moves unpinned)
OTHER_MACHINE = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
                 "ONEDNN_MAX_CPU_ISA": "SSE41", "OPENBLAS_CORETYPE": "Prescott"}


def _cached_results(project: Path) -> dict[str, bytes]:
    """Every trained weight, spectrum and outlier count of a build, by path."""
    results = project / "results/ci"
    return {str(path.relative_to(results)): path.read_bytes()
            for pattern in ("**/final.pt", "**/*.npz", "**/outliers.json") for path in sorted(results.glob(pattern))}


def test_a_build_under_another_machines_code_paths_gives_byte_identical_results(built, tmp_path):
    """The promise of code_path and of the profile's ``threads``: the workflow pins every
    library's kernels and torch's thread counts, so a second build from scratch on one
    core, whose environment asks for another machine's kernels, trains the same weights,
    computes the same spectra and writes byte-identical tables (spectrum files hold each
    job's run time, so they are compared by their arrays)."""
    second = copy_project(tmp_path)
    # one core: Snakemake lowers the two-thread jobs' reserved cores, never torch's threads
    result = snakemake(second, env={**os.environ, **OTHER_MACHINE}, cores=1)
    assert result.returncode == 0, result.stderr[-5000:]
    names = sorted(path.name for path in (built / "tables/ci").iterdir())
    assert len(names) == 3 + 2 * len(TABLES)
    assert sorted(path.name for path in (second / "tables/ci").iterdir()) == names
    for name in names:
        assert filecmp.cmp(built / "tables/ci" / name, second / "tables/ci" / name, shallow=False), name
    first, other = _cached_results(built), _cached_results(second)
    assert first.keys() == other.keys() and len(first) > 40
    for name in first:
        if name.endswith(".npz"):
            with np.load(built / "results/ci" / name) as a, np.load(second / "results/ci" / name) as b:
                assert all(a[key].dtype == b[key].dtype and a[key].shape == b[key].shape
                           and a[key].tobytes() == b[key].tobytes() for key in a.files if key != "metadata"), name
        elif not name.endswith(".pt"):
            assert first[name] == other[name], name
    for name in (n for n in first if n.endswith(".pt")):
        a = torch.load(built / "results/ci" / name, weights_only=True)["model"]
        b = torch.load(second / "results/ci" / name, weights_only=True)["model"]
        assert all(torch.equal(a[key], b[key]) for key in a), name
    # the jobs ran the pinned kernels, not the ones asked for (each torch job logs them)
    logs = [path.read_text() for path in (second / "logs/ci").rglob("*.log")]
    capability = [line for text in logs for line in text.splitlines() if "CPU capability" in line]
    assert capability and all("CPU capability AVX2" in line and "OPENBLAS_CORETYPE=Haswell" in line
                              for line in capability)


def test_tables_match_the_reference_tables(built):
    """Any change in the ci profile's numbers beyond what another machine's kernels move is
    noticed: the tables match tests/reference/ci within the tolerances measured per
    quantity (config/tolerances/ci.csv; compare's rtol 1e-4 for the rest); `make
    reference` regenerates them on purpose. (Not byte for byte: the reference was built on
    one CPU, and MKL's pinned path is only documented to give the same bits across Intel
    CPUs; two builds on one machine are compared byte for byte above.)"""
    reference = ROOT / "tests/reference/ci"
    measured = tolerance_file(reference)
    assert measured is not None, "config/tolerances/ci.csv is missing"
    differences = compare_tables(reference, built / "tables/ci", tolerances=Tolerances.read(measured))
    assert not differences, "\n".join(differences) + f"\n(tolerances {measured}; on purpose: make reference)"


def test_the_claims_table_has_a_row_per_claim(built):
    claims = [claim["id"] for claim in load_claims(built / "config/claims.yaml")]
    table = pd.read_csv(built / "tables/ci/claims.csv")
    assert list(table["id"]) == claims
    # the ci profile builds every input: every claim has a value and a verdict, none "not measured"
    assert table["value"].notna().all()
    assert all(v in VERDICTS or v.startswith("borderline (") for v in table["verdict"]), set(table["verdict"])


def test_snakemake_report_builds_with_every_figure_and_table(built, tmp_path):
    result = snakemake(built, "--report", str(tmp_path / "report.zip"))
    assert result.returncode == 0, result.stderr[-5000:]
    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        names = archive.namelist()
        text = b"".join(archive.read(name) for name in names if name.endswith((".html", ".js")))
    for name in FIGURES:
        assert any(entry.endswith(f"/{name}.png") for entry in names), name
    for name in ("table1", *TABLES):
        assert any(entry.endswith(f"/{name}.csv") for entry in names), name
    # a figure's caption (workflow/report/*.rst) and a table rule's caption made it in
    assert b"the residual R = H - G" in text and b"claims [ci]: the quantity that tests each" in text


def test_family_targets_build_one_family_each(tmp_path):
    project = copy_project(tmp_path)
    width = _jobs_to_run(project, "config/ci.yaml", "family_width")
    batch = _jobs_to_run(project, "config/ci.yaml", "family_batch")
    clusters = _jobs_to_run(project, "config/ci.yaml", "family_clusters")
    assert width["fig6_width_left_edge_fraction"] == 1 and "batch_size" not in width and "table1" not in width
    assert batch["fig8_batch_negative_eigenvalues"] == 1 and "width_scaling" not in batch
    assert clusters["table1"] == 1 and "image_data" not in clusters and "fig4_width_right_edge" not in clusters
    # ci: 2 widths, 2 batch sizes, 6 cluster runs (and the Fig. 1 run's initial point)
    assert (width["train"], batch["train"], clusters["train"]) == (2, 2, 6)
    assert (clusters["spectrum"], clusters["count_outliers"]) == (7, 6)
    # spectra along training: one Fig. 11 run and two negative-fraction runs, trained, no end spectra
    along = _jobs_to_run(project, "config/ci.yaml", "family_along_training")
    assert (along["along_training"], along["train"]) == (3, 3) and "spectrum" not in along
    switch = _jobs_to_run(project, "config/ci.yaml", "family_switch")
    assert switch == {"switch_data": 1, "switch_train": 2, **SWITCH_AFTER_TRAINING, "fig9_batch_switch": 1,
                      "family_switch": 1}


#: Family A and Appendix B: what a build of config `families: [clusters, appendix_b]` makes
SOME_FAMILIES = ["clusters", "appendix_b"]
SOME_FIGURES = ["fig1_full_spectrum", "fig1b_gauss_newton_split", "fig2_cluster_pca", "fig3_cluster_spectra",
                "figB_marchenko_pastur"]


def _some_families_config(project: Path) -> str:
    config = yaml.safe_load((project / "config/ci.yaml").read_text())
    (project / "config/some.yaml").write_text(yaml.safe_dump({**config, "families": SOME_FAMILIES}))
    return "config/some.yaml"


def test_a_build_of_some_families_runs_none_of_the_others(built, tmp_path):
    # on the cached build only the claims and the report, which read less, run again
    assert _jobs_to_run(built, _some_families_config(built)) == {"claims": 1, "report": 1, "all": 1}
    project = copy_project(tmp_path)
    jobs = _jobs_to_run(project, _some_families_config(project))
    others = ("image_data", "switch_data", "switch_train", "batch_ablation_edges", "along_training",
              "fidelity_ablation", "width_scaling", "batch_size", "batch_switch_table")
    assert not set(others) & set(jobs)
    assert (jobs["train"], jobs["spectrum"], jobs["table1"], jobs["figB_marchenko_pastur"]) == (6, 7, 1, 1)
    assert (jobs["claims"], jobs["report"]) == (1, 1)


def test_the_built_report_names_the_config_files_in_the_order_they_apply(built):
    html = (built / "paper/ci/report.html").read_text()
    assert "(config <code>config/ci.yaml</code> over <code>config/default.yaml</code>)" in html


def test_the_report_of_some_families_says_what_was_not_built(built, tmp_path):
    """The report notebook on a folder holding only Family A's and Appendix B's figures,
    Table 1 and the claims: it renders, and names what it did not find."""
    paths = [*(path for name in SOME_FIGURES for path in (f"figures/ci/{name}.png", f"workflow/report/{name}.rst")),
             *(f"tables/ci/{name}.{ext}" for name in ("table1", "claims") for ext in ("csv", "md"))]
    for path in paths:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(built / path, tmp_path / path)
    output = tmp_path / "report.html"
    render_report(ROOT / "paper/report.py", {"PROFILE": "ci", "CONFIG_FILES": ["config/default.yaml", "results/ci.yaml"],
                                             "CHOICES": [], "STAND_INS": [],
                                             "BUILT": [*SOME_FIGURES, "table1", "claims"]}, output, root=tmp_path)
    html = output.read_text()
    assert "(config <code>results/ci.yaml</code> over <code>config/default.yaml</code>)" in html
    assert html.count('src="data:image/png;base64,') == len(SOME_FIGURES)
    for name in ("fig4_width_right_edge", "batch_size", "fig9_batch_switch", "batch_ablation"):
        assert f"<code>{name}</code>: not built at this profile" in html


def test_bad_config_fails_before_any_job_naming_the_field(tmp_path):
    project = copy_project(tmp_path)
    config = yaml.safe_load((project / "config/ci.yaml").read_text())
    config["clusters"]["lr"] = -1
    config["device"] = "tpu"
    (project / "config/bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(project, configfile="config/bad.yaml")
    assert result.returncode != 0
    assert "clusters.lr" in result.stderr and "allowed values: auto, cpu, cuda" in result.stderr
    assert not (project / "results").exists()


def test_snakemake_lint_is_clean(tmp_path):
    project = copy_project(tmp_path)
    result = snakemake(project, "--lint")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_snakefmt_finds_nothing_to_change():
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
