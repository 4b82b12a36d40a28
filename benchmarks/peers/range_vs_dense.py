"""Every eigenvalue through the Hessian's range against the dense path, at a size where
both fit: 784-n-10 (default n = 20, M = 15,910) on ``--images`` (default 400) synthetic
28x28 images (standard normal pixels, random labels, seeded), after 100 full-batch GD
steps (lr 0.05). Times ``hessian_range.range_eigenvalues`` and ``exact_hessian`` +
``eigenvalues`` once each, and prints as its last line
``range_s=<s> dense_s=<s> dimension=<r> max_rel_diff=<d> negatives_range=<a> negatives_dense=<b>``
(d: max |difference| over max |lambda|; the counts below the numerical zero).

Run: ``.venv/bin/python benchmarks/peers/range_vs_dense.py [--hidden 20] [--images 400]`` (a few
minutes on 2 cores; memory ~3 GB).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hessian_spectra.hessian.dense import eigenvalues, exact_hessian
from hessian_spectra.hessian.range import range_eigenvalues
from hessian_spectra.spectra.counts import negative_part
from hessian_spectra.training.models import mlp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=20)
    parser.add_argument("--images", type=int, default=400)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = mlp(784, [args.hidden], 10, "relu", flatten=True)
    x, y = torch.randn(args.images, 1, 28, 28), torch.randint(0, 10, (args.images,))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(100):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    start = time.perf_counter()
    ranged, facts = range_eigenvalues(net, x, y, memory_budget_gb=16)
    range_s = time.perf_counter() - start
    start = time.perf_counter()
    dense = eigenvalues(exact_hessian(net, x, y, memory_budget_gb=16))
    dense_s = time.perf_counter() - start
    diff = np.abs(ranged - dense).max() / np.abs(dense).max()
    print(f"M = {len(dense):,}, N = {args.images}; probe check {facts['check']:.1e}")
    print(f"range_s={range_s:.1f} dense_s={dense_s:.1f} dimension={facts['dimension']} max_rel_diff={diff:.2g} "
          f"negatives_range={len(negative_part(ranged))} negatives_dense={len(negative_part(dense))}")


if __name__ == "__main__":
    main()
