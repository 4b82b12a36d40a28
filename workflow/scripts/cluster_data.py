"""Snakemake step: one Gaussian-cluster data set."""
from hessian_spectra.data.clusters import make_cluster_data
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    make_cluster_data(snakemake.params.data, snakemake.output[0])
