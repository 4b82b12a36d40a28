"""Snakemake step: the batch ablation's figure (PDF and PNG) from its cells' edge files."""
from hessian_spectra.batch_ablation_outputs import ablation_figure
from hessian_spectra.jobs import job
from hessian_spectra.plots import save_figure

with job(snakemake):
    params = snakemake.params
    save_figure(ablation_figure(list(snakemake.input), outliers=params.outliers, title=params.title),
                snakemake.output[0], params.dpi)
