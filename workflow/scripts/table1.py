"""Snakemake step: Table 1 (CSV, Markdown, LaTeX)."""
from hessian_spectra.clusters_report import write_table1
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    write_table1(snakemake.input.spectra, snakemake.input.metrics, snakemake.output[0].removesuffix(".csv"),
                 snakemake.params.caption)
