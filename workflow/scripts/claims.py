"""Snakemake step: the claims table (verdicts computed from the tables, config/claims.yaml)."""
from hessian_spectra.claims import write_claims
from hessian_spectra.jobs import job

with job(snakemake):
    inputs = {name: snakemake.input[name] for name in ("table1", "width_scaling", "batch_size", "batch_switch")}
    write_claims(snakemake.input.claims, inputs, snakemake.output[0].removesuffix(".csv"), snakemake.params.caption)
