"""What every workflow job does first: log to its log file, seed, set the thread count."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager

import torch

from .seeding import seed_everything


@contextmanager
def job(snakemake, seed: int):
    """Run a Snakemake ``script:`` body with stderr and logging sent to ``snakemake.log[0]``,
    torch limited to the rule's threads, and every library seeded with ``seed``."""
    with open(snakemake.log[0], "w", buffering=1) as log_file:
        previous = sys.stderr
        sys.stderr = log_file
        logging.basicConfig(stream=log_file, level=logging.INFO, force=True,
                            format="%(asctime)s %(name)s %(levelname)s: %(message)s")
        try:
            torch.set_num_threads(snakemake.threads)
            seed_everything(seed)
            yield
        except Exception:
            logging.getLogger(__name__).exception("job failed")
            raise
        finally:
            sys.stderr = previous
