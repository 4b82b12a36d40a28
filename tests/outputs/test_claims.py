"""The claims table (``claims``): measures from tables built here by hand, verdicts at and
around their thresholds, and claims whose inputs a profile did not build."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from cases import ROOT
from hessian_spectra.outputs.claims import MEASURES, VERDICTS, evaluate_claims, load_claims, verdict, verdict_within
from hessian_spectra.outputs.tolerance import FACTOR, Tolerances

CLAIMS = ROOT / "config" / "claims.yaml"


@pytest.mark.parametrize("value, direction, expected", [
    (0.8, "at_least", "holds"), (0.79, "at_least", "partly holds"), (0.5, "at_least", "partly holds"),
    (0.49, "at_least", "does not hold"), (2.0, "at_most", "holds"), (2.1, "at_most", "partly holds"),
    (4.1, "at_most", "does not hold")])
def test_verdicts_at_and_around_the_thresholds(value, direction, expected):
    holds, partly = (0.8, 0.5) if direction == "at_least" else (2.0, 4.0)
    assert verdict(value, direction, holds, partly) == expected


def _tables(tmp_path) -> dict:
    tables = {
        # nc 2, 5, 10, 20: gap counts off by 0, 1, 3, 0 -> 3 of 4 within one
        "table1": pd.DataFrame({"nc": [2, 5, 10, 20], "gap": [2, 6, 13, 20], "ratio": [2, 5, 10, 20],
                                "cutoff": [30, 30, 30, 30]}),
        # 10 classes: gap counts 10 and 3 (one within one), ratio 9 and 12 (one)
        "width_scaling": pd.DataFrame({"run": ["width_n10", "width_n70"], "lambda_1": [1.5, 1.0],
                                       "fraction_negative": [0.10, 0.12], "negative_method": ["exact", "slq estimate"],
                                       "gap": [10, 3], "ratio": [9, 12]}),
        # |most negative| / lambda_1: 0.02 / 4 = 0.005 (b512), 0.01 / 0.5 = 0.02 (b10)
        "batch_size": pd.DataFrame({"run": ["batch_b512", "batch_b10"], "ratio": [9, 10], "gap": [1, 11],
                                    "lambda_1": [4.0, 0.5],
                                    "most_negative": [-0.02, -0.01]}),
        "batch_switch": pd.DataFrame({"quantity": ["end of Part I", "first record after the switch",
                                                   "end of Part II", "barrier on 0 < a < 1 (...)"],
                                      "train_loss": [0.2, 0.3, 0.1, 1.5], "test_accuracy": [0.9, 0.91, 0.905, 0.5]}),
    }
    # Fig. 1: at init 3 of 5 eigenvalues within 1% of lambda_max = 10; at the end R's
    # eigenvalues (3, 4) against G's (0, 0, 12): norms 5 / 12, tops 4 / 12
    spectra = {"fig1_init": {"hessian": np.array([-0.05, 0.0, 0.1, 5.0, 10.0])},
               "fig1_final": {"hessian": np.array([0.0, 0.0, 0.0, 1.0, 100.0]),
                              "gauss_newton": np.array([0.0, 0.0, 12.0]), "residual": np.array([-3.0, 0.0, 4.0])}}
    paths = {}
    for name, table in tables.items():
        paths[name] = tmp_path / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    for name, arrays in spectra.items():
        paths[name] = tmp_path / f"{name}.npz"
        np.savez(paths[name], **arrays)
    return paths


def test_every_measure_against_numbers_worked_out_by_hand(tmp_path):
    table = evaluate_claims(load_claims(CLAIMS), _tables(tmp_path)).set_index("id")
    expected = {"outliers_gap": 0.75, "outliers_ratio": 1.0, "outliers_cutoff": 0.0,
                "width_top_eigenvalues": 1.5, "width_negative_fraction": 0.02 / 0.11,
                "batch_same_outliers": 1.0, "batch_large_is_sharper": 8.0, "switch_jump": 1.5, "switch_no_barrier": 1.5,
                "bulk_at_init": 0.6, "bulk_at_end": 0.8, "gauss_newton_norm": 5 / 12, "gauss_newton_top": 4 / 12,
                "batch_negative_small": 0.02, "batch_negative_edges_alike": 2.0, "switch_final_accuracy": 0.005,
                "width_outliers_gap": 0.5, "width_outliers_ratio": 0.5, "batch_outliers_gap": 0.5,
                "batch_outliers_ratio": 1.0}
    for claim, value in expected.items():
        assert table.loc[claim, "value"] == pytest.approx(value), claim
    assert table.loc["outliers_ratio", "verdict"] == "holds"
    assert table.loc["outliers_cutoff", "verdict"] == "does not hold"
    assert table.loc["switch_no_barrier", "verdict"] == "does not hold"  # 1.5 > 1.1: a barrier
    assert table.loc["bulk_at_end", "verdict"] == "partly holds"
    assert table.loc["switch_final_accuracy", "verdict"] == "holds"
    assert set(table["verdict"]) <= set(VERDICTS)


@pytest.mark.parametrize("value, band, expected", [
    (0.0005, 0.0007, "borderline (holds or partly holds)"),  # 0.001 within reach
    (0.0, 0.0005, "partly holds"),                                      # the band stays inside (-0.001, 0.001)
    (0.0, 0.0042, "borderline (holds or partly holds or does not hold)"),
    (0.0015, 0.0004, "holds"), (0.0012, 0.0004, "borderline (holds or partly holds)")])
def test_a_verdict_that_a_value_within_the_band_would_change_is_borderline(value, band, expected):
    assert verdict_within(value, band, "at_least", 0.001, -0.001) == expected


def test_values_within_the_band_print_the_same_borderline_verdict():
    # switch_jump (thresholds 1.1, 1.02) on two machines: 1.005 and 1.003, band 0.023
    assert verdict_within(1.003, 0.023, "at_least", 1.1, 1.02) == "borderline (partly holds or does not hold)"
    assert verdict_within(1.005, 0.023, "at_least", 1.1, 1.02) == "borderline (partly holds or does not hold)"


def test_measured_tolerances_reach_the_claims_table(tmp_path):
    """switch_final_accuracy is 0.005 in the hand-made tables: 'holds' alone, borderline
    once another machine may move it by 0.005; claims without a measured spread keep theirs."""
    tolerances = Tolerances(pd.DataFrame({"table": ["claims.csv"] * 2, "column": ["value"] * 2,
                                          "row": ["switch_final_accuracy", "batch_same_outliers"], "rtol": [0.0, 0.0],
                                          "atol": [0.005, 1e-9], "spread": [0.005 / FACTOR, 0.0]}))
    table = evaluate_claims(load_claims(CLAIMS), _tables(tmp_path), tolerances).set_index("id")
    assert table.loc["switch_final_accuracy", "verdict"] == "borderline (holds or partly holds)"
    assert table.loc["switch_final_accuracy", "tolerance"] == 0.005
    # a value that never moved between builds keeps its verdict even on a threshold (1 <= 1 here),
    # whatever compare's atol floor
    assert table.loc["batch_same_outliers", "value"] == 1.0
    assert table.loc["batch_same_outliers", "verdict"] == "holds" and table.loc["batch_same_outliers", "tolerance"] == 0
    assert pd.isna(table.loc["outliers_gap", "tolerance"])  # no measured spread


def test_a_claim_without_its_inputs_says_so(tmp_path):
    paths = _tables(tmp_path)
    paths["batch_switch"] = tmp_path / "absent.csv"
    table = evaluate_claims(load_claims(CLAIMS), {**paths, "table1": None, "fig1_init": None}).set_index("id")
    assert table.loc["bulk_at_init", "verdict"] == "not measured (fig1_init not built at this profile)"
    assert table.loc["bulk_at_end", "verdict"] == "partly holds"
    assert table.loc["switch_jump", "verdict"] == "not measured (batch_switch not built at this profile)"
    assert table.loc["outliers_gap", "verdict"].startswith("not measured (table1")
    assert pd.isna(table.loc["switch_jump", "value"])
    assert table.loc["batch_large_is_sharper", "verdict"] == "holds"


def test_an_unresolved_negative_fraction_is_not_measured(tmp_path):
    """An SLQ point estimate that the quadrature does not resolve must not become a verdict."""
    paths = _tables(tmp_path)
    table = pd.read_csv(paths["width_scaling"])
    table.loc[1, "negative_method"] = "slq estimate (unresolved)"
    table.to_csv(paths["width_scaling"], index=False)
    claims = evaluate_claims(load_claims(CLAIMS), paths).set_index("id")
    assert claims.loc["width_negative_fraction", "verdict"] == (
        "not measured (the negative fraction of width_n70 is not resolved)")
    assert pd.isna(claims.loc["width_negative_fraction", "value"])
    assert claims.loc["width_top_eigenvalues", "verdict"] == "holds"  # the other width claim still measured


def test_the_claims_file_covers_the_papers_figures_with_known_measures():
    claims = load_claims(CLAIMS)
    assert {claim["measure"]["name"] for claim in claims} <= set(MEASURES)
    figures = " ".join(claim["figure"] for claim in claims)
    for figure in ("Fig. 1", "Fig. 1b", "Fig. 3", "Table 1", "Fig. 4", "Fig. 5", "Fig. 7", "Fig. 8", "Fig. 9", "Fig. 10"):
        assert figure in figures
    assert all(claim["why"] for claim in claims)
    # the outlier-count claim for every family that counts outliers (Table 1, Fig. 4, Fig. 7)
    counted = {claim["measure"].get("table", "table1") for claim in claims
               if claim["measure"]["name"] in ("outliers_within_one", "image_outliers_within_one")}
    assert counted == {"table1", "width_scaling", "batch_size"}


@pytest.mark.parametrize("edit, message", [
    ({"measure": {"name": "vibes"}}, "measure 'vibes' is not one of"),
    ({"direction": "sideways"}, "direction must be one of"),
    ({"holds": 0.4, "partly": 0.5}, "'holds' (0.4) must be on the strict side"),
])
def test_a_bad_claim_is_rejected_naming_it(tmp_path, edit, message):
    claims = yaml.safe_load(CLAIMS.read_text())
    claims["claims"][0].update(edit)
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(claims))
    with pytest.raises(ValueError, match="claim 'bulk_at_init': .*" + re.escape(message)):
        load_claims(path)
