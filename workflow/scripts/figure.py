"""Snakemake step: one figure (PDF and PNG) from cached results; ``params.plot`` names its kind."""
from hessian_spectra.outputs.figures import draw
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    options = dict(snakemake.params.items())
    draw(options.pop("plot"), list(snakemake.input), snakemake.output[0], **options)
