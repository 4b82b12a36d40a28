"""Snakemake step: the batch-switch table (CSV and Markdown) from both parts' metrics and
the interpolation."""
from hessian_spectra.outputs.tables import write_batch_switch
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    write_batch_switch(list(snakemake.input.metrics), snakemake.input.interpolation,
                       snakemake.output[0].removesuffix(".csv"), snakemake.params.caption)
