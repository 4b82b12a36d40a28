"""Snakemake step: PCA explained variance of the cluster data per k."""
from hessian_spectra.data.clusters import pca_explained_variance
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    pca_explained_variance(dict(zip(snakemake.params.k, snakemake.input.data)), snakemake.output[0])
