"""Snakemake step: the width-scaling or batch-size table (CSV, Markdown)."""
from hessian_spectra.images_report import write_run_table
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    write_run_table(snakemake.input.spectra, snakemake.input.metrics, snakemake.output[0],
                    snakemake.params.caption)
