"""Timing helper shared by the benchmark scripts: interleaved repeats, medians and spreads.

``interleaved(methods, repeats)`` times every method once per round (A B C A B C ...),
``repeats`` rounds, so that a slow patch of a shared machine hits all methods alike
instead of one of them; each method gets a ``Timing`` with all its wall times, their
median and their spread (min and max), and its last result. Ratios between methods are
taken from medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
import traceback
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_REPEATS = 5


@dataclass
class Timing:
    """Wall times of one method (seconds, in call order) and its last result.

    ``error`` is the exception (without its traceback, which would keep the failed
    call's frames alive) when a method allowed to fail raised; ``samples`` then holds
    the times of its rounds before that.
    """

    samples: list[float] = field(default_factory=list)
    result: Any = None
    error: Exception | None = None

    @property
    def failure(self) -> str:
        """How the method failed, for a table's note ('' if it did not)."""
        if self.error is None:
            return ""
        if isinstance(self.error, ImportError):
            return f"not installed ({self.error})"
        return f"failed in round {len(self.samples) + 1}: {type(self.error).__name__}: {self.error}"

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else float("nan")

    def cells(self, width: int = 8, digits: int = 2) -> str:
        """``median  min  max``, each right-aligned in ``width``; dashes without samples."""
        if not self.samples:
            return " ".join(f"{'-':>{width}s}" for _ in range(3))
        return " ".join(f"{value:{width}.{digits}f}" for value in (self.median, self.min, self.max))


SPREAD = "median, min and max of the interleaved repeats"


def header(width: int = 8) -> str:
    """The column heads matching ``Timing.cells``."""
    return f"{'median s':>{width}s} {'min s':>{width}s} {'max s':>{width}s}"


def interleaved(methods: Mapping[str, Callable[[], Any]], repeats: int,
                may_fail: Collection[str] = ()) -> dict[str, Timing]:
    """Time each method ``repeats`` times, interleaved: round r calls every method once,
    in the mapping's order. Returns one ``Timing`` per method, in the same order.

    A method's previous result is dropped before it is called again, so that at most one
    result per method is alive (its last, returned in ``Timing.result``). A method named
    in ``may_fail`` that raises gets ``Timing.error`` (and its traceback is printed,
    except for an ``ImportError``) and is not called again; any other method's exception
    propagates.
    """
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be at least {MIN_REPEATS}, got {repeats}")
    timings = {name: Timing() for name in methods}
    for _ in range(repeats):
        for name, method in methods.items():
            timing = timings[name]
            if timing.error is not None:
                continue
            timing.result = None
            start = time.perf_counter()
            try:
                timing.result = method()
            except Exception as error:  # noqa: BLE001 - a peer that fails must not stop the benchmark
                if name not in may_fail:
                    raise
                if not isinstance(error, ImportError):
                    traceback.print_exc()
                timing.error = error.with_traceback(None)
                continue
            timing.samples.append(time.perf_counter() - start)
    return timings


def repeats_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--repeats`` (default and minimum ``MIN_REPEATS``) to a script's parser."""

    def at_least_minimum(text: str) -> int:
        value = int(text)
        if value < MIN_REPEATS:
            raise argparse.ArgumentTypeError(
                f"{value} is too few: each method is timed at least {MIN_REPEATS} times "
                f"(interleaved) so that its median and spread mean something")
        return value

    parser.add_argument("--repeats", type=at_least_minimum, default=MIN_REPEATS, metavar="R",
                        help=f"interleaved rounds; every method is timed once per round "
                             f"(default and minimum {MIN_REPEATS})")
