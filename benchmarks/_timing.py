"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import math
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls and the last result; the previous result is
    dropped before each call so that at most one is alive at a time."""
    best, result = math.inf, None
    for _ in range(repeats):
        result = None
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result
