"""Reading a config profile file, with errors that name the file and the line.

Snakemake reads ``--configfile`` itself and, for a YAML syntax error, says only that the
file "is not valid JSON or YAML". ``read_config_file`` says where: the file, the line and
the column, and what the parser expected. The Makefile runs
``python -m hessian_spectra.config.file FILE`` (syntax and schema) before Snakemake, so
``make reproduce`` with a broken profile stops with that message before any job.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


class ConfigFileError(ValueError):
    """A config file that cannot be read as a YAML mapping; the message names file and line."""


def read_config_file(path: str | Path) -> dict:
    """The mapping in the YAML file ``path`` (not yet validated: ``config.validate_config``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"config file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as error:
        def at(mark) -> str:
            return f"line {mark.line + 1}, column {mark.column + 1}"

        where = at(error.problem_mark) if error.problem_mark else "unknown position"
        what = error.problem or ""
        if error.context:  # what the parser was inside, and where that began
            what += f" ({error.context}" + (f" at {at(error.context_mark)})" if error.context_mark else ")")
        raise ConfigFileError(f"config file {path}, {where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as error:
        raise ConfigFileError(f"config file {path}: YAML syntax error: {error}") from None
    if not isinstance(content, dict):
        raise ConfigFileError(f"config file {path}: the top level must be a mapping of sections, "
                              f"got {type(content).__name__}")
    return content


def main(argv: list[str] | None = None) -> int:
    """Check config files (syntax, schema, cross-field rules); print one line each."""
    from .schema import validate_config
    from .specs import ConfigError

    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m hessian_spectra.config.file CONFIG.yaml [...]", file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        try:
            validate_config(read_config_file(path))
        except (ConfigFileError, ConfigError) as error:
            print(error if isinstance(error, ConfigFileError) else f"config file {path}: {error}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
