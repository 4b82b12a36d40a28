# The paper's claims beside our results: every claim of config/claims.yaml, its measured
# quantity (from the tables above and Fig. 1's spectra) and the verdict its thresholds give.


CLAIMS_OUTPUTS = table("claims", ".csv", ".md")


rule claims:
    input:
        claims="config/claims.yaml",
        table1=f"{TABLES}/table1.csv",
        width_scaling=f"{TABLES}/width_scaling.csv",
        batch_size=f"{TABLES}/batch_size.csv",
        batch_switch=f"{TABLES}/batch_switch.csv",
        fig1_init=spectrum_path("clusters", FIG1_RUN, "init"),
        fig1_final=spectrum_path("clusters", FIG1_RUN, "final"),
    output:
        CLAIMS_OUTPUTS,
    log:
        f"{LOGS}/claims.log",
    conda:
        ENVIRONMENT
    params:
        caption=(
            f"The paper's claims [{PROFILE}]: the quantity that tests each, computed from this profile's tables and "
            "Fig. 1's spectra, "
            "and the verdict its thresholds give (config/claims.yaml says why each threshold)."
        ),
    script:
        "../scripts/claims.py"
