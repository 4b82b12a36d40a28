# The paper's claims beside our results: every claim of config/claims.yaml, its measured
# quantity (from the tables above and Fig. 1's spectra) and the verdict its thresholds give.


CLAIMS_OUTPUTS = table("claims", ".csv", ".md")
# the measured spread of each claim's value between machines (hessian_spectra.outputs.tolerance),
# where this profile has one: a verdict it could reverse is printed as borderline
TOLERANCES = f"config/tolerances/{PROFILE}.csv"
# input name -> (path, the family that builds it); a family left out of config `families`
# leaves its claims "not measured"
_CLAIM_SOURCES = {
    "table1": (f"{TABLES}/table1.csv", "clusters"),
    "width_scaling": (f"{TABLES}/width_scaling.csv", "width"),
    "batch_size": (f"{TABLES}/batch_size.csv", "batch"),
    "batch_switch": (f"{TABLES}/batch_switch.csv", "switch"),
    "fig1_init": (spectrum_path("clusters", FIG1_RUN, "init"), "clusters"),
    "fig1_final": (spectrum_path("clusters", FIG1_RUN, "final"), "clusters"),
}
CLAIM_INPUTS = {name: path for name, (path, family) in _CLAIM_SOURCES.items() if family in BUILT_FAMILIES}


rule claims:
    input:
        # the tables and spectra the claims read, of the families this build covers
        **CLAIM_INPUTS,
        claims="config/claims.yaml",
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
