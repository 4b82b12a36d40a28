"""What each job of a profile will ask a cluster for, before anything is submitted:
``python -m hessian_spectra.pipeline.job_sizes [snakemake options]`` (``make sizes PROFILE=paper``).

It reads Snakemake's own dry run (so the numbers are the rules' resources, nothing
computed twice) and prints one line per job that would run: the rule and its wildcards,
threads (CPUs per task), memory, runtime and GPUs, and whether it stays on the submitting
machine (the Snakefile's ``localrules``), then the largest memory and the total GPU
count. Threads are uncapped (``--cores 1024``): each job shows what it asks for."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HEADER = re.compile(r"^(?:local)?rule (\w+):$")
FIELD = re.compile(r"^\s+(wildcards|threads|resources): (.*)$")


def parse_dry_run(text: str) -> list[dict]:
    """The jobs of a ``snakemake --dry-run`` output: rule, wildcards, threads, and
    the resources mem_mb, runtime and gpu (0 where absent)."""
    jobs, job = [], None
    for line in text.splitlines():
        header = HEADER.match(line)
        if header:
            job = {"rule": header.group(1), "wildcards": "", "threads": 1}
            jobs.append(job)
            continue
        field = FIELD.match(line) if job is not None else None
        if field is None:
            continue
        key, value = field.groups()
        if key == "resources":
            pairs = dict(item.split("=", 1) for item in value.split(", ") if "=" in item)
            job.update(mem_mb=int(pairs.get("mem_mb", 0)), runtime=int(pairs.get("runtime", 0)),
                       gpu=int(pairs.get("gpu", 0)))
        elif key == "threads":
            job["threads"] = int(value)
        else:
            job["wildcards"] = value
    return jobs


def local_rules(snakefile: str | Path = "Snakefile") -> set[str]:
    """The rule names of the Snakefile's ``localrules:`` block (one per line, as snakefmt writes it)."""
    names, inside = set(), False
    for line in Path(snakefile).read_text().splitlines():
        if line.startswith("localrules:"):
            inside = True
        elif inside and line.strip().endswith(","):
            names.add(line.strip().rstrip(","))
        elif inside:
            break
    return names


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1024", *argv]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        return result.returncode
    local = local_rules()
    jobs = [{**job, "local": job["rule"] in local} for job in parse_dry_run(result.stdout + result.stderr)
            if "mem_mb" in job]
    print(f"{'rule':<32} {'where':<8} {'cpus':>4} {'mem (GB)':>9} {'runtime (min)':>13} {'gpus':>4}  wildcards")
    for job in jobs:
        print(f"{job['rule']:<32} {'local' if job['local'] else 'cluster':<8} {job['threads']:>4} "
              f"{job['mem_mb'] / 1000:>9.1f} {job['runtime']:>13} {job['gpu']:>4}  {job['wildcards']}")
    remote = [job for job in jobs if not job["local"]]
    if remote:
        largest = max(remote, key=lambda job: job["mem_mb"])
        print(f"{len(remote)} cluster jobs; the largest asks for {largest['mem_mb'] / 1000:.1f} GB "
              f"({largest['rule']} {largest['wildcards']}); {sum(job['gpu'] for job in remote)} GPU requests in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
