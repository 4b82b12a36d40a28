"""Snakemake step: largest eigenvalues by rank, one curve per run (Fig. 4, Fig. 7)."""
from hessian_spectra.images_report import top_figure
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    top_figure(list(snakemake.input), snakemake.params.labels, snakemake.output[0],
               top=snakemake.params.top, title=snakemake.params.title, dpi=snakemake.params.dpi)
