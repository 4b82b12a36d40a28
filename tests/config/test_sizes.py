"""Parse-time sizes (``sizes``): parameter counts against the built nets, memory of the
dense matrices and of a spectrum job."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.config.schema import load_config
from hessian_spectra.config.sizes import (JOB_BASE_MB, LANCZOS_BASIS_BYTES, conv_stack_shape, dense_matrices_bytes,
                                   parameter_count, range_matrices_bytes, spectrum_memory_mb,
                                   spectrum_runtime_min)
from hessian_spectra.config.specs import family_runs
from hessian_spectra.hessian.dense import check_memory, num_parameters
from hessian_spectra.training.models import build_model
from cases import ROOT


@pytest.mark.parametrize("profile", ["ci", "default", "paper"])
def test_parameter_count_of_every_run_equals_the_built_net(profile):
    runs = family_runs(load_config(ROOT / "config" / f"{profile}.yaml"))
    models = {tuple(sorted(map(str, run["model"].items()))): run["model"]
              for family in runs.values() for run in family.values()}
    for model in models.values():
        assert parameter_count(model) == num_parameters(build_model(model)), model


def test_conv_stack_shape_by_hand_and_too_small_inputs():
    assert conv_stack_shape((1, 28, 28), [10, 20], 5, 0) == (20, 4, 4)  # 28-24-12-8-4
    assert conv_stack_shape((1, 8, 8), [8, 16], 3, 1) == (16, 2, 2)
    assert conv_stack_shape((3, 32, 32), [64, 64], 5, 2, 3, 2) == (64, 7, 7)  # 32-32-15-15-7
    with pytest.raises(ValueError, match="too small"):
        conv_stack_shape((1, 8, 8), [2, 2], 5, 0)


def test_dense_bytes_are_those_the_memory_check_refuses_above():
    need = dense_matrices_bytes(1000, 3)
    assert need == 4 * 1000 * 1000 * 8
    check_memory(1000, need / 2**30, n_matrices=3)  # exactly at the budget: accepted
    with pytest.raises(MemoryError):
        check_memory(1000, 0.999 * need / 2**30, n_matrices=3)


def test_spectrum_job_memory_covers_its_matrices_or_the_lanczos_basis():
    exact = {"method": "exact", "num_params": 3000, "decompose": False, "lanczos": None}
    assert spectrum_memory_mb(exact) * 2**20 >= dense_matrices_bytes(3000, 1) + JOB_BASE_MB * 2**20
    assert spectrum_memory_mb({**exact, "decompose": True}) > spectrum_memory_mb(exact)
    lanczos = {**exact, "method": "lanczos", "num_params": 55660}
    assert spectrum_memory_mb(lanczos) == JOB_BASE_MB + LANCZOS_BASIS_BYTES // 2**20
    ranged = {**exact, "method": "range", "num_params": 55660, "dimension": 11420}
    assert spectrum_memory_mb(ranged) * 2**20 >= range_matrices_bytes(55660, 11420) > 2 * 55660 * 11420 * 8


def test_spectrum_runtime_grows_with_the_cube_of_m_for_the_exact_method():
    exact = {"method": "exact", "num_params": 55_660, "decompose": False}
    assert spectrum_runtime_min(exact) == 30 + int(np.ceil(2 * 2.8e-11 * 55_660**3 / 60))  # 191
    assert spectrum_runtime_min({**exact, "num_params": 760}) == 31
    assert spectrum_runtime_min({**exact, "method": "lanczos"}) == 120
