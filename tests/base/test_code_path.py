"""hessian_spectra.base.code_path: which kernels the workflow's jobs are pinned to, and the switch
that leaves the choice to the libraries. (That the pins reach the jobs and make another
machine's build byte-identical is tested end to end in test_workflow.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hessian_spectra.base.code_path import PINNED, SWITCH, code_path_mode, pin_code_paths


def test_pinning_overrides_what_the_environment_asked_for():
    environ = {"ATEN_CPU_CAPABILITY": "default", "OPENBLAS_CORETYPE": "Prescott", "HOME": "/root"}
    assert pin_code_paths(environ) == PINNED
    assert environ == {**PINNED, "HOME": "/root"}


def test_native_leaves_the_environment_alone():
    environ = {SWITCH: "native", "ATEN_CPU_CAPABILITY": "default"}
    assert pin_code_paths(environ) == {}
    assert environ == {SWITCH: "native", "ATEN_CPU_CAPABILITY": "default"}


def test_a_bad_mode_names_the_variable_and_the_allowed_values():
    assert code_path_mode({}) == "pinned" and code_path_mode({SWITCH: ""}) == "pinned"
    with pytest.raises(ValueError, match=rf"{SWITCH} must be one of pinned, native; got 'avx2'"):
        pin_code_paths({SWITCH: "avx2"})


def test_torch_runs_the_pinned_kernels_in_a_process_started_with_them():
    """The pins are read when the libraries load: a process that starts with them runs
    torch's AVX2 kernels (on an x86-64 CPU with AVX2, the platform the guarantee covers)."""
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    environ = {}
    pin_code_paths(environ)
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **environ}, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "AVX2"
