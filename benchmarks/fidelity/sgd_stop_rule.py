"""Which gradient norm stops an SGD run, and what it does to Table 1's mean eigenvalue.

The stopping test of ``train`` uses the full-batch gradient norm, computed every
``eval_every`` steps for SGD (500 in the ``default`` profile). This script trains some
of the ``default`` profile's SGD runs of Table 1 (same data, net, initialisation, step
size, batch size, tolerance and step cap) under three stopping rules:

* ``full/500``: full-batch gradient norm < tol, tested every 500 steps (the profile's: its
  steps and mean eigenvalue are Table 1's, a check on this script);
* ``full/1``: full-batch gradient norm < tol, tested after every step;
* ``mini/1``: the gradient norm of the step's own mini-batch < tol (the cheapest rule a
  training loop can apply, and one reading of "stop when the gradient norm falls to tol").

and prints per run and rule: the steps taken, the train loss and full-batch gradient norm
at the stop, and the mean eigenvalue of H (trace / M, from the exact Hessian) beside
the paper's. Run: ``.venv/bin/python benchmarks/fidelity/sgd_stop_rule.py [--runs sgd_relu_cov1_k2 ...]``
(a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from hessian_spectra.config.schema import load_config
from hessian_spectra.config.specs import family_runs
from hessian_spectra.data.clusters import gaussian_clusters
from hessian_spectra.hessian.dense import exact_hessian
from hessian_spectra.outputs.tables import paper_table1
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import batch_indices, full_gradient_norm

RUNS = ("sgd_relu_cov1_k2", "sgd_relu_cov1_k5", "sgd_relu_cov1_k50", "sgd_relu_cov10_k2", "sgd_relu_cov10_k50")


def train_until(run: dict, x: torch.Tensor, y: torch.Tensor, rule: str) -> tuple[nn.Module, int]:
    """SGD as ``train.train`` takes it (same mini-batches, same order), stopped by ``rule``."""
    settings = run["train"]
    net = build_model(run["model"])
    optimizer = torch.optim.SGD(net.parameters(), lr=settings["lr"])
    every = 500 if rule == "full/500" else 1
    for step in range(settings["max_steps"]):
        if rule.startswith("full") and step % every == 0 and full_gradient_norm(net, x, y) < settings["grad_tol"]:
            return net, step
        idx = torch.from_numpy(batch_indices(step, len(x), settings["batch_size"], settings["seed"]))
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        if rule == "mini/1":
            norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in net.parameters())).item()
            if norm < settings["grad_tol"]:
                return net, step
        optimizer.step()
    return net, settings["max_steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", default=list(RUNS))
    parser.add_argument("--config", default="config/default.yaml")
    args = parser.parse_args()
    torch.set_num_threads(2)
    runs = family_runs(load_config(args.config))["clusters"]
    paper = paper_table1().set_index(["algorithm", "activation", "cov", "k"])["eig_mean"]
    print("| run | rule | steps | train loss | full grad norm | mean eig | paper | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for run_id in args.runs:
        run = runs[run_id]
        x, y = gaussian_clusters(**run["data"]).tensors("train")
        reference = paper[("sgd", "relu", run["data"]["cov"], run["data"]["k"])]
        for rule in ("full/500", "full/1", "mini/1"):
            net, steps = train_until(run, x, y, rule)
            with torch.no_grad():
                loss = nn.functional.cross_entropy(net(x), y).item()
            hessian = exact_hessian(net, x, y)
            mean = float(torch.trace(hessian)) / len(hessian)
            print(f"| {run_id} | {rule} | {steps} | {loss:.3g} | {full_gradient_norm(net, x, y):.3g} | "
                  f"{mean:.3g} | {reference:.3g} | {mean / reference:.2f} |", flush=True)


if __name__ == "__main__":
    main()
