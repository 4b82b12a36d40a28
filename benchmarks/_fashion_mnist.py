"""Real 28x28 images for the benchmarks that run MNIST-sized nets on this machine.

MNIST cannot be downloaded here; Debian's ``dataset-fashion-mnist`` package (``apt-get
install -y dataset-fashion-mnist``, root) puts Fashion-MNIST's four IDX files, MNIST's
format and sizes, in /usr/share/datasets/fashion-mnist. ``link_fashion_mnist(data_dir)``
links them into torchvision's layout under ``data_dir`` so that a config with
``images: {source: fashion_mnist, data_dir: <data_dir>}`` reads them.
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE = Path("/usr/share/datasets/fashion-mnist")
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def link_fashion_mnist(data_dir: Path) -> None:
    """Link the four IDX files into ``data_dir/FashionMNIST/raw``; exit naming what is missing."""
    missing = [name for name in FILES if not (SOURCE / name).is_file()]
    if missing:
        sys.exit(f"missing {', '.join(missing)} in {SOURCE}: apt-get install -y dataset-fashion-mnist")
    raw = data_dir / "FashionMNIST" / "raw"  # torchvision's layout
    raw.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if not (raw / name).exists():
            (raw / name).symlink_to(SOURCE / name)
