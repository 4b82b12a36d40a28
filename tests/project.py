"""The workflow as a project the tests build: a copy in a temporary folder (the package
itself is installed), and Snakemake run on it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from cases import ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_project(folder: Path) -> Path:
    """A copy of the workflow (Snakefile, rules, configs, profiles, the report notebook) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in ("Snakefile", "workflow", "config", "profiles", "environment.yml", "paper/report.py"):
        source, target = ROOT / item, folder / item
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    return folder


def snakemake(project: Path, *args: str, configfile: str = "config/ci.yaml", env: dict | None = None,
              cores: int = 2) -> subprocess.CompletedProcess:
    """Snakemake on ``project`` with ``args`` (targets and options: they come before
    --configfile, which takes several files)."""
    return subprocess.run([*SNAKEMAKE, "--cores", str(cores), *args, "--configfile", configfile],
                          cwd=project, capture_output=True, text=True, timeout=1800, env=env)
