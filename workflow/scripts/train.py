"""Snakemake step: train one run (any family; Family D's Part II from its ``start`` input);
resumes from its checkpoints."""
from pathlib import Path

from hessian_spectra.base.seeding import configure_torch
from hessian_spectra.pipeline.jobs import job
from hessian_spectra.pipeline.runs import train_run

with job(snakemake):
    configure_torch(snakemake.params.threads)
    train_run(snakemake.params.run, snakemake.input.data, Path(snakemake.output.final).parent,
              device=snakemake.resources.device,
              family=snakemake.params.get("family") or snakemake.wildcards.family,
              start=snakemake.input.get("start") or None)
