"""How the Hessian jobs should use two cores: one job at a time with two threads, or two
jobs side by side with one thread each (what `threads.spectrum` in the profiles chooses).

Two copies of the spectrum work of ``code_path_speed.py`` (the exact Hessian and all
eigenvalues of the Fig. 1 net, M = 5,510, pinned kernels, each in a fresh process):

* ``sequential 2 threads``: one after the other, each with two threads;
* ``parallel 1 thread``: both at once, each with one thread.

``python benchmarks/thread_throughput.py [--repeats 5]`` prints the median, min and max
wall time of each way (both jobs done), interleaved, and the ratio parallel/sequential:
below 1, two one-thread jobs finish the same work sooner.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from _timing import SPREAD, header, interleaved, repeats_argument
from code_path_speed import WORK

from hessian_spectra.code_path import PINNED


def start(threads: int) -> subprocess.Popen:
    environ = {**os.environ, **PINNED, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
               "OPENBLAS_NUM_THREADS": str(threads)}
    code = WORK["spectrum"][1]
    return subprocess.Popen([sys.executable, "-c", f"import torch; torch.set_num_threads({threads})\n{code}"],
                            env=environ)


def sequential() -> None:
    for _ in range(2):
        if start(2).wait():
            raise RuntimeError("the spectrum work failed")


def parallel() -> None:
    jobs = [start(1), start(1)]
    if any(job.wait() for job in jobs):
        raise RuntimeError("the spectrum work failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    repeats_argument(parser)
    args = parser.parse_args()
    timings = interleaved({"sequential 2 threads": sequential, "parallel 1 thread": parallel}, args.repeats)
    print(f"{'way':22s} {header()}   ({SPREAD}, {args.repeats} rounds)")
    for name, timing in timings.items():
        print(f"{name:22s} {timing.cells()}")
    ratio = timings["parallel 1 thread"].median / timings["sequential 2 threads"].median
    print(f"parallel/sequential = {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
