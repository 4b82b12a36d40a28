"""The negative fraction on real 28x28 images: what the 8x8 digits stand-in changes.

Builds the ``default`` profile's Family B net at width 10 (784-10-10, M = 7,960) on 1,000
Fashion-MNIST images (MNIST's format and size) through the workflow, as profile
``fashion_check``: its end-of-training table (``tables/fashion_check/width_scaling.md``)
and its negative fraction along training under every numerical-zero rule
(``tables/fashion_check/negative_fraction.md``). Everything else is the ``default``
profile's. Needs the four Fashion-MNIST IDX files: Debian's ``dataset-fashion-mnist``
package puts them in /usr/share/datasets/fashion-mnist (``apt-get install -y
dataset-fashion-mnist``, root). About 6 minutes on 2 cores.

Run from the repository root: ``.venv/bin/python benchmarks/fidelity/negative_fraction_28x28.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _fashion_mnist import link_fashion_mnist

DATA_DIR = Path("data/fashion_check")
CONFIG = Path("results/fashion_check.yaml")
TARGETS = ("tables/fashion_check/width_scaling.csv", "tables/fashion_check/negative_fraction.csv")


def main() -> None:
    link_fashion_mnist(DATA_DIR)
    config = yaml.safe_load(Path("config/default.yaml").read_text())
    config["profile"] = "fashion_check"
    config["images"].update(source={"width": "fashion_mnist", "batch": "fashion_mnist"}, data_dir=str(DATA_DIR))
    config["width"]["hidden"] = [10]
    config["along_training"]["negative_fraction"]["runs"] = ["width_n10"]
    CONFIG.parent.mkdir(exist_ok=True)
    CONFIG.write_text(yaml.safe_dump(config, sort_keys=False))
    subprocess.run([sys.executable, "-m", "snakemake", *TARGETS, "--workflow-profile", "profiles/default",
                    "--cores", "2", "--configfile", str(CONFIG)], check=True)
    for table in TARGETS:
        print(Path(table).with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
