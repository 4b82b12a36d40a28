"""Snakemake step: negative eigenvalues by count or by fraction of M (Fig. 5, 6, 8)."""
from hessian_spectra.images_report import negative_figure
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    negative_figure(list(snakemake.input), snakemake.params.labels, snakemake.output[0],
                    by=snakemake.params.by, title=snakemake.params.title, dpi=snakemake.params.dpi)
