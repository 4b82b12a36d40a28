"""The paper's sizes, stage by stage, on the device this machine has: the Family B nets
784-n-10 (n = 10, 30, 50, 70: M = 7,960 ... 55,660) and the Family C convnet (31,770
parameters), on 1,000 synthetic 28x28 images of the real shape (the cost does not depend
on the pixel values; standard normal pixels, random labels).

Per net: training steps per second (full-batch GD for the MLPs, batch 512 for the
convnet, as the paper profile trains them), then, where the dense matrix fits the memory
(``--memory-gb``, default 70% of this machine's RAM; on CUDA also the device's free
memory), the exact path (assembly by ``hessian.exact_hessian`` on the device, then
``torch.linalg.eigvalsh`` there); otherwise, as ``spectrum.method: auto`` does, every
eigenvalue through the Hessian's range (``hessian_range``) where its basis fits, else the
Lanczos edges (the paper profile's ``spectrum.edge_k`` from each end). And the SLQ density (the paper profile's
``spectrum.slq_probes`` and ``slq_steps``) with its estimated negative fraction, compared with the
exact one wherever the exact spectrum was computed. The nets are trained for
``--train-steps`` GD steps first, so that the spectrum has the shape of a trained net's.

Prints one line per net and stage and, last,
``device=<cpu|cuda> largest_exact_M=<m> seconds_per_exact_spectrum=<s> slq_negative_fraction_error=<e>``
(for the largest net with every eigenvalue, dense or through the range, the line before
says which: assembly plus eigenvalues, and |SLQ - exact| negative fraction).

Run: ``.venv/bin/python benchmarks/scale/paper_scale.py [--nets n10 n30 n50 n70 convnet] [--slq-steps 80 200 400]``. On 2 CPU
cores n10 takes minutes and n30 about half an hour; the rest wants a GPU or hours.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

from hessian_spectra.base.seeding import resolve_device
from hessian_spectra.config.schema import load_config
from hessian_spectra.config.sizes import dense_matrices_bytes, range_basis_size, range_matrices_bytes
from hessian_spectra.data.split import Split
from hessian_spectra.hessian.dense import eigenvalues, exact_hessian
from hessian_spectra.hessian.range import free_layer, range_eigenvalues
from hessian_spectra.spectra.counts import negative_part, numerical_zero_of
from hessian_spectra.spectra.density import hessian_density
from hessian_spectra.spectra.edges import hessian_edges
from hessian_spectra.training.models import convnet, mlp
from hessian_spectra.training.train import TrainSettings, train

N_IMAGES = 1000
NETS = {
    **{f"n{n}": (lambda n=n: mlp(784, [n], 10, "relu", flatten=True), "gd", 0) for n in (10, 30, 50, 70)},
    "convnet": (lambda: convnet((1, 28, 28), 10), "sgd", 512),
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(device: torch.device, work):
    synchronize(device)
    start = time.perf_counter()
    result = work()
    synchronize(device)
    return result, time.perf_counter() - start


def machine_memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--memory-gb", type=float, default=0.7 * machine_memory_gb())
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--slq-steps", type=int, nargs="+", default=None,
                        help="Lanczos steps per probe to compare (default: the paper profile's slq_steps)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    spectrum = load_config("config/paper.yaml")["spectrum"]
    probes, slq_steps = spectrum["slq_probes"], args.slq_steps or [spectrum["slq_steps"]]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_IMAGES, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, N_IMAGES)
    data = Split(x, y, x[:100], y[:100], 10)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    print(f"device {device}, {torch.get_num_threads()} threads, memory budget {args.memory_gb:.1f} GiB, "
          f"N = {N_IMAGES} synthetic 28x28 images")
    largest = {"M": 0, "seconds": float("nan"), "error": float("nan"), "method": "none"}
    for name in args.nets:
        build, algorithm, batch = NETS[name]
        torch.manual_seed(0)
        net = build()
        M = sum(p.numel() for p in net.parameters())
        settings = TrainSettings(algorithm=algorithm, lr=0.05, max_steps=args.train_steps, grad_tol=0.0,
                                 batch_size=batch, eval_every=args.train_steps, checkpoint_every=args.train_steps)
        with tempfile.TemporaryDirectory() as tmp:
            _, seconds = timed(device, lambda: train(net, data, settings, tmp, device=device, show_progress=False))
        print(f"{name}: M = {M:,}; training {args.train_steps / seconds:.1f} steps/s ({algorithm}"
              f"{f', batch {batch}' if batch else ''}, records and checkpoints included)", flush=True)
        need_gb = dense_matrices_bytes(M) / 2**30
        free = free_layer(net)
        dimension = range_basis_size(M, free.stop - free.start, N_IMAGES, 10)
        range_gb = range_matrices_bytes(M, dimension) / 2**30
        exact, method = None, "dense"
        if need_gb <= args.memory_gb:
            matrix, assembly = timed(device, lambda: exact_hessian(net, inputs, targets, device=device,
                                                                   memory_budget_gb=args.memory_gb))
            exact, solve = timed(device, lambda: eigenvalues(matrix))
            del matrix
            print(f"  exact ({need_gb:.1f} GiB): assembly {assembly:.1f} s, eigenvalues {solve:.1f} s", flush=True)
        elif dimension < M and range_gb <= args.memory_gb:
            (exact, facts), assembly = timed(device, lambda: range_eigenvalues(
                net, inputs, targets, device=device, memory_budget_gb=args.memory_gb))
            solve, method = 0.0, "range"
            print(f"  dense needs {need_gb:.1f} GiB: every eigenvalue through the range (r = {facts['dimension']:,}, "
                  f"{range_gb:.1f} GiB) {assembly:.1f} s, probe check {facts['check']:.1e}", flush=True)
        else:
            edges, seconds = timed(device, lambda: hessian_edges(
                net, inputs, targets, k=spectrum["edge_k"], tol=spectrum["lanczos_tol"],
                max_products=spectrum["lanczos_max_products"], device=device))
            print(f"  dense needs {need_gb:.1f} GiB: Lanczos edges ({spectrum['edge_k']} each end) {seconds:.1f} s, "
                  f"{edges.n_products} products, converged {edges.converged}", flush=True)
        truth = None if exact is None else len(negative_part(exact)) / M
        scale = None if exact is None else float(np.abs(exact).max())
        for steps in slq_steps:
            density, seconds = timed(device, lambda: hessian_density(net, inputs, targets, probes=probes,
                                                                     steps=steps, seed=0, device=device))
            top = scale or max(abs(float(density.nodes.max())), abs(float(density.nodes.min())))
            fraction, low, high = density.count_below(-numerical_zero_of(M, top)).fraction
            line = f"  SLQ ({probes} probes x {steps} steps) {seconds:.1f} s: negative fraction {fraction:.4f} [{low:.4f}, {high:.4f}]"
            if truth is not None:
                line += f", exact {truth:.4f}"
                if M >= largest["M"]:  # the largest exact net, at its last step count
                    largest = {"M": M, "seconds": assembly + solve, "error": abs(fraction - truth), "method": method}
            print(line, flush=True)
    print(f"largest net with every eigenvalue: M = {largest['M']:,}, {largest['method']}")
    print(f"device={device.type} largest_exact_M={largest['M']} seconds_per_exact_spectrum={largest['seconds']:.3g} "
          f"slq_negative_fraction_error={largest['error']:.3g}")


if __name__ == "__main__":
    main()
