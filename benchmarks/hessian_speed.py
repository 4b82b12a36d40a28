"""Speed and memory of ``exact_hessian`` against ``torch.func.hessian``.

Problem: the 100-30-30-50 fully connected ReLU net with biases (M = 5510 parameters)
on N = 1000 standardized Gaussian-blob points in 50 classes, everything in float64.

Measured, each in its own fresh (spawned) process so that peak memory is clean:

1. ``exact_hessian(model, X, y, batch_size=1000)``: time and peak memory;
2. ``torch.linalg.eigvalsh`` of that matrix: time (not part of the memory figure);
3. ``torch.func.hessian`` of the mean cross-entropy as a function of the flattened
   parameters: time and peak memory, plus its relative difference from ours.

Peak memory is ru_maxrss at the end minus the RSS just before the measured call.
The last line is ``speedup_vs_torch_func=<x> memory_fraction=<y> assembly_over_eigvalsh=<z>``.

Run:  .venv/bin/python benchmarks/hessian_speed.py [--repeats R] [--threads T]
(torch.func.hessian needs about 12 GB of memory.)
"""

from __future__ import annotations

import argparse
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Callable, TypeVar

import torch
from torch import Tensor, nn

from _timing import best_of

T = TypeVar("T")
GB = 2**30
N_SAMPLES, N_FEATURES, N_CLASSES, HIDDEN = 1000, 100, 50, 30


def build_problem() -> tuple[nn.Module, Tensor, Tensor]:
    """The seeded 100-30-30-50 ReLU net and the standardized blob data, in float64."""
    from sklearn.datasets import make_blobs
    from sklearn.preprocessing import StandardScaler

    features, labels = make_blobs(n_samples=N_SAMPLES, n_features=N_FEATURES, centers=N_CLASSES,
                                  cluster_std=1.0, random_state=0)
    inputs = torch.as_tensor(StandardScaler().fit_transform(features), dtype=torch.float64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(N_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                          nn.ReLU(), nn.Linear(HIDDEN, N_CLASSES)).double()
    return model, inputs, torch.as_tensor(labels, dtype=torch.long)


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_ours(threads: int | None, repeats: int) -> tuple[dict[str, float], Tensor]:
    from hessian_spectra.hessian import exact_hessian

    if threads:
        torch.set_num_threads(threads)
    model, inputs, targets = build_problem()
    baseline = rss_bytes()
    seconds, hessian = best_of(lambda: exact_hessian(model, inputs, targets, batch_size=N_SAMPLES),
                               repeats)
    peak = peak_rss_bytes() - baseline
    eig_seconds, _ = best_of(lambda: torch.linalg.eigvalsh(hessian), repeats)
    return {"seconds": seconds, "peak_gb": peak / GB, "eigvalsh_seconds": eig_seconds}, hessian


def measure_torch_func(threads: int | None) -> tuple[dict[str, float], Tensor]:
    from torch.func import functional_call, hessian

    if threads:
        torch.set_num_threads(threads)
    model, inputs, targets = build_problem()
    names, params = zip(*[(name, p.detach()) for name, p in model.named_parameters()])
    flat = torch.cat([p.reshape(-1) for p in params])

    def loss(vector: Tensor) -> Tensor:
        pieces = vector.split([p.numel() for p in params])
        weights = {n: v.reshape(p.shape) for n, v, p in zip(names, pieces, params)}
        return nn.functional.cross_entropy(functional_call(model, weights, (inputs,)), targets)

    baseline = rss_bytes()
    seconds, matrix = best_of(lambda: hessian(loss)(flat), 1)
    peak = peak_rss_bytes() - baseline
    return {"seconds": seconds, "peak_gb": peak / GB}, matrix


def in_fresh_process(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in a newly spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1,
                        help="report the best of R runs for our assembly and eigvalsh")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()

    n_params = sum(p.numel() for p in build_problem()[0].parameters())
    threads = args.threads or torch.get_num_threads()
    print(f"problem: 100-30-30-50 ReLU MLP, M={n_params} parameters, N={N_SAMPLES} points, "
          f"float64, {threads} threads, best of {args.repeats}")

    ours, ours_matrix = in_fresh_process(measure_ours, args.threads, args.repeats)
    print(f"ours (exact_hessian):   {ours['seconds']:8.3f} s   peak {ours['peak_gb']:6.3f} GB", flush=True)
    print(f"torch.linalg.eigvalsh:  {ours['eigvalsh_seconds']:8.3f} s", flush=True)
    ref, ref_matrix = in_fresh_process(measure_torch_func, args.threads)
    print(f"torch.func.hessian:     {ref['seconds']:8.3f} s   peak {ref['peak_gb']:6.3f} GB")

    rel_diff = ((ours_matrix - ref_matrix).abs().max() / ref_matrix.abs().max()).item()
    print(f"max|ours - torch.func| / max|torch.func| = {rel_diff:.3e}")
    if not rel_diff < 1e-10:
        raise SystemExit(f"ours and torch.func.hessian disagree: relative difference {rel_diff:.3e} >= 1e-10")
    print(f"speedup_vs_torch_func={ref['seconds'] / ours['seconds']:.3g} "
          f"memory_fraction={ours['peak_gb'] / ref['peak_gb']:.3g} "
          f"assembly_over_eigvalsh={ours['seconds'] / ours['eigvalsh_seconds']:.3g}")


if __name__ == "__main__":
    main()
