"""Tolerances per quantity, from measured sensitivity: how far each number of a profile's
tables moves when the same inputs are rebuilt on another machine.

On x86-64 with AVX2 the workflow pins every library's kernels (``code_path``), and a
rebuild matches the committed tables byte for byte. Elsewhere (a CPU without AVX2,
another architecture, other thread counts, a GPU, ``HESSIAN_SPECTRA_CODE_PATH=native``)
the kernels add in another order; float32 training carries the last-bit differences
through thousands of steps, and some quantities move far more than others (a bulk
eigenvalue near zero more than a top one, an accuracy by whole images). Those builds are
what the tolerance is for, and one rtol for everything would either miss real changes
in the stable numbers or fail on the sensitive ones.

``measure(builds)`` takes the tables of several builds of one profile made under
code-path settings that emulate other machines (``benchmarks/reproducibility/code_paths.py --unpinned``;
the committed tables may be one of them) and gives, for every table and numeric column,
the largest spread between builds over its rows, and for the claims table the spread of
each claim's value (claims differ in scale). The tolerance is that spread times
``FACTOR``, never below ``compare``'s defaults; counts (integers) get their spread itself
as an absolute tolerance (a count that moved by one between builds may move by one).
The result is written to ``config/tolerances/<profile>.csv``, which ``compare`` and
``make verify`` read, and the claims rule uses to mark a verdict that another machine
could reverse as borderline.

``python -m hessian_spectra.outputs.tolerance OUT.csv BUILD_TABLES_DIR BUILD_TABLES_DIR [...]``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: compare's defaults for a quantity no measurement lists (compare's docstring says why)
RTOL = 1e-4
ATOL = 1e-9
#: tolerance = FACTOR x the largest spread seen: a few builds see less than the worst case
FACTOR = 3.0
#: the table whose rows are tolerated one by one (each claim's value has its own scale)
PER_ROW = {"claims.csv": ("id", "value")}
COLUMNS = ("table", "column", "row", "kind", "spread", "rtol", "atol", "builds")


@dataclass(frozen=True)
class Tolerance:
    """``rtol``/``atol`` for comparing a rebuilt number with the expected one; ``spread``:
    how far it moved between the measured builds (0: it never moved)."""

    rtol: float
    atol: float
    spread: float = 0.0

    def admits(self, actual: float, expected: float) -> bool:
        return abs(actual - expected) <= self.atol + self.rtol * abs(expected)

    @property
    def verdict_band(self) -> float:
        """How far another machine may move an absolute quantity (a claim's value): FACTOR
        times its spread; 0 when it never moved (the compare floor ``atol`` is not a spread)."""
        return FACTOR * self.spread


class Tolerances:
    """The tolerance of each (table, column[, row]) read from a tolerance file; the
    defaults of ``compare`` for what it does not list (``None``: compare's rule)."""

    def __init__(self, frame: pd.DataFrame | None = None):
        frame = pd.DataFrame(columns=COLUMNS) if frame is None else frame
        self.entries = {(r.table, r.column, "" if pd.isna(r.row) else str(r.row)): Tolerance(r.rtol, r.atol, getattr(r, "spread", 0.0))
                        for r in frame.itertuples()}

    @classmethod
    def read(cls, path: str | Path | None) -> "Tolerances":
        if path is None or not Path(path).is_file():
            return cls()
        return cls(pd.read_csv(path, keep_default_na=False, na_values={"rtol": [], "atol": []}))

    def get(self, table: str, column: str, row: str = "") -> Tolerance | None:
        return self.entries.get((table, column, row)) or self.entries.get((table, column, ""))

    def __len__(self) -> int:
        return len(self.entries)


def tolerance_file(tables_dir: str | Path) -> Path | None:
    """The measured tolerances of the tables in ``tables_dir`` (``<repo>/tables/<profile>``
    or ``<repo>/tests/reference/<profile>``): ``<repo>/config/tolerances/<profile>.csv``,
    for the nearest folder above ``tables_dir`` that has one, else None."""
    folder = Path(tables_dir).resolve()
    for above in folder.parents:
        path = above / "config" / "tolerances" / f"{folder.name}.csv"
        if path.is_file():
            return path
    return None


def _numeric(frames: list[pd.DataFrame], column: str) -> np.ndarray | None:
    """The column of every build as a (builds, rows) float array, or None when it is not
    numeric in all of them."""
    columns = []
    for frame in frames:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().sum() > frame[column].isna().sum():  # text in it (e.g. "unresolved")
            return None
        columns.append(values.to_numpy(float))
    return np.vstack(columns)


def _is_count(frames: list[pd.DataFrame], column: str) -> bool:
    return all(pd.api.types.is_integer_dtype(frame[column]) for frame in frames)


def _float_tolerance(values: np.ndarray) -> tuple[float, float, float]:
    """(spread, rtol, atol) of a float column: the largest spread relative to the value
    over the rows whose value is not zero, and an absolute one over the zero rows (rows
    that are blank in every build count as not moved)."""
    values = values[:, ~np.all(np.isnan(values), axis=0)]
    spread = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    center = np.abs(np.nanmedian(values, axis=0))
    relative = np.where(center > 0, spread / np.where(center > 0, center, 1.0), 0.0)
    worst = float(np.nanmax(relative, initial=0.0))
    absolute = float(np.nanmax(np.where(center > 0, 0.0, spread), initial=0.0))
    return worst, max(RTOL, FACTOR * worst), max(ATOL, FACTOR * absolute)


def measure(builds: list[Path]) -> pd.DataFrame:
    """The tolerance rows (``COLUMNS``) from the CSV tables of several builds' folders."""
    if len(builds) < 2:
        raise ValueError(f"need at least two builds to measure a spread, got {len(builds)}")
    names = sorted(set.intersection(*({p.name for p in Path(b).glob("*.csv")} for b in builds)))
    rows = []
    for name in names:
        frames = [pd.read_csv(Path(b) / name) for b in builds]
        if len({len(f) for f in frames}) != 1:
            raise ValueError(f"{name}: the builds have different row counts {[len(f) for f in frames]}")
        key, per_row = PER_ROW.get(name, (None, None))
        for column in frames[0].columns:
            values = _numeric(frames, column)
            if values is None or np.all(np.isnan(values)):
                continue
            if column == per_row:
                for row, label in enumerate(frames[0][key]):
                    spread = float(np.nanmax(values[:, row]) - np.nanmin(values[:, row]))
                    if math.isnan(spread):
                        continue
                    rows.append((name, column, label, "absolute", spread, 0.0, max(ATOL, FACTOR * spread), len(builds)))
            elif _is_count(frames, column):
                spread = float(np.max(values.max(axis=0) - values.min(axis=0)))
                rows.append((name, column, "", "count", spread, 0.0, spread, len(builds)))
            else:
                spread, rtol, atol = _float_tolerance(values)
                rows.append((name, column, "", "relative", spread, rtol, atol, len(builds)))
    return pd.DataFrame(rows, columns=COLUMNS)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        print(__doc__.splitlines()[-1], file=sys.stderr)
        return 2
    out, builds = Path(args[0]), [Path(a) for a in args[1:]]
    frame = measure(builds)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, float_format="%.3g")
    print_moved(frame, len(builds), out)
    return 0


def print_moved(frame: pd.DataFrame, builds: int, out: Path) -> None:
    """What a measurement wrote: how many tolerances, and each quantity that moved."""
    moved = frame[frame["spread"] > 0]
    print(f"{len(frame)} tolerances from {builds} builds into {out}; {len(moved)} quantities moved:")
    for row in moved.itertuples():
        print(f"  {row.table} {row.column} {row.row or ''} spread={row.spread:.3g} rtol={row.rtol:.3g} atol={row.atol:.3g}")


if __name__ == "__main__":
    sys.exit(main())
