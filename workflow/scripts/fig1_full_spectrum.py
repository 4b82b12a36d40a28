"""Snakemake step: fig1_full_spectrum."""
from hessian_spectra.clusters_report import fig1
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    fig1(snakemake.input.init, snakemake.input.final, snakemake.output[0],
       title=snakemake.params.title, dpi=snakemake.params.dpi)
