"""Rebuild one profile from scratch in a temporary copy of the repository and compare it
with the committed results (``make verify``), or write the ``ci`` reference tables
(``make reference``).

``python -m hessian_spectra.outputs.verify --profile default --cores 2``:

1. copies the repository into a temporary folder: the files git knows (``git ls-files``:
   tracked ones, plus new files git does not ignore, so uncommitted work is verified as
   it stands), so committed figures and tables come along but the ignored caches
   (``results/``, ``logs/``, ``.snakemake/``) do not; minus ``figures/<profile>``,
   ``tables/<profile>`` and ``paper/<profile>``, so every target is rebuilt. The
   downloaded data sets (``data/``, ignored) are linked, not copied: they are inputs;
2. runs ``python -m snakemake --workflow-profile profiles/default --cores N
   --configfile config/<profile>.yaml`` there (every target), with the copy's ``src/``
   first on ``PYTHONPATH`` so the copy's code runs, streaming its output and timing it;
3. compares the rebuilt ``tables/<profile>/*.csv`` with ``--against`` (default the
   repository's ``tables/<profile>``) within the measured tolerances of
   ``config/tolerances/<profile>.csv`` (``hessian_spectra.outputs.tolerance``) and, for what they
   do not list, ``hessian_spectra.outputs.compare``'s defaults; and the rebuilt
   ``figures/<profile>/*.png`` with the repository's byte for byte. PNG bytes only match on the same platform with the same
   library versions (matplotlib, freetype, libpng, zlib), so a figure that differs is a
   note, not a failure, unless ``--strict-figures``;
4. prints ``verify profile=<p> tables_ok=<true|false> figures_identical=<k>/<n>
   build_seconds=<s>`` and exits 1 when the build failed or a table differs.

The ``ci`` tables are not committed (``tables/ci`` is ignored): compare them with the
reference, ``--against tests/reference/ci``. ``--write-reference DIR`` builds the
same way and copies the tables into DIR instead of comparing (``make reference``
regenerates ``tests/reference/ci`` on purpose). ``--keep`` keeps the temporary copy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hessian_spectra.outputs.compare import ATOL, RTOL, compare_files_bytes, compare_tables
from hessian_spectra.config.schema import load_config
from hessian_spectra.outputs.tolerance import Tolerances, tolerance_file

#: per-profile output folders that are rebuilt, never copied
OUTPUT_FOLDERS = ("figures", "tables", "paper")


def repository_files(repo: Path) -> list[str]:
    """The files git knows in ``repo``: tracked, and untracked ones it does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=repo, check=True, capture_output=True).stdout.decode()
    return sorted({name for name in listed.split("\0") if name})


def copy_repository(repo: Path, destination: Path, profile: str) -> list[str]:
    """Copy ``repo``'s files (``repository_files``) into ``destination``, without the
    profile's outputs; returns the copied paths (relative, POSIX)."""
    repo, destination = Path(repo), Path(destination)
    excluded = tuple(f"{folder}/{profile}/" for folder in OUTPUT_FOLDERS)
    copied = []
    for name in repository_files(repo):
        source = repo / name
        # a tracked file deleted in the working tree is not there to copy
        if name.startswith(excluded) or not source.is_file():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(name)
    data = repo / "data"
    if data.is_dir() and not (destination / "data").exists():
        (destination / "data").symlink_to(data.resolve(), target_is_directory=True)
    return copied


def build(project: Path, profile: str, cores: int) -> tuple[bool, float]:
    """Run the whole workflow of ``profile`` in ``project``; (succeeded, seconds)."""
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/default",
               "--cores", str(cores), "--configfile", f"config/{profile}.yaml"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(project / "src"), os.environ.get("PYTHONPATH")]))}
    print("+", " ".join(command), f"  (in {project})", flush=True)
    start = time.monotonic()
    # output not captured: it streams to this terminal as the build runs
    finished = subprocess.run(command, cwd=project, env=env)
    return finished.returncode == 0, time.monotonic() - start


def write_reference(project: Path, profile: str, reference: Path) -> list[str]:
    """Replace the CSV tables in ``reference`` by the built ``tables/<profile>/*.csv``."""
    reference.mkdir(parents=True, exist_ok=True)
    for stale in reference.glob("*.csv"):
        stale.unlink()
    tables = sorted((project / "tables" / profile).glob("*.csv"))
    for table in tables:
        shutil.copy2(table, reference / table.name)
    return [table.name for table in tables]


