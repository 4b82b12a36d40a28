"""Compare two folders of result tables (CSV) within a stated tolerance, and figure files
byte for byte.

``compare_tables(expected, actual)`` returns the differences as readable lines (``[]``:
the same): missing or extra files, other columns or row counts, and cells that differ.
Cells are compared by what they hold:

* integers (outlier counts, steps, parameter counts) and strings (run names, verdicts):
  exactly: a count off by one is a different result, whatever its size;
* floats: equal when ``|a - b| <= atol + rtol * |b|`` (``b`` the expected value, as in
  ``numpy.isclose``); NaN equals NaN, and NaN against a number differs. A column holding
  counts and blanks is read as floats; it is then compared with the tolerance, which
  still tells counts apart below ``1 / rtol`` = 10 000.

Measured tolerances come first: ``config/tolerances/<profile>.csv`` (``tolerance``) holds,
per table and column (per claim for the claims table), how far a rebuild under another
machine's kernels moved the number, times a safety factor; a column listed there is
compared with it (counts included: a count that moved by one may move by one). The
defaults below hold for everything else:

* floats: ``rtol=1e-4``, ``atol=1e-9``. Last-bit differences between machines grow a
  little through training; 1e-4 leaves room for that in the quantities that did not move
  when measured, while a changed setting (learning rate, seed, stopping rule, a bug) moves
  the numbers by far more than 1e-3. ``atol`` only matters for values near zero, where a
  relative test alone would demand agreement of round-off itself; the smallest
  quantities the tables report are ~1e-6 (mean eigenvalues), so 1e-9 is below
  everything meaningful;
* integers and strings: exactly.

Run ``python -m hessian_spectra.outputs.compare EXPECTED ACTUAL [--rtol R --atol A]``: it prints
each difference and exits 1, or prints one line saying how many tables match and exits 0.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from .tolerance import ATOL, RTOL, Tolerances, tolerance_file


def _number(value) -> float | None:
    """``value`` as a float when it is one (or a string that parses as one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _cell_differs(a, b, exact: bool, rtol: float, atol: float, measured=None) -> bool:
    """Whether the actual cell ``a`` differs from the expected ``b``; ``measured`` (a
    ``tolerance.Tolerance``) replaces the rule for a quantity whose spread was measured."""
    if _is_nan(a) or _is_nan(b):
        return not (_is_nan(a) and _is_nan(b))
    if measured is not None:
        x, y = _number(a), _number(b)
        if x is not None and y is not None and not (math.isnan(x) or math.isnan(y)):
            return not measured.admits(x, y)
    if exact:
        return a != b
    x, y = _number(a), _number(b)
    if x is None or y is None:  # strings (or a string against a number): exactly
        return str(a) != str(b)
    if math.isnan(x) or math.isnan(y):
        return not (math.isnan(x) and math.isnan(y))
    return abs(x - y) > atol + rtol * abs(y)


def _row_label(frame: pd.DataFrame, row: int) -> str:
    """``row 3 (run=width_n10)``: the row number and, to find it, its first column."""
    first = frame.columns[0]
    return f"row {row} ({first}={frame.iloc[row, 0]})"


def compare_frames(name: str, expected: pd.DataFrame, actual: pd.DataFrame,
                   rtol: float = RTOL, atol: float = ATOL, tolerances: Tolerances | None = None) -> list[str]:
    """The differences between two tables read from the file ``name``; ``tolerances``:
    the measured ones per column (or per row, by the first column's value), which replace
    ``rtol``/``atol`` and the exact rule for counts where they are given."""
    tolerances = tolerances or Tolerances()
    if list(expected.columns) != list(actual.columns):
        missing = [c for c in expected.columns if c not in actual.columns]
        extra = [c for c in actual.columns if c not in expected.columns]
        detail = f"missing {missing}, extra {extra}" if missing or extra else "same names, other order"
        return [f"{name}: columns differ ({detail}): expected {list(expected.columns)}, "
                f"actual {list(actual.columns)}"]
    if len(expected) != len(actual):
        return [f"{name}: {len(actual)} rows, expected {len(expected)}"]
    differences = []
    for column in expected.columns:
        # Exactly where both sides hold integers (counts) or booleans; a float on either
        # side (a column with blanks, or real numbers) gets the tolerance.
        exact = all(pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s)
                    for s in (expected[column], actual[column]))
        for row, (b, a) in enumerate(zip(expected[column].tolist(), actual[column].tolist())):
            measured = tolerances.get(name, column, str(expected.iloc[row, 0]))
            if _cell_differs(a, b, exact, rtol, atol, measured):
                differences.append(f"{name}: {_row_label(expected, row)} column {column}: "
                                   f"expected {b!r}, actual {a!r}")
    return differences


