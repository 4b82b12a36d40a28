"""Snakemake step: the batch-switch table (CSV and Markdown) from both parts' metrics and
the interpolation."""
from hessian_spectra.jobs import job
from hessian_spectra.tables import write_batch_switch

with job(snakemake):
    write_batch_switch(list(snakemake.input.metrics), snakemake.input.interpolation,
                       snakemake.output[0].removesuffix(".csv"), snakemake.params.caption)
