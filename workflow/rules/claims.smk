# The paper's claims beside our results: every claim of config/claims.yaml, its measured
# quantity (from the tables above and Fig. 1's spectra) and the verdict its thresholds give.


CLAIMS_OUTPUTS = table("claims", ".csv", ".md")
# the measured spread of each claim's value between machines (hessian_spectra.outputs.tolerance),
# where this profile has one: a verdict it could reverse is printed as borderline
TOLERANCES = f"config/tolerances/{PROFILE}.csv"


rule claims:
    input:
        claims="config/claims.yaml",
        table1=f"{TABLES}/table1.csv",
        width_scaling=f"{TABLES}/width_scaling.csv",
        batch_size=f"{TABLES}/batch_size.csv",
        batch_switch=f"{TABLES}/batch_switch.csv",
        fig1_init=spectrum_path("clusters", FIG1_RUN, "init"),
        fig1_final=spectrum_path("clusters", FIG1_RUN, "final"),
        tolerances=[TOLERANCES] if os.path.isfile(TOLERANCES) else [],
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
