"""Exact Hessian of the Family C convnet: the ``piecewise`` engine against the ``generic`` one.

Problem: the default profile's digits convnet (``config/default.yaml``, ``batch.convnet``:
conv 1->8->16, 3x3, padding 1, FC 64-32-10, M = 3,658) on the default profile's 1,000
training images (scikit-learn digits, the stratified seeded subset), float64. The weights
are the trained batch-10 run's (``results/default/images/batch_b10/final.pt``) when
``make reproduce`` has made it, else the seeded initialisation (the first line says which).

The generic engine makes M = 3,658 Hessian-vector products (one double backward per
column), about 200 s a call on the 1,000 images on 2 quiet cores, so the two engines are
compared on a SMALLER problem: the same net on ``--generic-images`` (default 100) of those
1,000 images, a stratified seeded subset of them (``images.stratified_subset``, the
profile's seed; 10 per class by default). Timed, INTERLEAVED (one round calls each, in
this order; ``--repeats`` rounds, default and minimum 5), each row with its median and
its spread as the min and max over the rounds:

1. ``exact_hessian(..., engine="piecewise")`` on the 1,000 images (our time on the real
   problem; not part of the ratio);
2. ``engine="piecewise"`` on the smaller problem;
3. ``engine="generic"`` on the smaller problem.

Checked: the largest relative difference of the two engines' matrices on the smaller
problem; and, as an oracle that shares no code with the piecewise engine,
``operators.HessianOperator`` products (autograd double backward) with 8 random vectors
against the piecewise matrix of the 1,000 images. The last line is
``speedup_vs_generic=<x> max_rel_diff=<d> hvp_check_rel_diff=<e>``: x is the generic
engine's median time over the piecewise engine's, both on the smaller problem. It is not
the ratio on the 1,000 images, which is smaller (about 10: 206 s against 20 s, once each,
in ``paper/README.md``): the piecewise engine's cost falls with the
number of images faster than the generic one's. d and e are the two checks' relative
differences.

Run:  .venv/bin/python benchmarks/peers/conv_hessian_speed.py [--repeats R] [--generic-images N] [--threads T]
(about 3-4 minutes on 2 quiet cores: the generic engine ~17 s a call on 100 images, the
piecewise one ~15-20 s on 1,000; far longer while other work competes for the cores: one
such run took 24 minutes, its generic calls 17-536 s)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _timing import SPREAD, header, interleaved, repeats_argument

ROOT = Path(__file__).resolve().parents[2]
TRAINED = ROOT / "results/default/batch/batch_b10/final.pt"


def build_problem(n_small: int):
    """The net, the 1,000 images and labels, the indices of the ``n_small``-image stratified
    subset of them, and what the weights are."""
    from hessian_spectra.config.schema import load_config
    from hessian_spectra.config.specs import family_runs
    from hessian_spectra.data.images import load_source, stratified_subset, subset
    from hessian_spectra.training.models import build_model, load_model

    run = family_runs(load_config(ROOT / "config/default.yaml"))["batch"]["batch_b10"]
    data = run["data"]
    full = load_source(data)
    split = subset(full, stratified_subset(full.y_train, data["train_subset"], data["seed"]))
    if TRAINED.is_file():
        model, weights = load_model(run["model"], TRAINED), f"trained ({TRAINED.relative_to(ROOT)})"
    else:
        model, weights = build_model(run["model"]), "initialisation (no trained run found)"
    small = torch.as_tensor(stratified_subset(split.y_train, n_small, data["seed"]))
    return model, torch.as_tensor(split.x_train), torch.as_tensor(split.y_train), small, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repeats_argument(parser)
    parser.add_argument("--generic-images", type=int, default=100, metavar="N",
                        help="images of the smaller problem on which the engines are compared (default 100)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (0 keeps torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from hessian_spectra.hessian.dense import exact_hessian, num_parameters
    from hessian_spectra.hessian.operators import HessianOperator

    model, x, y, small, weights = build_problem(args.generic_images)
    x_small, y_small = x[small], y[small]
    print(f"problem: digits convnet, M={num_parameters(model)}, N={len(x)}, weights: {weights}; float64; "
          f"{torch.get_num_threads()} threads; {args.repeats} interleaved rounds; engines compared on "
          f"N={len(small)} of the {len(x)} images (stratified, seeded)", flush=True)
    full_name, ours_name, generic_name = (f"piecewise, N={len(x)}", f"piecewise, N={len(small)}",
                                          f"generic, N={len(small)}")
    timings = interleaved({full_name: lambda: exact_hessian(model, x, y, engine="piecewise"),
                           ours_name: lambda: exact_hessian(model, x_small, y_small, engine="piecewise"),
                           generic_name: lambda: exact_hessian(model, x_small, y_small, engine="generic")},
                          args.repeats)
    print(f"\n{'engine':20s} {header()}   ({SPREAD})")
    for name, timing in timings.items():
        print(f"{name:20s} {timing.cells(digits=1)}")

    ours, generic = timings[ours_name].result, timings[generic_name].result
    max_rel_diff = float((generic - ours).abs().max() / ours.abs().max())
    full = timings[full_name].result
    vectors = torch.randn(full.shape[0], 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    products = HessianOperator(model, x, y, engine="autograd").matmat(vectors)
    expected = full @ vectors
    hvp_diff = float((products - expected).abs().max() / expected.abs().max())
    print(f"\nmax|generic - piecewise| / max|piecewise| (N={len(small)}) = {max_rel_diff:.2g}; "
          f"HVP oracle vs piecewise (N={len(x)}, 8 random vectors) = {hvp_diff:.2g}")
    print(f"speedup_vs_generic={timings[generic_name].median / timings[ours_name].median:.3g} "
          f"max_rel_diff={max_rel_diff:.2g} hvp_check_rel_diff={hvp_diff:.2g}")


if __name__ == "__main__":
    main()
