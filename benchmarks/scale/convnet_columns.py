"""Seconds per column of R for each layer of the paper's convnet (31,770 parameters) in the
``piecewise`` engine, on 1,000 synthetic 28x28 images (seeded; the cost does not depend on
the pixel values), and the Gauss-Newton part's time. Times the first ``--columns``
(default 128) columns of each layer that has columns (conv1, conv2, fc1; the last layer
has none) and extrapolates to all of them, to show where an exact convnet spectrum's
assembly goes (the engine's chunk size, 64). Last line:
``conv1_s_per_col=<a> conv2_s_per_col=<b> fc1_s_per_col=<c> gauss_newton_s=<g> columns_s=<t>``
(t: the extrapolated time of all 30,960 columns).

Run: ``.venv/bin/python benchmarks/scale/convnet_columns.py`` (a few minutes on 2 quiet cores; one 8 GB scratch matrix).
"""

from __future__ import annotations

import argparse
import builtins
import time

import torch

from hessian_spectra.hessian import piecewise
from hessian_spectra.hessian.gauss_newton import add_gauss_newton
from hessian_spectra.training.models import convnet

N_IMAGES = 1000


class _NoBar:
    def update(self, n: int) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = convnet().double()
    x = torch.randn(N_IMAGES, 1, 28, 28, dtype=torch.float64)
    y = torch.randint(0, 10, (N_IMAGES,))
    stages, tail = piecewise.piecewise_stages(net)
    offsets = [0]
    for stage in stages:
        offsets.append(offsets[-1] + stage.size)
    out = torch.zeros(offsets[-1], offsets[-1], dtype=torch.float64)
    assembler = piecewise._ResidualAssembler(stages, tail, 64, _NoBar(), out, offsets)
    inputs, outputs, logits = assembler._forward(x)
    prob = torch.softmax(logits.detach(), dim=1)
    residual = (prob - torch.nn.functional.one_hot(y, 10).double()) / N_IMAGES
    signals = torch.autograd.grad(logits, outputs, grad_outputs=residual)
    # the engine loops ``for start in range(0, size, chunk)``: cap that range at --columns
    piecewise.range = lambda start, stop, step=1: builtins.range(start, min(stop, start + args.columns), step)
    try:
        per_column = []
        for m, name in enumerate(("conv1", "conv2", "fc1")):
            begin = time.perf_counter()
            assembler._add_column_blocks(m, inputs, signals)
            per_column.append((time.perf_counter() - begin) / min(args.columns, stages[m].size))
            print(f"{name}: {stages[m].size:,} columns, {per_column[-1]:.4f} s per column", flush=True)
    finally:
        del piecewise.range
    begin = time.perf_counter()
    add_gauss_newton(out, net, x, y, N_IMAGES)  # into the same scratch matrix: its values are not used
    gauss_newton_s = time.perf_counter() - begin
    columns_s = sum(seconds * stages[m].size for m, seconds in enumerate(per_column))
    print(f"conv1_s_per_col={per_column[0]:.4g} conv2_s_per_col={per_column[1]:.4g} fc1_s_per_col={per_column[2]:.4g} "
          f"gauss_newton_s={gauss_newton_s:.0f} columns_s={columns_s:.0f}")


if __name__ == "__main__":
    main()
