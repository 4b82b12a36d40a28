"""Snakemake step: the claims table (verdicts computed from the tables and Fig. 1's spectra, config/claims.yaml)."""
from hessian_spectra.outputs.claims import write_claims
from hessian_spectra.pipeline.jobs import job

with job(snakemake):
    inputs = {name: path for name, path in snakemake.input.items() if name not in ("claims", "tolerances")}
    tolerances = list(snakemake.input.tolerances)  # the profile's measured tolerances: one file or none
    write_claims(snakemake.input.claims, inputs, snakemake.output[0].removesuffix(".csv"), snakemake.params.caption,
                 tolerances[0] if tolerances else None)
