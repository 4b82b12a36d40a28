# Appendix B (figB, ours: the paper has the argument, not a figure): the Gauss-Newton part
# of a linear softmax model on Gaussian inputs against the Marchenko-Pastur law, and the
# outlier that two separated clusters put above its edge (the BBP transition).


APPENDIX_OUTPUTS = figure("figB_marchenko_pastur")


rule appendix_b_spectra:
    output:
        f"{RESULTS}/appendix_b/spectra.npz",
    log:
        f"{LOGS}/appendix_b_spectra.log",
    conda:
        ENVIRONMENT
    threads: THREADS["spectrum"]
    params:
        settings=appendix_b_settings(config),
        threads=THREADS["spectrum"],
    script:
        "../scripts/appendix_b_spectra.py"


use rule fig1_full_spectrum as figB_marchenko_pastur with:
    input:
        rules.appendix_b_spectra.output,
    output:
        APPENDIX_OUTPUTS,
    log:
        f"{LOGS}/figB_marchenko_pastur.log",
    params:
        plot="marchenko_pastur",
        title=(
            f"Appendix B: G of a linear softmax model, d = {config['appendix_b']['n_features']}, "
            f"{config['appendix_b']['n_classes']} classes [{PROFILE}]"
        ),
        dpi=DPI,
