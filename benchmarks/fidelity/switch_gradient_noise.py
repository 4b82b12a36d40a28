"""Why the default profile's batch switch shows no jump: the gradient norms of Part I's
net, full batch and mini-batches of each part's size, at its initial point and at its end
(the switch). Reads a built profile's Family D (``make reproduce SNAKE_ARGS=family_switch``
first). Prints per checkpoint the full-batch norm and the mean over ``--batches``
mini-batches (``train.batch_indices``, seed 7) of each batch size.

Run: ``.venv/bin/python benchmarks/fidelity/switch_gradient_noise.py [--profile default]`` (seconds).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from hessian_spectra.config.schema import load_config
from hessian_spectra.config.specs import switch_runs
from hessian_spectra.data.split import load_split
from hessian_spectra.training.models import load_model
from hessian_spectra.training.train import batch_indices, full_gradient_norm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(f"config/{args.profile}.yaml")
    run = switch_runs(config)["part1"]
    x, y = load_split(f"results/{args.profile}/data/switch.npz").tensors("train")
    for checkpoint in ("init", "final"):
        net = load_model(run["model"], f"results/{args.profile}/switch/part1/{checkpoint}.pt")
        line = [f"{checkpoint}: full batch {full_gradient_norm(net, x, y):.3g}"]
        for size in config["switch"]["batch_sizes"].values():
            norms = [full_gradient_norm(net, x[idx], y[idx])
                     for idx in (torch.from_numpy(batch_indices(step, len(x), size, 7)) for step in range(args.batches))]
            line.append(f"batch {size} mean {np.mean(norms):.3g}")
        print(", ".join(line))


if __name__ == "__main__":
    main()
