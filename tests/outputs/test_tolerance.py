"""hessian_spectra.outputs.tolerance: tolerances per quantity from the spread of several builds,
worked out by hand on small tables."""

from __future__ import annotations

import pandas as pd
import pytest

from hessian_spectra.outputs.compare import compare_tables, main
from hessian_spectra.outputs.tolerance import ATOL, FACTOR, RTOL, Tolerances, measure, tolerance_file


def _build(folder, loss, gap, claim_values):
    folder.mkdir(parents=True)
    pd.DataFrame({"run": ["a", "b"], "gap": gap, "train_loss": loss, "note": ["x", "y"]}).to_csv(
        folder / "width.csv", index=False)
    pd.DataFrame({"id": ["sharp", "tie"], "value": claim_values, "verdict": ["holds", "holds"]}).to_csv(
        folder / "claims.csv", index=False)
    return folder


@pytest.fixture
def builds(tmp_path):
    return [_build(tmp_path / "one", [1.0, 0.5], [3, 4], [7.0, 0.0]),
            _build(tmp_path / "two", [1.01, 0.5], [3, 5], [7.7, 0.002]),
            _build(tmp_path / "three", [0.99, 0.5], [3, 4], [7.0, 0.001])]


def _row(frame, table, column, row=""):
    return frame[(frame.table == table) & (frame.column == column) & (frame.row == row)].iloc[0]


def test_spreads_and_tolerances_worked_out_by_hand(builds):
    frame = measure(builds)
    loss = _row(frame, "width.csv", "train_loss")
    assert loss.kind == "relative" and loss.spread == pytest.approx(0.02)  # (1.01 - 0.99) / median 1.0
    assert loss.rtol == pytest.approx(FACTOR * 0.02) and loss.atol == ATOL
    gap = _row(frame, "width.csv", "gap")  # a count moved by one in one row
    assert (gap.kind, gap.spread, gap.rtol, gap.atol) == ("count", 1.0, 0.0, 1.0)
    sharp, tie = _row(frame, "claims.csv", "value", "sharp"), _row(frame, "claims.csv", "value", "tie")
    assert sharp.spread == pytest.approx(0.7) and sharp.atol == pytest.approx(FACTOR * 0.7)
    assert tie.spread == pytest.approx(0.002) and tie.atol == pytest.approx(FACTOR * 0.002)
    assert "note" not in set(frame.column) and "verdict" not in set(frame.column)


def test_a_quantity_that_did_not_move_keeps_the_default_tolerance(tmp_path):
    same = [_build(tmp_path / name, [1.0, 0.5], [3, 4], [7.0, 0.0]) for name in ("a", "b")]
    frame = measure(same)
    loss = _row(frame, "width.csv", "train_loss")
    assert loss.spread == 0 and loss.rtol == RTOL and loss.atol == ATOL
    assert _row(frame, "width.csv", "gap").atol == 0  # counts stay exact


def test_compare_applies_the_measured_tolerance_per_column_and_per_claim(builds, tmp_path):
    tolerances = Tolerances(measure(builds))
    expected, actual = builds[0], _build(tmp_path / "rebuilt", [1.05, 0.5], [3, 5], [7.0, 0.005])
    assert compare_tables(expected, actual, tolerances=tolerances) == []  # all within the spreads x FACTOR
    assert len(compare_tables(expected, actual)) == 3  # the default rule sees the loss, the count, the tie
    beyond = _build(tmp_path / "beyond", [1.07, 0.5], [3, 6], [7.0, 0.007])
    found = compare_tables(expected, beyond, tolerances=tolerances)
    assert [line.split(" column ")[1].split(":")[0] for line in found] == ["value", "gap", "train_loss"]
    assert found[0].startswith("claims.csv: row 1 (id=tie)")


def test_the_tolerance_file_is_found_beside_the_tables_and_used_by_the_cli(builds, tmp_path, capsys):
    repo = tmp_path / "repo"
    tables = repo / "tables" / "default"
    tables.parent.mkdir(parents=True)
    builds[0].rename(tables)
    assert tolerance_file(tables) is None
    (repo / "config" / "tolerances").mkdir(parents=True)
    measure([tables, *builds[1:]]).to_csv(repo / "config" / "tolerances" / "default.csv", index=False)
    assert tolerance_file(tables) == repo / "config" / "tolerances" / "default.csv"
    reference = repo / "tests" / "reference" / "default"  # the suite's reference tables, a level deeper
    reference.mkdir(parents=True)
    assert tolerance_file(reference) == repo / "config" / "tolerances" / "default.csv"
    assert tolerance_file(repo / "tests" / "reference" / "paper") is None
    rebuilt = _build(tmp_path / "rebuilt", [1.05, 0.5], [3, 5], [7.0, 0.005])
    assert main([str(tables), str(rebuilt)]) == 0
    assert "measured tolerances of" in capsys.readouterr().out
    assert main([str(tables), str(rebuilt), "--tolerances", "none"]) == 1
    assert "3 difference(s)" in capsys.readouterr().out


def test_fewer_than_two_builds_or_other_row_counts_are_refused(builds, tmp_path):
    with pytest.raises(ValueError, match="at least two builds"):
        measure(builds[:1])
    short = _build(tmp_path / "short", [1.0, 0.5], [3, 4], [7.0, 0.0])
    pd.DataFrame({"run": ["a"], "gap": [3], "train_loss": [1.0], "note": ["x"]}).to_csv(short / "width.csv", index=False)
    with pytest.raises(ValueError, match="width.csv: the builds have different row counts"):
        measure([builds[0], short])
