"""Snakemake step: one table (CSV and Markdown, LaTeX for Table 1) from the runs' cached
results; ``params.table`` names its kind."""
from hessian_spectra.outputs.tables import load_results, write
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    results = load_results(snakemake.params.runs, snakemake.input.spectra, snakemake.input.counts,
                           snakemake.input.metrics)
    write(snakemake.params.table, results, snakemake.output[0].removesuffix(".csv"), snakemake.params.caption)
