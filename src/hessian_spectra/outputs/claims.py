"""The paper's claims against our results: each claim of ``config/claims.yaml`` names a
measure (a function here) computed from the workflow's cached tables, and thresholds that
turn its value into a verdict: "holds", "partly holds" or "does not hold". A claim whose
inputs a profile did not build says so instead of a verdict. Where the value's measured
spread between machines (``config/tolerances/<profile>.csv``) crosses a threshold, the
verdict is "borderline", naming the verdicts on both sides: another machine must not
reverse a verdict we print. Nothing is typed by hand.

Inputs (``evaluate_claims``): the paths of what a measure reads, by name: the tables
(``table1``, ``width_scaling``, ``batch_size``, ``batch_switch``: CSV) and Fig. 1's spectra
(``fig1_init``, ``fig1_final``: the npz files with the eigenvalues of H, G and R); a
missing or absent path makes the claims that need it "not measured".
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from .tables import UNKNOWN_COUNT, UNRESOLVED_ESTIMATE, write_table
from .tolerance import Tolerances

VERDICTS = ("holds", "partly holds", "does not hold")
DIRECTIONS = ("at_least", "at_most")


class Unmeasured(ValueError):
    """A measure's inputs exist but do not determine it (its message says why)."""


def outliers_within_one(tables: dict, method: str) -> float:
    """Share of Table 1's runs whose ``method`` count is within 1 of the number of classes."""
    table = tables["table1"]
    return float(((table[method] - table["nc"]).abs() <= 1).mean())


def image_outliers_within_one(tables: dict, table: str, method: str, classes: int) -> float:
    """Share of the runs of a Family B or C ``table`` (width_scaling, batch_size) whose
    ``method`` count is within 1 of the number of classes."""
    counts = tables[table][method]
    return float(((counts - classes).abs() <= 1).mean())


def bulk_fraction(inputs: dict, stage: str, band: float) -> float:
    """Share of Fig. 1's Hessian eigenvalues at ``stage`` (init | final) within
    ``band`` x lambda_max of zero."""
    eigenvalues = inputs[f"fig1_{stage}"]["hessian"]
    return float(np.mean(np.abs(eigenvalues) <= band * eigenvalues.max()))


def residual_norm_ratio(inputs: dict) -> float:
    """||R||_F / ||G||_F at the end of Fig. 1's run (a symmetric matrix's Frobenius norm
    is the 2-norm of its eigenvalues)."""
    spectra = inputs["fig1_final"]
    return float(np.linalg.norm(spectra["residual"]) / np.linalg.norm(spectra["gauss_newton"]))


def residual_top_ratio(inputs: dict) -> float:
    """max |eigenvalue of R| / largest eigenvalue of G at the end of Fig. 1's run."""
    spectra = inputs["fig1_final"]
    return float(np.abs(spectra["residual"]).max() / spectra["gauss_newton"].max())


def top_eigenvalue_spread(tables: dict) -> float:
    """Largest over smallest lambda_1 across Family B's widths."""
    top = tables["width_scaling"]["lambda_1"]
    return float(top.max() / top.min())


def negative_fraction_spread(tables: dict) -> float:
    """(max - min) / mean of Family B's negative fractions (counted, or estimated where the
    estimate is resolved; ``tables._negative_count``)."""
    table = tables["width_scaling"]
    vague = table["run"][table["negative_method"].isin((UNRESOLVED_ESTIMATE, UNKNOWN_COUNT))].tolist()
    if vague:
        raise Unmeasured(f"the negative fraction of {', '.join(vague)} is not resolved")
    fraction = table["fraction_negative"].astype(float)
    return float((fraction.max() - fraction.min()) / fraction.mean())


def _by_batch(tables: dict) -> pd.DataFrame:
    table = tables["batch_size"].copy()
    table["batch"] = table["run"].str.extract(r"_b(\d+)$", expand=False).astype(int)
    return table.sort_values("batch")


def batch_outlier_difference(tables: dict) -> float:
    """|ratio count of the smallest batch - that of the largest|."""
    table = _by_batch(tables)
    return float(abs(table["ratio"].iloc[0] - table["ratio"].iloc[-1]))


