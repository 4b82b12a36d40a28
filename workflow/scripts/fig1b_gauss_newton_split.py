"""Snakemake step: fig1b_gauss_newton_split."""
from hessian_spectra.clusters_report import fig1b
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    fig1b(snakemake.input.init, snakemake.input.final, snakemake.output[0],
       title=snakemake.params.title, dpi=snakemake.params.dpi)
