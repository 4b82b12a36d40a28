"""Snakemake step: Hessian eigenvalues (and the G/R split when asked) at one checkpoint."""
from hessian_spectra.clusters import spectrum
from hessian_spectra.jobs import job

with job(snakemake, snakemake.config["seed"]):
    spectrum(snakemake.params.run, snakemake.input.data, snakemake.input.checkpoint, snakemake.output[0],
             hessian=snakemake.params.hessian, decompose=snakemake.params.decompose,
             device=snakemake.params.device)