def batch_top_ratio(tables: dict) -> float:
    """lambda_1 of the largest batch over lambda_1 of the smallest."""
    table = _by_batch(tables)
    return float(table["lambda_1"].iloc[-1] / table["lambda_1"].iloc[0])


def batch_negative_over_top(tables: dict) -> float:
    """The largest |most negative eigenvalue| / lambda_1 over Family C's batch sizes."""
    table = tables["batch_size"]
    return float((table["most_negative"].abs() / table["lambda_1"]).max())


def batch_negative_edge_spread(tables: dict) -> float:
    """Larger over smaller |most negative eigenvalue| of the smallest and largest batch."""
    edges = _by_batch(tables)["most_negative"].abs()
    edges = (edges.iloc[0], edges.iloc[-1])
    return float(max(edges) / min(edges))


def _switch_row(tables: dict, prefix: str) -> pd.Series:
    table = tables["batch_switch"]
    return table[table["quantity"].str.startswith(prefix)].iloc[0]


def switch_jump(tables: dict) -> float:
    """Train loss at the first record after the switch over that at the end of Part I."""
    return float(_switch_row(tables, "first record")["train_loss"] / _switch_row(tables, "end of Part I")["train_loss"])


def switch_accuracy_change(tables: dict) -> float:
    """Test accuracy at the end of Part II minus that at the end of Part I (a fraction)."""
    return float(_switch_row(tables, "end of Part II")["test_accuracy"]
                 - _switch_row(tables, "end of Part I")["test_accuracy"])


def switch_barrier(tables: dict) -> float:
    """The largest train loss on 0 < a < 1 over the higher end (the table's barrier row)."""
    return float(_switch_row(tables, "barrier")["train_loss"])


#: measure name -> (function, the inputs it reads; ``{option}`` is filled from the claim's measure options)
MEASURES: dict[str, tuple[Callable[..., float], tuple[str, ...]]] = {
    "bulk_fraction": (bulk_fraction, ("fig1_{stage}",)),
    "residual_norm_ratio": (residual_norm_ratio, ("fig1_final",)),
    "residual_top_ratio": (residual_top_ratio, ("fig1_final",)),
    "outliers_within_one": (outliers_within_one, ("table1",)),
    "image_outliers_within_one": (image_outliers_within_one, ("{table}",)),
    "top_eigenvalue_spread": (top_eigenvalue_spread, ("width_scaling",)),
    "negative_fraction_spread": (negative_fraction_spread, ("width_scaling",)),
    "batch_outlier_difference": (batch_outlier_difference, ("batch_size",)),
    "batch_top_ratio": (batch_top_ratio, ("batch_size",)),
    "batch_negative_over_top": (batch_negative_over_top, ("batch_size",)),
    "batch_negative_edge_spread": (batch_negative_edge_spread, ("batch_size",)),
    "switch_jump": (switch_jump, ("batch_switch",)),
    "switch_accuracy_change": (switch_accuracy_change, ("batch_switch",)),
    "switch_barrier": (switch_barrier, ("batch_switch",)),
}


def load_claims(path: str | Path) -> list[dict]:
    """The claims of a claims file, checked: known measures, directions, and thresholds in
    the order the direction needs (ValueError naming the claim otherwise)."""
    claims = yaml.safe_load(Path(path).read_text())["claims"]
    for claim in claims:
        name = claim["measure"]["name"]
        if name not in MEASURES:
            raise ValueError(f"claim {claim['id']!r}: measure {name!r} is not one of {', '.join(MEASURES)}")
        if claim["direction"] not in DIRECTIONS:
            raise ValueError(f"claim {claim['id']!r}: direction must be one of {', '.join(DIRECTIONS)}")
        ordered = claim["holds"] >= claim["partly"] if claim["direction"] == "at_least" else claim["holds"] <= claim["partly"]
        if not ordered:
            raise ValueError(f"claim {claim['id']!r}: 'holds' ({claim['holds']}) must be on the strict side of "
                             f"'partly' ({claim['partly']}) for direction {claim['direction']}")
    return claims


