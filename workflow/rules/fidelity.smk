# The fidelity ablation: Family A's settings the paper leaves open (stopping tolerance,
# initialisation, training size), varied over the runs of some Table 1 groups. A cell
# whose setting defines a Table 1 run reads that run's results; the others are runs of
# the `fidelity` family, trained and counted by the shared rules (runs.smk).


FIDELITY_CELLS = fidelity_cells(config)
FIDELITY_OUTPUTS = table("fidelity_ablation", ".csv", ".md")


rule fidelity_ablation:
    input:
        spectra=[spectrum_path(c["family"], c["run"]) for c in FIDELITY_CELLS],
        counts=[counts_path(c["family"], c["run"]) for c in FIDELITY_CELLS],
        metrics=[metrics_path(c["family"], c["run"]) for c in FIDELITY_CELLS],
    output:
        FIDELITY_OUTPUTS,
    log:
        f"{LOGS}/fidelity_ablation.log",
    conda:
        ENVIRONMENT
    params:
        table="fidelity_ablation",
        runs=[cell_params(c) for c in FIDELITY_CELLS],
        caption=(
            f"Fidelity ablation [{PROFILE}]: Family A runs under each setting the paper leaves open; "
            "mean eigenvalue of H at the end of training beside the paper's (Table 1). Measure: the median "
            "over a setting's runs of |log10(ours / paper)|; cutoff counts at the run's threshold (the paper's)."
        ),
    script:
        "../scripts/table.py"
