"""Snakemake step: exact Hessian spectra of one run at log-spaced checkpoints (Fig. 11 and
the negative-fraction study). Execution settings come from the rule's resources."""
from hessian_spectra.base.seeding import configure_torch
from hessian_spectra.experiments.along_training import spectra_along_training
from hessian_spectra.pipeline.jobs import execution_settings, job

with job(snakemake):
    configure_torch(snakemake.params.threads)
    params = snakemake.params
    spectra_along_training(params.run, params.model, params.along, snakemake.input.data,
                           params.run_dir, snakemake.output[0], execution=execution_settings(snakemake))
