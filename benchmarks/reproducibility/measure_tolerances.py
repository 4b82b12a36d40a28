"""Measure a profile's tolerances (``config/tolerances/<profile>.csv``) from several builds.

``python benchmarks/reproducibility/measure_tolerances.py --profile default BUILD [BUILD ...]``

A BUILD is a project folder that built the profile (``benchmarks/reproducibility/code_paths.py --keep``
leaves one per setting: its ``tables/<profile>/`` and ``results/<profile>/``), or a bare
folder of tables (the committed ``tables/<profile>`` of another machine's build). Each
build's claims are evaluated again with the current ``config/claims.yaml`` from its own
tables and, where its results are there, Fig. 1's spectra (a bare table folder leaves
the Fig. 1 claims unmeasured for that build), so that claims added since the builds ran
get their spread too. Then ``hessian_spectra.outputs.tolerance.measure`` over all of them writes
the file and prints what moved.

``--tables width_scaling.csv --claims width_top_eigenvalues ...`` measures only the tables
and claims named (builds of some families, e.g. ``code_paths.py --targets family_width``)
and keeps the file's other rows, so that a family whose inputs changed, or a table added
later, gets its tolerances without rebuilding the whole profile.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
from hessian_spectra.config.schema import load_config
from hessian_spectra.outputs.claims import evaluate_claims, load_claims
from hessian_spectra.outputs.tolerance import COLUMNS, measure, print_moved
from hessian_spectra.outputs.tolerance import main as write_tolerances

ROOT = Path(__file__).resolve().parents[2]


def tables_with_current_claims(build: Path, profile: str, fig1_run: str, into: Path) -> Path:
    """A copy of ``build``'s tables whose claims.csv is evaluated with today's claims file."""
    tables = build / "tables" / profile if (build / "tables" / profile).is_dir() else build
    shutil.copytree(tables, into)
    spectra = build / "results" / profile / "clusters" / fig1_run
    inputs = {name: tables / f"{name}.csv" for name in ("table1", "width_scaling", "batch_size", "batch_switch")}
    inputs |= {f"fig1_{stage}": spectra / f"spectrum_{stage}.npz" for stage in ("init", "final")}
    claims = evaluate_claims(load_claims(ROOT / "config" / "claims.yaml"), inputs)
    claims.to_csv(into / "claims.csv", index=False, float_format="%.10g")
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--out", type=Path, help="default: config/tolerances/<profile>.csv")
    parser.add_argument("--tables", nargs="+", help="measure only these tables (e.g. batch_ablation.csv); "
                        "the file's rows of the other tables stay as they are")
    parser.add_argument("--claims", nargs="*", default=[], help="with --tables: the claims (ids) to measure too")
    parser.add_argument("builds", nargs="+", type=Path)
    args = parser.parse_args()
    fig1_run = load_config(ROOT / "config" / f"{args.profile}.yaml")["clusters"]["fig1_run"]
    with tempfile.TemporaryDirectory() as scratch:
        copies = [tables_with_current_claims(build, args.profile, fig1_run, Path(scratch) / str(i))
                  for i, build in enumerate(args.builds)]
        out = args.out or ROOT / "config" / "tolerances" / f"{args.profile}.csv"
        if not args.tables:
            return write_tolerances([str(out), *map(str, copies)])
        return merge_selected(out, measure(copies), args.tables, args.claims, len(copies))


def merge_selected(out: Path, measured: pd.DataFrame, tables: list[str], claims: list[str], builds: int) -> int:
    """Replace ``out``'s rows of ``tables`` and of the ``claims`` (rows of claims.csv) with
    the measured ones; every other row stays as it is."""
    def selected(frame):
        return frame["table"].isin(tables) | ((frame["table"] == "claims.csv") & frame["row"].isin(claims))

    measured = measured[selected(measured)]
    missing = sorted(set(tables) - set(measured["table"])) + sorted(set(claims) - set(measured["row"]))
    if missing:
        print(f"not measured in every build: {missing}", file=sys.stderr)
        return 2
    kept = pd.read_csv(out, keep_default_na=False) if out.is_file() else pd.DataFrame(columns=COLUMNS)
    merged = pd.concat([kept[~selected(kept)], measured], ignore_index=True)
    merged.to_csv(out, index=False, float_format="%.3g")
    print_moved(measured, builds, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