def _repository_root(start: Path) -> Path:
    found = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start,
                           capture_output=True, text=True)
    return Path(found.stdout.strip()) if found.returncode == 0 else Path(start)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hessian_spectra.outputs.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default", help="config profile: config/<profile>.yaml (default: default)")
    parser.add_argument("--cores", type=int, default=2, help="cores for Snakemake (default 2)")
    parser.add_argument("--against", type=Path, help="expected tables (default: the repository's tables/<profile>)")
    parser.add_argument("--write-reference", type=Path, metavar="DIR",
                        help="copy the built tables/<profile>/*.csv into DIR instead of comparing")
    parser.add_argument("--strict-figures", action="store_true", help="a PNG that is not byte-identical fails")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--rtol", type=float, default=RTOL, help=f"relative tolerance (default {RTOL:g})")
    parser.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance (default {ATOL:g})")
    parser.add_argument("--repo", type=Path, help="repository to copy (default: the git repository here)")
    args = parser.parse_args(argv)
    # Every check before the build: a wrong argument must not cost a 25-minute build.
    args.repo = (args.repo or _repository_root(Path.cwd())).resolve()
    if not (args.repo / ".git").exists():
        parser.error(f"--repo: {args.repo} is not the top of a git repository (the copy is what git lists)")
    if not (args.repo / "config" / f"{args.profile}.yaml").is_file():
        parser.error(f"--profile: no config/{args.profile}.yaml in {args.repo}")
    try:
        load_config(args.repo / "config" / f"{args.profile}.yaml")
    except ValueError as error:  # a syntax error (with its line) or a schema violation
        parser.error(f"--profile {args.profile}: {error}")
    if args.cores < 1:
        parser.error(f"--cores must be at least 1, got {args.cores}")
    for field in ("rtol", "atol"):
        if not getattr(args, field) >= 0:
            parser.error(f"--{field} must be >= 0, got {getattr(args, field)}")
    if args.write_reference is not None and args.against is not None:
        parser.error("--write-reference and --against exclude each other (writing compares nothing)")
    if args.write_reference is None:
        args.against = args.against or args.repo / "tables" / args.profile
        if not args.against.is_dir():
            hint = " (tables/ci is not committed: pass --against tests/reference/ci)" if args.profile == "ci" else ""
            parser.error(f"--against: {args.against} is not a folder{hint}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    project = Path(tempfile.mkdtemp(prefix=f"verify-{args.profile}-"))
    try:
        copied = copy_repository(args.repo, project, args.profile)
        print(f"copied {len(copied)} files of {args.repo} into {project}", flush=True)
        built, seconds = build(project, args.profile, args.cores)
        if args.write_reference is not None:
            if built:
                names = write_reference(project, args.profile, args.write_reference)
                print(f"wrote {len(names)} tables into {args.write_reference}: {', '.join(names)}")
            print(f"reference profile={args.profile} build_ok={str(built).lower()} build_seconds={seconds:.0f}")
            return 0 if built else 1
        measured = tolerance_file(args.against)
        print(f"tolerances: {measured or 'none measured'} (else rtol={args.rtol:g}, atol={args.atol:g})")
        differences = compare_tables(args.against, project / "tables" / args.profile, rtol=args.rtol,
                                     atol=args.atol, tolerances=Tolerances.read(measured)) if built else ["the build failed"]
        for line in differences:
            print("table:", line)
        expected_figures = sorted(p.name for p in (args.repo / "figures" / args.profile).glob("*.png"))
        figure_notes = compare_files_bytes(args.repo / "figures" / args.profile,
                                           project / "figures" / args.profile, "*.png") if built else []
        differing = {line.split(":")[0] for line in figure_notes}  # "<name>: why"
        identical = sum(name not in differing for name in expected_figures) if built else 0
        n = len(expected_figures)
        for line in figure_notes:
            print("figure (PNG bytes match only on the same platform and library versions):", line)
        tables_ok = built and not differences
        print(f"verify profile={args.profile} tables_ok={str(tables_ok).lower()} "
              f"figures_identical={identical}/{n} build_seconds={seconds:.0f}")
        failed = not tables_ok or (args.strict_figures and bool(figure_notes))
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept the copy: {project}")
        else:
            shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
