"""Snakemake step: train one Family A run (resumes from its checkpoints)."""
from pathlib import Path

from hessian_spectra.clusters import train_run
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    train_run(snakemake.params.run, snakemake.input.data, Path(snakemake.output.final).parent,
              device=snakemake.params.device)
