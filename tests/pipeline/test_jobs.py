"""The job wrapper (``jobs``): stderr and logging go to the job's log, failures are logged."""

from __future__ import annotations

import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest

from hessian_spectra.pipeline.jobs import job


def test_job_logs_to_its_file_restores_stderr_and_records_a_failure(tmp_path):
    snakemake = SimpleNamespace(log=[str(tmp_path / "job.log")])
    stderr = sys.stderr
    with pytest.raises(ZeroDivisionError):
        with job(snakemake):
            print("to the log", file=sys.stderr)
            logging.getLogger("step").info("working")
            1 / 0
    assert sys.stderr is stderr
    text = (tmp_path / "job.log").read_text()
    assert "to the log" in text and "step INFO: working" in text
    assert "job failed" in text and "ZeroDivisionError" in text


def test_job_module_does_not_import_torch():
    """Plot, table and counting jobs start without paying for torch."""
    code = "import sys, hessian_spectra.pipeline.jobs, hessian_spectra.spectra.counts, hessian_spectra.config.schema; " \
           "print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
