"""How close a built Table 1 is to the paper's: the numbers the fidelity issue set.

Reads ``tables/<profile>/table1.csv`` (build it first: ``make reproduce`` or
``make tables/default/table1.csv``) and prints, per run, our mean eigenvalue over the
paper's, then: the rows within a factor ``tables.CLOSE_FACTOR`` (1.5), the ReLU rows whose
count at the paper's cutoff is within 1 of nc, and per counting method the rows within 1
of nc, ours beside the paper's. Run: ``.venv/bin/python benchmarks/fidelity/table1_fidelity.py [profile]``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from hessian_spectra.outputs.tables import CLOSE_FACTOR


def _within_one(table: pd.DataFrame, column: str) -> int:
    return int(((table[column] - table["nc"]).abs() <= 1).sum())


def main() -> None:
    profile = sys.argv[1] if len(sys.argv) > 1 else "default"
    table = pd.read_csv(f"tables/{profile}/table1.csv")
    ratio = table["eig_mean"] / table["paper_eig_mean"]
    print(pd.DataFrame({"run": table["run"], "steps": table["steps"], "train_loss": table["train_loss"],
                        "ours/paper": ratio.round(2), "cutoff": table["cutoff"], "nc": table["nc"]}).to_string(index=False))
    close = np.abs(np.log10(ratio)) <= np.log10(CLOSE_FACTOR)
    relu = table["activation"] == "relu"
    within = (table["cutoff"] - table["nc"]).abs() <= 1
    print(f"\nmean eigenvalue within a factor {CLOSE_FACTOR}: {int(close.sum())} of {len(table)} rows")
    print(f"paper's cutoff counts within 1 of nc: {int((within & relu).sum())} of {int(relu.sum())} ReLU rows")
    for ours, paper in (("gap", "gap"), ("ratio", "ratio"), ("elbow", "heuristic")):
        print(f"{ours} within 1 of nc: ours {_within_one(table, ours)}, paper's {paper} "
              f"{_within_one(table, 'paper_' + paper)} of {len(table)}")


if __name__ == "__main__":
    main()
