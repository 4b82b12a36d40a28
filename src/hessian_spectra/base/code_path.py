"""Pinned CPU code paths: the same numbers from the same inputs on every x86-64 machine.

Torch, MKL, oneDNN and OpenBLAS each pick their kernels for the CPU they find (SSE, AVX2,
AVX-512, ...). Kernels of different vector widths add in different orders, so two
machines differ in the last bits of a float32 step; hundreds of training steps, and the
outlier search, grow that into visible differences (``benchmarks/reproducibility/code_paths.py``
measures which switch moves which stage). The workflow therefore pins every library to
its AVX2 kernels, which every x86-64 CPU since 2013-2015 (Intel Haswell, AMD Zen) runs:

* ``ATEN_CPU_CAPABILITY=avx2``: torch's own vectorised kernels;
* ``MKL_CBWR=AVX2,STRICT``: MKL's conditional numerical reproducibility, its AVX2 branch,
  strict (the same bits whatever the thread count) ;
* ``MKL_ENABLE_INSTRUCTIONS=AVX2``: no AVX-512 kernels in MKL's other functions;
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN, torch's convolutions;
* ``OPENBLAS_CORETYPE=Haswell``: numpy's and scipy's OpenBLAS (its AVX2 kernels).

Each is read when its library loads, so they are set in the environment of the jobs
(the Snakefile calls ``pin_code_paths`` while it parses, before any job starts), not in
a running process. A CPU without AVX2 (or another architecture) falls back to its own
kernels: its numbers then differ within the tolerance of ``hessian_spectra.outputs.compare``.

``HESSIAN_SPECTRA_CODE_PATH=native`` leaves the libraries to choose (the speed of the
machine's widest kernels, without the guarantee); that is also how the sensitivity is
measured.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: the environment variable that turns the pinning off, and its allowed values
SWITCH = "HESSIAN_SPECTRA_CODE_PATH"
MODES = ("pinned", "native")

PINNED = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2,STRICT",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
}


def code_path_mode(environ: MutableMapping[str, str] | None = None) -> str:
    """``pinned`` (the default) or ``native``, from ``HESSIAN_SPECTRA_CODE_PATH``; anything
    else is an error that names the variable and the allowed values."""
    environ = os.environ if environ is None else environ
    mode = environ.get(SWITCH, "pinned") or "pinned"
    if mode not in MODES:
        raise ValueError(f"environment variable {SWITCH} must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def pin_code_paths(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the ``PINNED`` variables in ``environ`` (default ``os.environ``, which the jobs
    inherit), overriding what was there, unless the mode is ``native``. Returns what it set."""
    environ = os.environ if environ is None else environ
    if code_path_mode(environ) == "native":
        return {}
    environ.update(PINNED)
    return dict(PINNED)
