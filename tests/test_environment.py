"""The pins live in requirements.txt; environment.yml must carry the same ones."""

from __future__ import annotations

import subprocess

import yaml
from cases import ROOT


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {name.lower(): version for name, version in (entry.split("==") for entry in pip_section)}


def test_environment_yml_matches_requirements():
    assert _conda_pins() == _requirements()


def test_torch_pins_are_the_ones_on_local_disk():
    pins = _requirements()
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")
    assert pins["snakemake"].startswith("9.27.")


def test_make_builds_one_target_with_its_profile():
    """`make figures/<profile>/<file>` must hand the target to Snakemake before --configfile
    (which takes several files and would read the target as a config file)."""
    out = subprocess.run(["make", "-n", "-W", ".venv/.installed", "figures/ci/fig3_cluster_spectra.pdf"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if "snakemake" in l and "--configfile" in l)
    assert line.index("figures/ci/fig3_cluster_spectra.pdf") < line.index("--configfile")
    assert line.rstrip().endswith("--configfile config/ci.yaml")
