"""Snakemake step: the Family B/C data set (stratified training subset, indices saved)."""
from hessian_spectra.images import make_data
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    make_data(snakemake.params.data, snakemake.output[0])
