"""Randomness and the torch run-time: seeds passed explicitly, deterministic kernels, devices.

Every random draw of the project takes its seed from the config explicitly: data
(scikit-learn's ``random_state``), model initialisation (``seeded``), SGD mini-batches
(``train.batch_indices``) and Lanczos start vectors (a ``torch.Generator``). No function
reseeds the global generators for its caller.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

import torch

from .code_path import PINNED

log = logging.getLogger(__name__)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded with ``seed`` (for code that draws from
    the global generator, such as PyTorch's layer initialisation), then restore its state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def configure_torch(threads: int) -> None:
    """What a job that runs torch sets first: its thread count, and deterministic kernels.

    On CPU, fixed seeds, thread count and code paths (``code_path``) give bit-identical
    runs. On CUDA some kernels have no deterministic version; ``warn_only`` keeps them
    running, so GPU results may differ in the last bits between runs. The job's log says
    which kernels ran (the numbers depend on them)."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    pinned = {name: os.environ.get(name, "unset") for name in PINNED}
    log.info("torch %s, %d thread(s), CPU capability %s; %s", torch.__version__, threads,
             torch.backends.cpu.get_cpu_capability(), ", ".join(f"{k}={v}" for k, v in pinned.items()))


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cpu``/``cuda`` as given (cuda must exist)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config field 'device' is 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"config field 'device' must be one of auto, cpu, cuda; got {name!r}")
    return torch.device(name)
