"""Stochastic Lanczos quadrature: ours (``density.hessian_density``) against PyHessian's
``density`` on the same model and data, the same number of probes and Lanczos steps, each
scored by its Wasserstein-1 distance to the exact spectrum.

The model is the default profile's Family B net 64-30-10 (M = 2,260), trained by full-batch
GD at the profile's step size for 2,000 steps on its 1,000 digits images (the data step of
the workflow builds them). The exact eigenvalues come from our dense Hessian
(``hessian.exact_hessian``, checked against ``torch.func.hessian`` in the tests).

PyHessian 0.1 calls ``torch.eig``, which torch 2 removed; the script supplies it as
``torch.linalg.eigh`` of the (symmetric) tridiagonal matrix, faster than the original, so
PyHessian's time here is if anything on the short side. PyHessian runs in float64 (the
default dtype set while it runs), as ours does. Each method is timed ``--repeats`` times,
interleaved. Prints, last, ``speedup_vs_pyhessian=<x> our_w1=<a> pyhessian_w1=<b>``.

Needs the peers: ``.venv/bin/pip install --no-deps -r benchmarks/peers/requirements-peers.txt``.
Run: ``.venv/bin/python benchmarks/peers/density_speed.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.stats
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _timing import SPREAD, header, interleaved, repeats_argument
from hessian_spectra.config.schema import load_config
from hessian_spectra.config.specs import family_runs
from hessian_spectra.data.images import make_image_data
from hessian_spectra.data.split import load_split
from hessian_spectra.hessian.dense import eigenvalues, exact_hessian
from hessian_spectra.spectra.density import hessian_density
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import TrainSettings, train

RUN = "width_n30"
TRAIN_STEPS = 2000


def trained_net() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    config = load_config("config/default.yaml")
    run = family_runs(config)["width"][RUN]
    with tempfile.TemporaryDirectory() as tmp:
        make_image_data(run["data"], Path(tmp) / "images.npz")
        data = load_split(Path(tmp) / "images.npz")
        net = build_model(run["model"])
        settings = TrainSettings(**{**run["train"], "max_steps": TRAIN_STEPS, "eval_every": TRAIN_STEPS,
                                    "checkpoint_every": TRAIN_STEPS, "log_checkpoints": 0})
        train(net, data, settings, tmp, show_progress=False)
    x, y = data.tensors("train")
    return net, x, y


def pyhessian_density(net: nn.Module, x: torch.Tensor, y: torch.Tensor, probes: int, steps: int):
    from pyhessian import hessian

    def eig(matrix, eigenvectors=False):  # torch.eig (removed in torch 2) for a symmetric matrix
        values, vectors = torch.linalg.eigh(matrix)
        return torch.stack([values, torch.zeros_like(values)], dim=1), vectors

    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # its vectors and T are created with the default dtype
    torch.eig = eig
    try:
        engine = hessian(copy.deepcopy(net).double(), nn.CrossEntropyLoss(), data=(x.double(), y), cuda=False)
        nodes, weights = engine.density(iter=steps, n_v=probes)
    finally:
        torch.set_default_dtype(default_dtype)
        del torch.eig
    return np.asarray(nodes).ravel(), np.asarray(weights).ravel() / probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=80)
    repeats_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(2)
    net, x, y = trained_net()
    exact = eigenvalues(exact_hessian(net, x, y))
    print(f"{RUN} of the default profile after {TRAIN_STEPS} GD steps: M = {len(exact):,}, N = {len(x):,}; "
          f"{args.probes} probes x {args.steps} Lanczos steps; torch threads {torch.get_num_threads()}")
    timings = interleaved({
        "ours": lambda: hessian_density(net, x, y, probes=args.probes, steps=args.steps, seed=0).measure(),
        "pyhessian": lambda: pyhessian_density(net, x, y, args.probes, args.steps),
    }, args.repeats)
    distances = {}
    print(f"{'method':>10s} {header()}  W1 to the exact spectrum ({SPREAD})")
    for name, timing in timings.items():
        nodes, weights = timing.result
        distances[name] = scipy.stats.wasserstein_distance(nodes, exact, weights)
        print(f"{name:>10s} {timing.cells()}  {distances[name]:.3g}")
    speedup = timings["pyhessian"].median / timings["ours"].median
    print(f"speedup_vs_pyhessian={speedup:.3g} our_w1={distances['ours']:.3g} pyhessian_w1={distances['pyhessian']:.3g}")


if __name__ == "__main__":
    main()