def compare_tables(expected_dir, actual_dir, names=None, rtol: float = RTOL,
                   atol: float = ATOL, tolerances: Tolerances | None = None) -> list[str]:
    """The differences between the CSV tables of two folders ([] when they match).

    ``names``: the files to compare (missing ones are reported); by default every
    ``*.csv`` of ``expected_dir``, and then a CSV only ``actual_dir`` has is reported too.
    """
    expected_dir, actual_dir = Path(expected_dir), Path(actual_dir)
    if not expected_dir.is_dir():
        return [f"expected folder {expected_dir} does not exist"]
    if not actual_dir.is_dir():
        return [f"actual folder {actual_dir} does not exist"]
    differences = []
    if names is None:
        names = sorted(p.name for p in expected_dir.glob("*.csv"))
        extra = sorted({p.name for p in actual_dir.glob("*.csv")} - set(names))
        differences += [f"{name}: extra file in {actual_dir} (not in {expected_dir})" for name in extra]
    for name in names:
        expected_file, actual_file = expected_dir / name, actual_dir / name
        if not expected_file.is_file():
            differences.append(f"{name}: missing in {expected_dir}")
            continue
        if not actual_file.is_file():
            differences.append(f"{name}: missing in {actual_dir}")
            continue
        differences += compare_frames(name, pd.read_csv(expected_file), pd.read_csv(actual_file),
                                      rtol, atol, tolerances)
    return differences


def compare_files_bytes(expected_dir, actual_dir, pattern: str = "*.png") -> list[str]:
    """The files matching ``pattern`` that are not byte-identical in the two folders
    (missing on either side, or other bytes), one line each; [] when all are identical."""
    expected_dir, actual_dir = Path(expected_dir), Path(actual_dir)
    expected = {p.name for p in expected_dir.glob(pattern) if p.is_file()}
    actual = {p.name for p in actual_dir.glob(pattern) if p.is_file()}
    differences = [f"{name}: missing in {actual_dir}" for name in sorted(expected - actual)]
    differences += [f"{name}: extra file in {actual_dir} (not in {expected_dir})"
                     for name in sorted(actual - expected)]
    for name in sorted(expected & actual):
        if (expected_dir / name).read_bytes() != (actual_dir / name).read_bytes():
            differences.append(f"{name}: bytes differ")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hessian_spectra.outputs.compare",
                                     description="Compare the CSV tables of two folders within a tolerance.")
    parser.add_argument("expected", type=Path, help="folder of expected tables (e.g. tables/default)")
    parser.add_argument("actual", type=Path, help="folder of tables to check")
    parser.add_argument("--rtol", type=float, default=RTOL, help=f"relative tolerance (default {RTOL:g})")
    parser.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance (default {ATOL:g})")
    parser.add_argument("--tolerances", help="measured tolerances per quantity (default: config/tolerances/"
                                             "<profile>.csv beside EXPECTED's repository when it exists; "
                                             "'none': only --rtol/--atol)")
    args = parser.parse_args(argv)
    for field in ("rtol", "atol"):
        if not getattr(args, field) >= 0:
            parser.error(f"--{field} must be >= 0, got {getattr(args, field)}")
    path = tolerance_file(args.expected) if args.tolerances is None else (
        None if args.tolerances == "none" else Path(args.tolerances))
    if path is not None and not path.is_file():
        parser.error(f"--tolerances: {path} is not a file")
    tolerances = Tolerances.read(path)
    differences = compare_tables(args.expected, args.actual, rtol=args.rtol, atol=args.atol, tolerances=tolerances)
    for line in differences:
        print(line)
    measured = f" and the {len(tolerances)} measured tolerances of {path}" if path else ""
    if differences:
        print(f"{len(differences)} difference(s) beyond rtol={args.rtol:g}, atol={args.atol:g}{measured}")
        return 1
    count = len(list(args.expected.glob("*.csv")))
    print(f"{count} tables match within rtol={args.rtol:g}, atol={args.atol:g}{measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