def verdict(value: float, direction: str, holds: float, partly: float) -> str:
    """The verdict of ``value`` against the thresholds (``VERDICTS``)."""
    better = (lambda v, t: v >= t) if direction == "at_least" else (lambda v, t: v <= t)
    if better(value, holds):
        return VERDICTS[0]
    return VERDICTS[1] if better(value, partly) else VERDICTS[2]


def verdict_within(value: float, band: float, direction: str, holds: float, partly: float) -> str:
    """The verdict of ``value``, or, when a threshold lies within ``band`` of it (another
    machine's value may differ by that much: ``tolerance``), "borderline (<verdict> or
    <verdict>)" naming the verdicts on both sides, best first. The value and the band have
    columns of their own: a verdict that printed them would differ between machines whose
    values differ within the band, the difference the band is there to absorb."""
    ends = {verdict(v, direction, holds, partly) for v in (value - band, value, value + band)}
    if len(ends) == 1:
        return ends.pop()
    return f"borderline ({' or '.join(v for v in VERDICTS if v in ends)})"


def _load(path: Path) -> pd.DataFrame | dict[str, np.ndarray]:
    """A table (CSV) as a data frame, a spectrum file (npz) as a dict of arrays."""
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            return {name: arrays[name] for name in arrays.files}
    return pd.read_csv(path)


def evaluate_claims(claims: list[dict], inputs: dict[str, str | Path | None],
                    tolerances: Tolerances | None = None) -> pd.DataFrame:
    """One row per claim: figure, claim, quantity, value, the thresholds, verdict and why;
    "not measured (...)" as the verdict where an input is missing or does not determine
    the measure (``Unmeasured``). ``tolerances``: the measured spread of each claim's value
    between machines (``tolerance``); its ``tolerance`` column holds the band, and a
    verdict that a value within it would change is "borderline" (``verdict_within``)."""
    tolerances = tolerances or Tolerances()
    loaded = {name: _load(Path(path)) for name, path in inputs.items() if path and Path(path).is_file()}
    rows = []
    for claim in claims:
        options = {k: v for k, v in claim["measure"].items() if k != "name"}
        function, needs = MEASURES[claim["measure"]["name"]]
        missing = [name for name in (need.format(**options) for need in needs) if name not in loaded]
        value, unmeasured = None, None
        if not missing:
            try:
                value = function(loaded, **options)
            except Unmeasured as reason:
                unmeasured = f"not measured ({reason})"
        measured = tolerances.get("claims.csv", "value", claim["id"])
        band = None if measured is None or value is None else measured.verdict_band
        rows.append({
            "id": claim["id"], "figure": claim["figure"], "claim": claim["claim"], "quantity": claim["quantity"],
            "value": value,
            "holds_if": f"{'>=' if claim['direction'] == 'at_least' else '<='} {claim['holds']:g}",
            "partly_if": f"{'>=' if claim['direction'] == 'at_least' else '<='} {claim['partly']:g}",
            "tolerance": band,
            "verdict": (f"not measured ({', '.join(missing)} not built at this profile)" if missing
                        else unmeasured or verdict_within(value, band or 0.0, claim["direction"], claim["holds"],
                                                          claim["partly"])),
            "why": claim["why"],
        })
    return pd.DataFrame(rows)


def write_claims(claims_path: str | Path, inputs: dict[str, str | Path | None], stem: str, caption: str,
                 tolerances_path: str | Path | None = None) -> None:
    """``stem``.csv and ``stem``.md: the verdict of every claim of ``claims_path``, with the
    measured tolerances of ``tolerances_path`` (a ``tolerance`` file) when given."""
    table = evaluate_claims(load_claims(claims_path), inputs, Tolerances.read(tolerances_path))
    readable = table.assign(value=[("n/a" if pd.isna(v) else f"{v:.4g}") for v in table["value"]],
                            tolerance=[("" if pd.isna(v) else f"± {v:.2g}") for v in table["tolerance"]])
    write_table(table, readable, stem, caption, formats=("csv", "md"))
