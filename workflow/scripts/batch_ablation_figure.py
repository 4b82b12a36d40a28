"""Snakemake step: the batch ablation's figure (PDF and PNG) from its cells' edge files."""
from hessian_spectra.outputs.batch_ablation import ablation_figure
from hessian_spectra.outputs.plots import save_figure
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    params = snakemake.params
    save_figure(ablation_figure(list(snakemake.input), outliers=params.outliers, title=params.title),
                snakemake.output[0], params.dpi)
