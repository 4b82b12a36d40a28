"""Where do two builds on different CPUs part ways? Rebuild a profile (or some of its
targets) under code-path settings that emulate another machine, and report, stage by
stage, which cached results still match the first setting's byte for byte.

"Another machine" differs from this one in the kernels its libraries pick for its CPU.
Each library has a switch that forces that choice on one machine:

* ``ATEN_CPU_CAPABILITY``: torch's own vectorised kernels (default | avx2 | avx512);
* ``MKL_ENABLE_INSTRUCTIONS`` / ``MKL_CBWR``: the code path of MKL (torch's BLAS/LAPACK);
* ``ONEDNN_MAX_CPU_ISA``: oneDNN (torch's convolutions);
* ``OPENBLAS_CORETYPE``: numpy's and scipy's OpenBLAS kernels;
* ``--cores 1``: Snakemake scales every job's threads down to the cores it has.

``python benchmarks/reproducibility/code_paths.py --profile ci`` builds the ci profile once per setting
in a temporary copy of the repository (the files git lists), then prints, for every
setting, one line per stage (data, training, spectra, outlier counts, tables): how many
files differ from the first setting's, the largest relative difference, and the first
file that differs. ``--targets`` limits the build (e.g. one run's ``final.pt``);
``--settings`` picks settings by name (``--list`` shows them). ``--unpinned`` sets
``HESSIAN_SPECTRA_CODE_PATH=native`` in every build, so the workflow does not pin the
code paths (``hessian_spectra.base.code_path``) and the switches act as they would on
another machine: that is how the sensitivity is measured; without it the builds run as
``make reproduce`` does, pinned, and should all match.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hessian_spectra.outputs.verify import copy_repository

#: name -> (environment variables, Snakemake cores)
SETTINGS: dict[str, tuple[dict[str, str], int]] = {
    "native": ({}, 2),
    "aten_default": ({"ATEN_CPU_CAPABILITY": "default"}, 2),
    "aten_avx2": ({"ATEN_CPU_CAPABILITY": "avx2"}, 2),
    "aten_avx512": ({"ATEN_CPU_CAPABILITY": "avx512"}, 2),
    "mkl_avx2": ({"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, 2),
    "mkl_compatible": ({"MKL_CBWR": "COMPATIBLE"}, 2),
    "onednn_avx2": ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, 2),
    "openblas_haswell": ({"OPENBLAS_CORETYPE": "Haswell"}, 2),
    "one_core": ({}, 1),
    "old_machine": ({"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41",
                     "OPENBLAS_CORETYPE": "Prescott"}, 2),
}
STAGES = ("data", "training", "spectra", "counts", "tables")


def stage_of(path: Path) -> str | None:
    """Which step of the workflow wrote ``path`` (relative to the project), or None."""
    parts = path.parts
    if parts[0] == "tables" and path.suffix == ".csv":
        return "tables"
    if parts[0] != "results":
        return None
    if "data" in parts[:3]:
        return "data"
    if path.name == "final.pt" or path.name == "metrics.csv":
        return "training"
    if path.suffix == ".npz" and "checkpoints" not in parts:
        return "spectra"
    if path.name == "outliers.json":
        return "counts"
    return None


def _arrays(path: Path) -> dict[str, np.ndarray]:
    """The numbers a cached file holds, by name (for the size of a difference)."""
    if path.suffix == ".pt":
        state = torch.load(path, map_location="cpu", weights_only=True)["model"]
        return {name: t.double().numpy() for name, t in state.items()}
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files if data[name].dtype.kind == "f"}
    if path.suffix == ".csv":
        import pandas as pd
        frame = pd.read_csv(path)
        return {name: frame[name].to_numpy(float) for name in frame.columns
                if frame[name].dtype.kind in "fi"}
    return {}


def content_digest(path: Path) -> str:
    """A digest of what the file means: a checkpoint's tensors, an npz's arrays (not the
    metadata's timing), else the bytes."""
    digest = hashlib.sha256()
    if path.suffix in (".pt", ".npz"):
        for name, values in sorted(_arrays(path).items()):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(values).tobytes())
    elif path.name == "outliers.json":
        digest.update(json.dumps(json.loads(path.read_text()), sort_keys=True).encode())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def relative_difference(a: Path, b: Path) -> float:
    """The largest |x - y| / max|y| over the arrays two files share (nan: none)."""
    worst = float("nan")
    first, second = _arrays(a), _arrays(b)
    for name in first.keys() & second.keys():
        x, y = first[name], second[name]
        if x.shape != y.shape:
            return float("inf")
        scale = np.nanmax(np.abs(y)) if y.size else 0.0
        if scale > 0:
            value = float(np.nanmax(np.abs(x - y)) / scale)
            worst = value if np.isnan(worst) else max(worst, value)
    return worst


def build(repo: Path, folder: Path, profile: str, targets: list[str], env: dict[str, str], cores: int,
          unpinned: bool) -> float:
    copy_repository(repo, folder, profile)
    environment = {**os.environ, **env, "PYTHONPATH": str(folder / "src")}
    if unpinned:
        environment["HESSIAN_SPECTRA_CODE_PATH"] = "native"
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/default", "--cores", str(cores),
               *targets, "--configfile", f"config/{profile}.yaml"]
    start = time.monotonic()
    done = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"build failed in {folder}:\n{done.stderr[-4000:]}")
    return time.monotonic() - start


def outputs(folder: Path) -> dict[Path, str]:
    return {path.relative_to(folder): content_digest(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and stage_of(path.relative_to(folder))}


def report(name: str, folder: Path, digests: dict[Path, str], base: Path, base_digests: dict[Path, str]) -> None:
    for stage in STAGES:
        files = [p for p in base_digests if stage_of(p) == stage]
        if not files:
            continue
        differing = [p for p in files if digests.get(p) != base_digests[p]]
        worst = max((relative_difference(folder / p, base / p) for p in differing if p in digests),
                    default=0.0)
        first = f" first {differing[0]}" if differing else ""
        print(f"{name:18s} {stage:9s} differ={len(differing):3d}/{len(files):<3d} "
              f"max_rel_diff={worst:.2e}{first}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--targets", nargs="*", default=[], help="Snakemake targets (default: everything)")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--unpinned", action="store_true",
                        help="let the switches act (HESSIAN_SPECTRA_CODE_PATH=native): measures the sensitivity")
    parser.add_argument("--list", action="store_true", help="print the settings and exit")
    parser.add_argument("--keep", type=Path, help="build in this folder (kept) instead of a temporary one")
    args = parser.parse_args(argv)
    if args.list:
        for name, (env, cores) in SETTINGS.items():
            print(f"{name:18s} cores={cores} {env}")
        return 0
    repo = Path(__file__).resolve().parents[2]
    root = args.keep or Path(tempfile.mkdtemp(prefix="code-paths-"))
    base = base_digests = None
    try:
        for name in args.settings:
            env, cores = SETTINGS[name]
            folder = root / name
            seconds = build(repo, folder, args.profile, args.targets, env, cores, args.unpinned)
            digests = outputs(folder)
            print(f"{name:18s} built in {seconds:.0f} s ({len(digests)} cached results and tables)", flush=True)
            if base is None:
                base, base_digests = folder, digests
            else:
                report(name, folder, digests, base, base_digests)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
