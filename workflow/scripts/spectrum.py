"""Snakemake step: Hessian eigenvalues of one run at one checkpoint (any family).

The execution settings come from the rule's resources: they never change the result."""
from hessian_spectra.jobs import job
from hessian_spectra.runs import spectrum
from hessian_spectra.seeding import configure_torch

resources = snakemake.resources
with job(snakemake):
    configure_torch(snakemake.threads)
    spectrum(snakemake.params.run, snakemake.params.model, snakemake.params.spectrum,
             snakemake.input.data, snakemake.input.checkpoint, snakemake.output[0],
             execution={"device": resources.device, "engine": resources.hessian_engine,
                        "batch_size": resources.hessian_batch_size, "chunk_size": resources.hessian_chunk_size,
                        "memory_budget_gb": resources.mem_mb / 1024})
