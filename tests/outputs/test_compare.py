"""hessian_spectra.outputs.compare: two folders of result tables within a tolerance, figures by bytes."""

import math
import shutil

import pandas as pd
import pytest

from hessian_spectra.outputs.compare import ATOL, RTOL, compare_files_bytes, compare_tables, main


def _table():
    return pd.DataFrame({"run": ["width_n10", "width_n30"], "gap": [1, 4],
                         "train_loss": [0.004702935927, 0.004043333698],
                         "paper_gap": [2.0, math.nan], "verdict": ["holds", "partly holds"]})


@pytest.fixture
def folders(tmp_path):
    """Two folders holding the same two tables."""
    expected, actual = tmp_path / "expected", tmp_path / "actual"
    expected.mkdir()
    _table().to_csv(expected / "width.csv", index=False)
    pd.DataFrame({"k": [2, 5], "lambda_1": [1.5, -2.0e-6]}).to_csv(expected / "table1.csv", index=False)
    shutil.copytree(expected, actual)
    return expected, actual


def _edit(folder, row, column, value, name="width.csv"):
    frame = pd.read_csv(folder / name)
    frame.loc[row, column] = value
    frame.to_csv(folder / name, index=False)


def test_identical_copies_match(folders):
    assert compare_tables(*folders) == []


def test_a_float_beyond_the_tolerance_names_file_row_and_column(folders):
    expected, actual = folders
    _edit(actual, 1, "train_loss", 0.004043333698 * (1 + 10 * RTOL))
    [difference] = compare_tables(expected, actual)
    assert "width.csv" in difference and "row 1" in difference and "run=width_n30" in difference
    assert "column train_loss" in difference and "0.004043333698" in difference


def test_a_float_within_the_tolerance_passes(folders):
    expected, actual = folders
    # the cross-machine drift seen: 7th significant digit (relative 4e-7)
    _edit(actual, 0, "train_loss", 0.004702937789)
    _edit(actual, 1, "lambda_1", -2.0e-6 + ATOL / 2, name="table1.csv")
    assert compare_tables(expected, actual) == []


def test_the_tolerance_is_an_argument(folders):
    expected, actual = folders
    _edit(actual, 0, "train_loss", 0.004702937789)
    assert len(compare_tables(expected, actual, rtol=1e-8, atol=0)) == 1


def test_an_integer_off_by_one_is_reported(folders):
    expected, actual = folders
    _edit(actual, 1, "gap", 5)
    [difference] = compare_tables(expected, actual)
    assert "column gap" in difference and "expected 4, actual 5" in difference


def test_a_string_cell_must_match_exactly(folders):
    expected, actual = folders
    _edit(actual, 0, "verdict", "does not hold")
    [difference] = compare_tables(expected, actual)
    assert "column verdict" in difference and "'does not hold'" in difference


def test_nan_equals_nan_and_differs_from_a_number(folders):
    expected, actual = folders
    assert compare_tables(expected, actual) == []  # paper_gap holds a NaN on both sides
    _edit(actual, 1, "paper_gap", 3.0)
    [difference] = compare_tables(expected, actual)
    assert "column paper_gap" in difference and "nan" in difference


def test_a_missing_file_is_reported(folders):
    expected, actual = folders
    (actual / "table1.csv").unlink()
    [difference] = compare_tables(expected, actual)
    assert "table1.csv" in difference and "missing" in difference


def test_an_extra_file_is_reported_unless_names_are_given(folders):
    expected, actual = folders
    shutil.copy(actual / "table1.csv", actual / "new.csv")
    [difference] = compare_tables(expected, actual)
    assert "new.csv" in difference and "extra" in difference
    assert compare_tables(expected, actual, names=["width.csv"]) == []


def test_a_renamed_column_is_reported(folders):
    expected, actual = folders
    pd.read_csv(actual / "width.csv").rename(columns={"gap": "gaps"}).to_csv(actual / "width.csv", index=False)
    [difference] = compare_tables(expected, actual)
    assert "width.csv" in difference and "'gap'" in difference and "'gaps'" in difference


def test_another_row_count_is_reported(folders):
    expected, actual = folders
    pd.read_csv(actual / "width.csv").head(1).to_csv(actual / "width.csv", index=False)
    [difference] = compare_tables(expected, actual)
    assert "1 rows, expected 2" in difference


def test_figure_bytes(tmp_path):
    expected, actual = tmp_path / "expected", tmp_path / "actual"
    for folder in (expected, actual):
        folder.mkdir()
        (folder / "same.png").write_bytes(b"\x89PNG same")
    (expected / "changed.png").write_bytes(b"\x89PNG one")
    (actual / "changed.png").write_bytes(b"\x89PNG two")
    (expected / "gone.png").write_bytes(b"\x89PNG")
    assert compare_files_bytes(expected, actual, "*.png") == ["gone.png: missing in " + str(actual),
                                                              "changed.png: bytes differ"]


def test_cli_exit_codes(folders, capsys):
    expected, actual = folders
    assert main([str(expected), str(actual)]) == 0
    assert "2 tables match within rtol=0.0001, atol=1e-09" in capsys.readouterr().out
    _edit(actual, 0, "gap", 2)
    assert main([str(expected), str(actual)]) == 1
    assert "column gap" in capsys.readouterr().out
    # a tolerance wide enough to accept a float change is honoured
    _edit(actual, 0, "gap", 1)
    _edit(actual, 0, "train_loss", 0.0048)
    assert main([str(expected), str(actual)]) == 1
    assert main([str(expected), str(actual), "--rtol", "0.1"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([str(expected), str(actual), "--atol", "-1"])
    assert "--atol must be >= 0" in capsys.readouterr().err
