"""Seeds passed explicitly and the torch run-time settings (``seeding``)."""

from __future__ import annotations

import pytest
import torch

from hessian_spectra.base.seeding import configure_torch, resolve_device, seeded


def test_seeded_draws_from_the_seed_and_restores_the_callers_state():
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    with seeded(3):
        inside = torch.rand(4)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(3)
    assert torch.equal(inside, torch.rand(4))


def test_configure_torch_sets_threads_and_deterministic_kernels():
    threads = torch.get_num_threads()
    try:
        configure_torch(1)
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            resolve_device("cuda")
