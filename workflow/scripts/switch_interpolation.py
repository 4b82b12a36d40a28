"""Snakemake step: loss and accuracy along the straight line between Part I's and Part II's
end points (Fig. 10)."""
from hessian_spectra.base.seeding import configure_torch
from hessian_spectra.config.specs import interpolation_grid
from hessian_spectra.experiments.switch import interpolate
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    configure_torch(snakemake.params.threads)
    grid = interpolation_grid(**snakemake.params.interpolation)
    interpolate(snakemake.params.model, snakemake.input.data, snakemake.input.start, snakemake.input.end, grid,
                snakemake.output[0], eval_batch_size=snakemake.params.eval_batch_size,
                device=snakemake.resources.device)
