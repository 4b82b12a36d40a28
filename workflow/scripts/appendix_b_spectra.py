"""Snakemake step: the spectra of Appendix B's figure (G of a linear softmax model)."""
from hessian_spectra.base.seeding import configure_torch
from hessian_spectra.experiments.appendix_b import appendix_b_spectra
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    configure_torch(snakemake.params.threads)
    appendix_b_spectra(snakemake.params.settings, snakemake.output[0])
