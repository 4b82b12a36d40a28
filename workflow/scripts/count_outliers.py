"""Snakemake step: the four outlier counts of one spectrum (no torch: a cheap job)."""
from hessian_spectra.pipeline.jobs import job
from hessian_spectra.spectra.counts import count_spectrum_file

with job(snakemake):
    count_spectrum_file(snakemake.input[0], snakemake.output[0], **snakemake.params.outliers)
