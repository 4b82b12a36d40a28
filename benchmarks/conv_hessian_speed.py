"""Exact Hessian of the Family C convnet: the ``piecewise`` engine against the ``generic`` one.

Problem: the default profile's digits convnet (``config/default.yaml``, ``batch.convnet``:
conv 1->8->16, 3x3, padding 1, FC 64-32-10, M = 3,658) on the default profile's 1,000
training images (scikit-learn digits, the stratified seeded subset), float64. The weights
are the trained batch-10 run's (``results/default/images/batch_b10/final.pt``) when
``make reproduce`` has made it, else the seeded initialisation (the line says which).

Measured: ``exact_hessian(..., engine="piecewise")`` and ``engine="generic"`` (one
double-backward Hessian-vector product per column), best of ``--repeats``; their largest
relative difference; and, as an oracle that shares no code with the piecewise engine,
``lanczos.HessianOperator`` products (autograd double backward) with 8 random vectors
against the piecewise matrix. The last line is
``speedup_vs_generic=<x> max_rel_diff=<d> hvp_check_rel_diff=<e>``.

Run:  .venv/bin/python benchmarks/conv_hessian_speed.py [--repeats R] [--threads T]
(about 5 minutes on 2 cores, most of it the generic engine)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from _timing import best_of

ROOT = Path(__file__).resolve().parents[1]
TRAINED = ROOT / "results/default/images/batch_b10/final.pt"


def build_problem():
    from hessian_spectra import config as project_config
    from hessian_spectra import runs
    from hessian_spectra.images import load_source, stratified_subset, subset

    config = project_config.load_config(ROOT / "config/default.yaml")
    run = project_config.image_run(config, "batch_b10")
    data = project_config.image_data(config)
    full = load_source(data)
    split = subset(full, stratified_subset(full.y_train, data["train_subset"], data["seed"]))
    if TRAINED.is_file():
        model, weights = runs.load_model(run["model"], TRAINED), f"trained ({TRAINED.relative_to(ROOT)})"
    else:
        model, weights = runs.build_model(run["model"]), "initialisation (no trained run found)"
    return model, torch.as_tensor(split.x_train), torch.as_tensor(split.y_train), weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="best of R runs of each engine")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (0 keeps torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from hessian_spectra.hessian import exact_hessian, num_parameters
    from hessian_spectra.operators import HessianOperator

    model, x, y, weights = build_problem()
    print(f"problem: digits convnet, M={num_parameters(model)}, N={len(x)}, weights: {weights}; "
          f"float64; {torch.get_num_threads()} threads; best of {args.repeats}")
    seconds = {}
    matrices = {}
    for engine in ("piecewise", "generic"):
        seconds[engine], matrices[engine] = best_of(lambda: exact_hessian(model, x, y, engine=engine),
                                                    args.repeats)
        print(f"{engine:10s} {seconds[engine]:8.1f} s")
    ours = matrices["piecewise"]
    scale = ours.abs().max()
    max_rel_diff = float((matrices["generic"] - ours).abs().max() / scale)
    vectors = torch.randn(ours.shape[0], 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    products = HessianOperator(model, x, y, engine="autograd").matmat(vectors)
    expected = ours @ vectors
    hvp_diff = float((products - expected).abs().max() / expected.abs().max())
    print(f"speedup_vs_generic={seconds['generic'] / seconds['piecewise']:.3g} "
          f"max_rel_diff={max_rel_diff:.2g} hvp_check_rel_diff={hvp_diff:.2g}")


if __name__ == "__main__":
    main()
