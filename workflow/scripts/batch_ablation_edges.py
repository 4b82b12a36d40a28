"""Snakemake step: the Lanczos edges of H at log-spaced checkpoints of one batch-ablation
run. Execution settings come from the rule's resources."""
from hessian_spectra.base.seeding import configure_torch
from hessian_spectra.experiments.batch_ablation import edges_along_training
from hessian_spectra.pipeline.jobs import execution_settings, job

with job(snakemake):
    configure_torch(snakemake.params.threads)
    params = snakemake.params
    edges_along_training(params.cell, params.model, params.edges, snakemake.input.data, params.run_dir,
                         snakemake.output[0], execution=execution_settings(snakemake))
