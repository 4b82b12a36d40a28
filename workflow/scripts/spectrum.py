"""Snakemake step: Hessian eigenvalues of one run at one checkpoint (any family)."""
from hessian_spectra.jobs import job
from hessian_spectra.runs import spectrum

with job(snakemake, snakemake.config["seed"]):
    spectrum(data_path=snakemake.input.data, checkpoint=snakemake.input.checkpoint,
             out=snakemake.output[0], **dict(snakemake.params.items()))
