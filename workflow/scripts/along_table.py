"""Snakemake step: a table from along-training files (``params.table`` names its kind:
along_training or negative_fraction)."""
from hessian_spectra.outputs.tables import ALONG_WRITERS
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    options = dict(snakemake.params.items())
    ALONG_WRITERS[options.pop("table")](list(snakemake.input), snakemake.output[0].removesuffix(".csv"), **options)
