"""What every workflow job does first: send its stderr and logging to its log file.

Torch is not imported here: plotting, table and counting jobs never need it. Jobs that
run torch call ``seeding.configure_torch`` with the profile's ``threads`` for their kind
(a param, not Snakemake's count of reserved cores, which ``--cores`` may lower)."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager


@contextmanager
def job(snakemake):
    """Run a Snakemake ``script:`` body with stderr and logging sent to ``snakemake.log[0]``;
    an exception is logged there (with its traceback) and raised again."""
    with open(snakemake.log[0], "w", buffering=1) as log_file:
        previous = sys.stderr
        sys.stderr = log_file
        logging.basicConfig(stream=log_file, level=logging.INFO, force=True,
                            format="%(asctime)s %(name)s %(levelname)s: %(message)s")
        try:
            yield
        except Exception:
            logging.getLogger(__name__).exception("job failed")
            raise
        finally:
            sys.stderr = previous


def execution_settings(snakemake) -> dict:
    """How a Hessian job executes, from the rule's resources (so that changing them reruns
    nothing): device, engine, batch_size, chunk_size and memory_budget_gb (from mem_mb)."""
    resources = snakemake.resources
    return {"device": resources.device, "engine": resources.hessian_engine,
            "batch_size": resources.hessian_batch_size, "chunk_size": resources.hessian_chunk_size,
            "memory_budget_gb": resources.mem_mb / 1024}
