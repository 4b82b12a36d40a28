"""What pinning the code paths costs: the two kinds of work that make up the default
build, each in a fresh process with the pinned kernels (``hessian_spectra.base.code_path``)
and with the libraries' own choice (``native``), interleaved.

* ``train``: 2,000 full-batch GD steps of the default profile's width_n30 net (64-30-10)
  on 1,078 digits images, one thread, as the train jobs run;
* ``spectrum``: the exact Hessian and all its eigenvalues of the Fig. 1 net
  (100-30-30-50, M = 5,510) on 1,000 cluster points, two threads, as the spectrum jobs.

``python benchmarks/reproducibility/code_path_speed.py [--repeats 5]`` prints one line per (work, mode)
with the median, min and max wall time, and the pinned/native ratio of the medians.
The whole job of a mode is timed: process start, imports and the work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _timing import SPREAD, header, interleaved, repeats_argument

from hessian_spectra.base.code_path import PINNED, SWITCH

WORK = {
    "train": (1, """
import torch
from torch import nn
torch.manual_seed(0)
x, y = torch.randn(1078, 64), torch.randint(0, 10, (1078,))
net = nn.Sequential(nn.Linear(64, 30), nn.ReLU(), nn.Linear(30, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for _ in range(2000):
    opt.zero_grad(); nn.functional.cross_entropy(net(x), y).backward(); opt.step()
"""),
    "spectrum": (2, """
import torch
from torch import nn
from hessian_spectra.hessian.dense import eigenvalues, exact_hessian
torch.manual_seed(0)
x, y = torch.randn(1000, 100), torch.randint(0, 50, (1000,))
net = nn.Sequential(nn.Linear(100, 30), nn.ReLU(), nn.Linear(30, 30), nn.ReLU(), nn.Linear(30, 50))
eigenvalues(exact_hessian(net, x, y))
"""),
}


def start(code: str, threads: int, pinned: bool) -> subprocess.Popen:
    """``code`` in a fresh process with ``threads`` threads, pinned or native kernels."""
    environ = {key: value for key, value in os.environ.items() if key not in PINNED}
    environ.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                    "OPENBLAS_NUM_THREADS": str(threads)})
    environ.update(PINNED if pinned else {SWITCH: "native"})
    return subprocess.Popen([sys.executable, "-c", f"import torch; torch.set_num_threads({threads})\n{code}"],
                            env=environ)


def run(code: str, threads: int, pinned: bool) -> None:
    if start(code, threads, pinned).wait():
        raise RuntimeError(f"the work failed: {code}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    repeats_argument(parser)
    args = parser.parse_args()
    methods = {f"{work} {mode}": (lambda c=code, t=threads, p=(mode == "pinned"): run(c, t, p))
               for work, (threads, code) in WORK.items() for mode in ("native", "pinned")}
    timings = interleaved(methods, args.repeats)
    print(f"{'work and mode':18s} {header()}   ({SPREAD}, {args.repeats} rounds)")
    for name, timing in timings.items():
        print(f"{name:18s} {timing.cells()}")
    for work in WORK:
        ratio = timings[f"{work} pinned"].median / timings[f"{work} native"].median
        print(f"{work}: pinned/native = {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
