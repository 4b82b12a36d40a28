"""End to end: the ci profile builds every Family A output through Snakemake in a
temporary directory; reruns do nothing; two runs give the same table; bad configs fail
before any job starts."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from cases import ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
FIGURES = ("fig1_full_spectrum", "fig1b_gauss_newton_split", "fig2_cluster_pca", "fig3_cluster_spectra",
           "fig4_width_right_edge", "fig5_width_left_edge_count", "fig6_width_left_edge_fraction",
           "fig7_batch_top_eigenvalues", "fig8_batch_negative_eigenvalues")
OUTPUTS = [
    *(f"figures/ci/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")),
    *(f"tables/ci/table1.{ext}" for ext in ("csv", "md", "tex")),
    *(f"tables/ci/{name}.{ext}" for name in ("width_scaling", "batch_size") for ext in ("csv", "md")),
]

pytestmark = pytest.mark.slow


def _project(tmp: Path) -> Path:
    """A copy of the workflow (the package itself is installed) in ``tmp``."""
    for item in ("Snakefile", "workflow", "config", "environment.yml"):
        source = ROOT / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp / item)
    return tmp


def _snakemake(project: Path, *args: str, configfile: str = "config/ci.yaml") -> subprocess.CompletedProcess:
    # targets and options before --configfile, which takes several files
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args, "--configfile", configfile],
                          cwd=project, capture_output=True, text=True, timeout=1200)


def _jobs_to_run(project: Path, configfile: str, *targets: str) -> dict[str, int]:
    """Rule -> job count of a dry run (of ``targets``, else the default target)."""
    result = _snakemake(project, *targets, "--dry-run", "--quiet", "rules", configfile=configfile)
    assert result.returncode == 0, result.stderr
    counts, in_table = {}, False
    for line in (result.stdout + result.stderr).splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
        elif in_table and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    project = _project(tmp_path_factory.mktemp("first"))
    result = _snakemake(project)
    assert result.returncode == 0, result.stderr[-5000:]
    return project


def test_ci_profile_builds_every_output(built):
    missing = [path for path in OUTPUTS if not (built / path).is_file()]
    assert not missing
    table = (built / "tables/ci/table1.csv").read_text().splitlines()
    assert len(table) == 1 + 6  # header + the ci profile's six runs
    assert "paper_gap" in table[0]
    assert len((built / "tables/ci/width_scaling.csv").read_text().splitlines()) == 1 + 2
    indices = np.load(built / "results/ci/images/data.npz")["train_indices"]
    assert len(indices) == 300 and len(set(indices.tolist())) == 300  # the saved subset


def test_second_invocation_has_nothing_to_do(built):
    result = _snakemake(built)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_a_plot_parameter_reruns_only_that_plot(built):
    config = yaml.safe_load((built / "config/ci.yaml").read_text())
    config["plots"]["fig3_top"] = 25
    (built / "config/changed.yaml").write_text(yaml.safe_dump(config))
    assert _jobs_to_run(built, "config/changed.yaml") == {"fig3_cluster_spectra": 1, "all": 1}


def test_changing_a_cutoff_recounts_without_retraining(built):
    config = yaml.safe_load((built / "config/ci.yaml").read_text())
    config["clusters"]["groups"][0]["cutoff"] = 0.5  # gd_tanh_cov1: one run, not in fig. 3 or fig. 1
    (built / "config/changed.yaml").write_text(yaml.safe_dump(config))
    assert _jobs_to_run(built, "config/changed.yaml") == {"spectrum": 1, "table1": 1, "all": 1}


def test_changing_the_batch_step_size_retrains_only_family_c(built):
    config = yaml.safe_load((built / "config/ci.yaml").read_text())
    config["batch"]["lr"] = 0.01
    (built / "config/changed.yaml").write_text(yaml.safe_dump(config))
    assert _jobs_to_run(built, "config/changed.yaml") == {
        "train": 2, "spectrum": 2, "fig7_batch_top_eigenvalues": 1,
        "fig8_batch_negative_eigenvalues": 1, "image_table": 1, "all": 1}


def test_two_runs_give_byte_identical_table(built, tmp_path):
    second = _project(tmp_path)
    result = _snakemake(second)
    assert result.returncode == 0, result.stderr[-5000:]
    for name in ("table1.csv", "table1.md", "width_scaling.csv", "batch_size.csv"):
        assert filecmp.cmp(built / "tables/ci" / name, second / "tables/ci" / name, shallow=False), name


def test_family_targets_build_one_family_each(tmp_path):
    project = _project(tmp_path)
    images = _jobs_to_run(project, "config/ci.yaml", "family_images")
    clusters = _jobs_to_run(project, "config/ci.yaml", "family_clusters")
    assert images["fig8_batch_negative_eigenvalues"] == 1 and "table1" not in images
    assert clusters["table1"] == 1 and "image_data" not in clusters and "fig4_width_right_edge" not in clusters
    assert images["train"] == 4 and clusters["train"] == 6  # ci: 2 widths + 2 batch sizes; 6 cluster runs


def test_bad_config_fails_before_any_job_naming_the_field(tmp_path):
    project = _project(tmp_path)
    config = yaml.safe_load((project / "config/ci.yaml").read_text())
    config["clusters"]["lr"] = -1
    config["device"] = "tpu"
    (project / "config/bad.yaml").write_text(yaml.safe_dump(config))
    result = _snakemake(project, configfile="config/bad.yaml")
    assert result.returncode != 0
    assert "clusters.lr" in result.stderr and "allowed values: auto, cpu, cuda" in result.stderr
    assert not (project / "results").exists()


def test_snakemake_lint_is_clean(tmp_path):
    project = _project(tmp_path)
    result = _snakemake(project, "--lint")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
