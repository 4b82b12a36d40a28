"""Snakemake step: a table from along-training files (``params.table`` names its kind:
along_training or negative_fraction)."""
from hessian_spectra.jobs import job
from hessian_spectra.tables import ALONG_WRITERS

with job(snakemake):
    options = dict(snakemake.params.items())
    ALONG_WRITERS[options.pop("table")](list(snakemake.input), snakemake.output[0].removesuffix(".csv"), **options)
