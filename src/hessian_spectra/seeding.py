"""Seeds and determinism, set once from config for every library that draws random numbers."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels.

    On CPU, fixed seed and thread count give bit-identical runs. On CUDA some kernels
    have no deterministic version; ``warn_only`` keeps them running, so GPU results may
    differ in the last bits between runs.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(threads)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cpu``/``cuda`` as given (cuda must exist)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config field 'device' is 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"config field 'device' must be one of auto, cpu, cuda; got {name!r}")
    return torch.device(name)
