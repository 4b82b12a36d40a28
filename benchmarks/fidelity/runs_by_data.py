"""Families B and C side by side on several data sets: the closing notes' per-run table.

``python benchmarks/fidelity/runs_by_data.py LABEL=TABLE.csv [LABEL=TABLE.csv ...]``

Each TABLE is a ``width_scaling.csv`` or ``batch_size.csv`` of some build (a profile's
``tables/<profile>/``, ``paper/paper_cpu/``, or an older commit's table through ``git
show <commit>:tables/default/width_scaling.csv > /tmp/x.csv``); LABEL names its data and
settings. Prints one Markdown row per run and table: M, steps, train and test accuracy,
lambda_1..3, the negative fraction, the most negative eigenvalue and the four outlier
counts (gap, ratio, elbow, cutoff), so that runs of one net on MNIST, Fashion-MNIST and
digits read next to each other.
"""

from __future__ import annotations

import argparse

import pandas as pd

COLUMNS = ["num_params", "steps", "train_accuracy", "test_accuracy", "lambda_1", "lambda_2", "lambda_3",
           "fraction_negative", "most_negative", "gap", "ratio", "elbow", "cutoff"]


def side_by_side(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The runs of every table, labelled, sorted by run then label (one net's data sets together)."""
    frames = [table.assign(data=label)[["run", "data", *COLUMNS]] for label, table in tables.items()]
    rows = pd.concat(frames, ignore_index=True)
    order = {run: i for i, run in enumerate(dict.fromkeys(rows["run"]))}
    return rows.sort_values("run", key=lambda runs: runs.map(order), kind="stable").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+", metavar="LABEL=TABLE.csv")
    args = parser.parse_args()
    tables = {}
    for item in args.tables:
        label, sep, path = item.partition("=")
        if not sep:
            parser.error(f"{item!r}: write LABEL=TABLE.csv")
        if label in tables:
            parser.error(f"label {label!r} given twice: each table needs a label of its own")
        tables[label] = pd.read_csv(path)
    rows = side_by_side(tables)
    for column in ("train_accuracy", "test_accuracy", "fraction_negative"):
        rows[column] = rows[column].map(lambda value: f"{100 * value:.2f}%")
    print(rows.to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
