"""How the Hessian jobs should use two cores: one job at a time with two threads, or two
jobs side by side with one thread each (what `threads.spectrum` in the profiles chooses).

Two copies of the spectrum work of ``code_path_speed.py`` (the exact Hessian and all
eigenvalues of the Fig. 1 net, M = 5,510, pinned kernels, each in a fresh process):

* ``sequential 2 threads``: one after the other, each with two threads;
* ``parallel 1 thread``: both at once, each with one thread.

``python benchmarks/reproducibility/thread_throughput.py [--repeats 5]`` prints the median, min and max
wall time of each way (both jobs done), interleaved, and the ratio parallel/sequential:
below 1, two one-thread jobs finish the same work sooner.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _timing import SPREAD, header, interleaved, repeats_argument
from code_path_speed import WORK, run, start

SPECTRUM = WORK["spectrum"][1]


def sequential() -> None:
    for _ in range(2):
        run(SPECTRUM, 2, pinned=True)


def parallel() -> None:
    jobs = [start(SPECTRUM, 1, pinned=True) for _ in range(2)]
    if any([job.wait() for job in jobs]):
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
