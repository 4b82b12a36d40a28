"""Reading a profile file: a YAML syntax error names the file, the line and the column."""

from __future__ import annotations

import pytest

from cases import ROOT
from hessian_spectra.config.file import ConfigFileError, main, read_config_file
from hessian_spectra.config.schema import load_config


def _broken_copy(tmp_path, old: str, new: str):
    text = (ROOT / "config" / "ci.yaml").read_text()
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    line = text.splitlines().index(next(l for l in text.splitlines() if old in l)) + 1
    return path, line


def test_unclosed_list_names_the_file_and_the_line_where_it_began(tmp_path):
    path, line = _broken_copy(tmp_path, "  n_train: 200", "  n_train: [200")
    with pytest.raises(ConfigFileError) as error:
        read_config_file(path)
    message = str(error.value)
    assert str(path) in message and "YAML syntax error" in message
    assert f"while parsing a flow sequence at line {line}, column 12" in message
    assert f"line {line + 1}, column" in message  # where the parser gave up


def test_a_tab_in_the_indentation_is_named_with_its_line(tmp_path):
    path, line = _broken_copy(tmp_path, "  n_train: 200", "\tn_train: 200")
    with pytest.raises(ConfigFileError, match=rf"line {line}, column 1: .*'\\t'"):
        load_config(path)  # the package's loader goes through the same reader


def test_a_file_that_is_not_a_mapping_or_not_there(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigFileError, match="top level must be a mapping"):
        read_config_file(listing)
    with pytest.raises(ConfigFileError, match="does not exist"):
        read_config_file(tmp_path / "absent.yaml")


def test_command_line_checks_syntax_and_schema(tmp_path, capsys):
    assert main([str(ROOT / "config" / "ci.yaml")]) == 0
    assert capsys.readouterr().err == ""
    syntax, _ = _broken_copy(tmp_path, "  n_train: 200", "  n_train: [200")
    schema = tmp_path / "schema.yaml"
    schema.write_text((ROOT / "config" / "ci.yaml").read_text().replace("device: auto", "device: tpu", 1))
    assert main([str(syntax), str(schema)]) == 1
    err = capsys.readouterr().err
    assert f"config file {syntax}, line" in err
    assert f"config file {schema}: " in err and "'device'" in err and "cpu" in err
