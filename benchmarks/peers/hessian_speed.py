"""Speed and memory of ``exact_hessian`` against ``torch.func.hessian``.

Problem: the 100-30-30-50 fully connected ReLU net with biases (M = 5510 parameters)
on N = 1000 standardized Gaussian-blob points in 50 classes, everything in float64.

Timed, INTERLEAVED (one round calls each method once, in this order; ``--repeats``
rounds, default and minimum 5); the table gives each method's median and its spread as
the min and max over the rounds:

1. ``torch.func.hessian`` of the mean cross-entropy as a function of the flattened
   parameters, plus the relative difference of its matrix from ours (must be < 1e-10);
2. ``exact_hessian(model, X, y, batch_size=1000)`` (ours);
3. ``torch.linalg.eigvalsh`` of our matrix (for scale: what a spectrum costs after it).

Peak memory (ru_maxrss after the call minus the RSS just before it) is taken where it is
clean: ours from one untimed call in a fresh (spawned) process, torch.func's from its
first timed call, the first heavy call of this process (checked: it must raise the
process's peak).

The last line is ``speedup_vs_torch_func=<x> memory_fraction=<y> assembly_over_eigvalsh=<z>``:
x = median time of torch.func.hessian / median of ours, y = our peak memory / torch.func's,
z = median of ours / median of eigvalsh.

Run:  .venv/bin/python benchmarks/peers/hessian_speed.py [--repeats R] [--threads T]
(about 6-7 minutes on 2 cores, nearly all of it torch.func.hessian at 45-75 s a call;
torch.func.hessian needs about 12 GB of memory.)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, TypeVar

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _timing import SPREAD, header, interleaved, repeats_argument

T = TypeVar("T")
GB = 2**30
N_SAMPLES, N_FEATURES, N_CLASSES, HIDDEN = 1000, 100, 50, 30
OURS, EIGVALSH, TORCH_FUNC = "ours (exact_hessian)", "torch.linalg.eigvalsh", "torch.func.hessian"


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


def assemblers(model: nn.Module, inputs: Tensor, targets: Tensor) -> dict[str, Callable[[], Tensor]]:
    """The two assemblies of the Hessian of the mean cross-entropy, ours first."""
    from torch.func import functional_call, hessian

    from hessian_spectra.hessian.dense import exact_hessian

    names, params = zip(*[(name, p.detach()) for name, p in model.named_parameters()])
    flat = torch.cat([p.reshape(-1) for p in params])

    def loss(vector: Tensor) -> Tensor:
        pieces = vector.split([p.numel() for p in params])
        weights = {n: v.reshape(p.shape) for n, v, p in zip(names, pieces, params)}
        return nn.functional.cross_entropy(functional_call(model, weights, (inputs,)), targets)

    return {OURS: lambda: exact_hessian(model, inputs, targets, batch_size=N_SAMPLES),
            TORCH_FUNC: lambda: hessian(loss)(flat)}


def first_call_peak(fn: Callable[[], T], peaks: dict[str, float], name: str) -> Callable[[], T]:
    """``fn``, recording in ``peaks[name]`` the peak memory (GB) of its first call: ru_maxrss
    after it minus the RSS just before it. Clean only if nothing earlier in this process
    peaked higher, which is checked."""

    def wrapped() -> T:
        if name in peaks:
            return fn()
        earlier_peak, baseline = peak_rss_bytes(), rss_bytes()
        result = fn()
        if peak_rss_bytes() <= earlier_peak:
            raise RuntimeError(f"{name} did not raise this process's peak memory: it cannot be measured here")
        peaks[name] = (peak_rss_bytes() - baseline) / GB
        return result

    return wrapped


def peak_memory(name: str, threads: int | None) -> tuple[float, Tensor]:
    """Peak memory in GB of one call of the assembly ``name`` (meant for a fresh process),
    and its matrix."""
    if threads:
        torch.set_num_threads(threads)
    peaks: dict[str, float] = {}
    matrix = first_call_peak(assemblers(*build_problem())[name], peaks, name)()
    return peaks[name], matrix


def in_fresh_process(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in a newly spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repeats_argument(parser)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model, inputs, targets = build_problem()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"problem: 100-30-30-50 ReLU MLP, M={n_params} parameters, N={N_SAMPLES} points, "
          f"float64, {torch.get_num_threads()} threads; {args.repeats} interleaved rounds", flush=True)

    peak_gb: dict[str, float] = {}
    peak_gb[OURS], spectrum_input = in_fresh_process(peak_memory, OURS, args.threads)
    print(f"peak memory of {OURS} (one untimed call in a fresh process): {peak_gb[OURS]:.3f} GB", flush=True)
    methods = assemblers(model, inputs, targets)
    methods = {TORCH_FUNC: first_call_peak(methods[TORCH_FUNC], peak_gb, TORCH_FUNC), OURS: methods[OURS],
               EIGVALSH: lambda: torch.linalg.eigvalsh(spectrum_input)}
    timings = interleaved(methods, args.repeats)

    print(f"\n{'method':24s} {header()} {'peak GB':>8s}   ({SPREAD})")
    for name, timing in timings.items():
        peak = f"{peak_gb[name]:8.3f}" if name in peak_gb else f"{'-':>8s}"
        print(f"{name:24s} {timing.cells()} {peak}")

    ours, ref = timings[OURS], timings[TORCH_FUNC]
    rel_diff = ((ours.result - ref.result).abs().max() / ref.result.abs().max()).item()
    print(f"\nmax|ours - torch.func| / max|torch.func| = {rel_diff:.3e}")
    if not rel_diff < 1e-10:
        raise SystemExit(f"ours and torch.func.hessian disagree: relative difference {rel_diff:.3e} >= 1e-10")
    print(f"speedup_vs_torch_func={ref.median / ours.median:.3g} "
          f"memory_fraction={peak_gb[OURS] / peak_gb[TORCH_FUNC]:.3g} "
          f"assembly_over_eigvalsh={ours.median / timings[EIGVALSH].median:.3g}")


if __name__ == "__main__":
    main()
