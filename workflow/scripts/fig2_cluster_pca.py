"""Snakemake step: fig2_cluster_pca."""
from hessian_spectra.clusters_report import fig2
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    fig2(snakemake.input[0], snakemake.output[0], title=snakemake.params.title,
         top=snakemake.params.top, dpi=snakemake.params.dpi)
