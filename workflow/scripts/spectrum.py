"""Snakemake step: Hessian eigenvalues of one run at one checkpoint (any family).

The execution settings come from the rule's resources: they never change the result."""
from hessian_spectra.base.seeding import configure_torch
from hessian_spectra.pipeline.jobs import execution_settings, job
from hessian_spectra.pipeline.runs import spectrum

with job(snakemake):
    configure_torch(snakemake.params.threads)
    spectrum(snakemake.params.run, snakemake.params.model, snakemake.params.spectrum,
             snakemake.input.data, snakemake.input.checkpoint, snakemake.output[0],
             execution=execution_settings(snakemake))
