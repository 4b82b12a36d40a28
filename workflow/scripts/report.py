"""Snakemake step: the replication report (paper/report.py executed, rendered to HTML)."""
from hessian_spectra.outputs.report import render_report
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    params = snakemake.params
    render_report(snakemake.input.notebook,
                  {"PROFILE": params.profile, "CONFIG_FILES": params.config_files, "CHOICES": params.choices,
                   "STAND_INS": params.stand_ins, "BUILT": params.built},
                  snakemake.output[0])
