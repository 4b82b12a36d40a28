"""Snakemake step: the Family B/C image data set (stratified training subset, indices saved)."""
from hessian_spectra.data.images import make_image_data
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    make_image_data(snakemake.params.data, snakemake.output[0])
