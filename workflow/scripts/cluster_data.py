"""Snakemake step: make one cluster data set."""
from hessian_spectra.clusters import make_data
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    make_data(snakemake.params.data, snakemake.output[0])
