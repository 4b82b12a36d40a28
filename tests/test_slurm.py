"""The workflow on a real Slurm cluster, through Snakemake's executor plugin and
``profiles/slurm``: a single-node Slurm started here (``slurm_cluster``), the ci profile's
Gaussian-cluster family's Table 1 submitted to it (the smallest target that trains, takes
spectra and counts: data, train, spectrum, count_outliers and a table job).

First a run with a step size that makes training diverge (``clusters.lr`` = 1e30: the
config accepts it, the training jobs fail on the cluster), then the fixed run: it must
pick up where the failed one stopped (the data jobs that finished are not submitted
again), really go through Slurm (its job ids are in ``squeue``), build the table, and
give files byte-identical to the suite's local build of the same profile (the ``built``
fixture, shared with the workflow tests: no second local build).

Skipped with the reason where Slurm cannot start (no root, no packages, no plugin);
``REQUIRE_SLURM=1`` (set by ``.ci/run``) turns that into a failure."""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
import time

import pytest
import yaml

from project import copy_project, snakemake
from slurm_cluster import SlurmCluster, missing_pieces

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

TABLE_1 = [f"tables/ci/table1.{ext}" for ext in ("csv", "md", "tex")]
SLURM_ARGS = ["--workflow-profile", "profiles/slurm", "--slurm-no-account", "--slurm-status-command", "squeue",
              "--slurm-init-seconds-before-status-checks", "1"]
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: ([^)]+)\)")


def _plugin_missing() -> list[str]:
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return ["snakemake-executor-plugin-slurm not installed (pip install -r requirements-slurm.txt)"]
    return []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    problems = missing_pieces() + _plugin_missing()
    required = os.environ.get("REQUIRE_SLURM") == "1"
    if problems:
        (pytest.fail if required else pytest.skip)("Slurm cannot start here: " + "; ".join(problems))
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
    except RuntimeError as error:
        (pytest.fail if required else pytest.skip)(f"Slurm did not start: {error}")
    try:
        yield slurm
    finally:
        slurm.stop()


def _submitted(output: str) -> dict[str, str]:
    """Slurm job id -> its log, from Snakemake's output."""
    return {job: log for job, log in SUBMITTED.findall(output)}


def test_a_failed_job_surfaces_and_the_fixed_run_completes_through_slurm(cluster, built, tmp_path):
    project = copy_project(tmp_path / "slurm")
    config = yaml.safe_load((project / "config/ci.yaml").read_text())
    config["clusters"]["lr"] = 1e30
    (project / "config/diverging.yaml").write_text(yaml.safe_dump(config))

    start = time.perf_counter()
    failed = snakemake(project, TABLE_1[0], *SLURM_ARGS, configfile="config/diverging.yaml", env=cluster.env())
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "Error in rule train" in output and ".snakemake/slurm_logs/rule_train/" in output
    train_logs = list((project / "logs/ci/train").glob("*.log"))
    assert any("training diverged" in log.read_text() and "clusters.lr" in log.read_text() for log in train_logs)
    data_before = {path: path.stat().st_mtime_ns for path in (project / "results/ci/data").glob("*.npz")}
    assert data_before  # the data jobs finished before training failed

    fixed = snakemake(project, TABLE_1[0], *SLURM_ARGS, env=cluster.env())
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, output[-5000:]
    seconds = time.perf_counter() - start
    jobs = _submitted(output)
    assert jobs, output[-3000:]
    assert not any("rule_cluster_data" in log for log in jobs.values())  # finished jobs were not redone
    assert {path: path.stat().st_mtime_ns for path in data_before} == data_before
    queue = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i"], env=cluster.env(),
                           capture_output=True, text=True, timeout=60).stdout.split()
    assert set(jobs) <= set(queue)  # Slurm ran them
    for path in TABLE_1:
        assert filecmp.cmp(project / path, built / path, shallow=False), path
    print(f"Slurm: the failing run and the fixed run took {seconds:.0f} s; {len(jobs)} jobs submitted by the fixed run")
