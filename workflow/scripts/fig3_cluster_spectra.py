"""Snakemake step: fig3_cluster_spectra."""
from hessian_spectra.clusters_report import fig3
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    fig3(snakemake.input.spectra, snakemake.output[0], title=snakemake.params.title,
         top=snakemake.params.top, dpi=snakemake.params.dpi)
