"""The progress display (``progress``): periodic lines in a log, never on stdout."""

from __future__ import annotations

import io

from hessian_spectra.base import progress as progress_module


def test_progress_writes_rate_and_eta_to_stderr_at_most_every_two_seconds_in_a_log(monkeypatch):
    log = io.StringIO()  # not a terminal, as in a Snakemake job's log
    monkeypatch.setattr(progress_module.sys, "stderr", log)
    bar = progress_module.progress(total=10, desc="steps")
    assert bar.mininterval == 2.0
    bar.update(10)
    bar.close()
    assert "steps: 100%" in log.getvalue() and "10/10" in log.getvalue()
