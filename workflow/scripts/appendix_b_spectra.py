"""Snakemake step: the spectra of Appendix B's figure (G of a linear softmax model)."""
from hessian_spectra.appendix_b import appendix_b_spectra
from hessian_spectra.jobs import job
from hessian_spectra.seeding import configure_torch

with job(snakemake):
    configure_torch(snakemake.params.threads)
    appendix_b_spectra(snakemake.params.settings, snakemake.output[0])
