"""Snakemake step: the batch ablation's table (CSV and Markdown) from its cells' edge files."""
from hessian_spectra.outputs.batch_ablation import write_ablation_table
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    write_ablation_table(list(snakemake.input), snakemake.output[0].removesuffix(".csv"),
                         snakemake.params.caption, snakemake.params.outliers)
