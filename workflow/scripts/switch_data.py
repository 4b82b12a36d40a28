"""Snakemake step: Family D's data set (CIFAR10 or digits, standardised per channel)."""
from hessian_spectra.data.switch import make_switch_data
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    make_switch_data(snakemake.params.data, snakemake.output[0])
