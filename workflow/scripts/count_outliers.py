"""Snakemake step: the four outlier counts of one spectrum (no torch: a cheap job)."""
from hessian_spectra.jobs import job
from hessian_spectra.spectrum import count_spectrum_file

with job(snakemake):
    count_spectrum_file(snakemake.input[0], snakemake.output[0], **snakemake.params.outliers)
