# Fig. 11 (ours: the paper has none) and the negative-fraction study: exact spectra at
# log-spaced checkpoints of runs that trained already (training saves those checkpoints,
# along_training.checkpoints_per_decade, so adding points retrains nothing).


ALONG_SETTINGS = config["along_training"]
FIG11_RUNS = ALONG_SETTINGS["fig11"]["runs"]
NEGATIVE_RUNS = ALONG_SETTINGS["negative_fraction"]["runs"]
ALONG_OUTPUTS = [
    *figure("fig11_spectrum_along_training"),
    *table("along_training", ".csv", ".md"),
    *figure("fig_negative_fraction_along_training"),
    *table("negative_fraction", ".csv", ".md"),
]
# the paper's fraction of negative eigenvalues at the end of training (section 3.3: about 1%)
PAPER_NEGATIVE_FRACTION = 0.01


rule along_training:
    input:
        data=lambda w: data_path(w.family, w.run),
        final=f"{run_dir('{family}', '{run}')}/final.pt",
    output:
        f"{run_dir('{family}', '{run}')}/along_training.npz",
    log:
        f"{LOGS}/along_training/{{family}}_{{run}}.log",
    benchmark:
        f"{LOGS}/along_training/{{family}}_{{run}}.benchmark.tsv"
    priority: 10  # a minute or more each: started as soon as their run is trained
    conda:
        ENVIRONMENT
    threads: THREADS["along_training"]
    resources:
        **EXECUTION,
        mem_mb=lambda w: spectrum_memory_mb(
            {**RUNS[w.family][w.run]["spectrum"], "method": "exact", "decompose": ALONG[w.run]["split"]}
        ),
        runtime=120,
        gpu=GPUS,
    params:
        run=lambda w: w.run,
        model=lambda w: RUNS[w.family][w.run]["model"],
        along=lambda w: {key: ALONG[w.run][key] for key in ("points", "split")},
        run_dir=lambda w: run_dir(w.family, w.run),
        threads=THREADS["along_training"],
    script:
        "../scripts/along_training.py"


use rule fig1_full_spectrum as fig11_spectrum_along_training with:
    input:
        [along_path(r) for r in FIG11_RUNS],
    output:
        figure("fig11_spectrum_along_training"),
    log:
        f"{LOGS}/fig11_spectrum_along_training.log",
    params:
        plot="spectrum_along_training",
        labels=[run_title(r) for r in FIG11_RUNS],
        outliers=[RUNS["clusters"][r]["outliers"] for r in FIG11_RUNS],
        title=f"Fig. 11 (ours): the Hessian along training [{PROFILE}]",
        dpi=DPI,


use rule fig1_full_spectrum as fig_negative_fraction_along_training with:
    input:
        [along_path(r) for r in NEGATIVE_RUNS],
    output:
        figure("fig_negative_fraction_along_training"),
    log:
        f"{LOGS}/fig_negative_fraction_along_training.log",
    params:
        plot="negative_fraction_along_training",
        labels=NEGATIVE_RUNS,
        relative_tolerances=ALONG_SETTINGS["negative_fraction"]["relative_tolerances"],
        reference=PAPER_NEGATIVE_FRACTION,
        title=f"Negative eigenvalues of H along training and by numerical-zero rule [{PROFILE}]",
        dpi=DPI,


rule along_training_table:
    input:
        [along_path(r) for r in FIG11_RUNS],
    output:
        table("along_training", ".csv", ".md"),
    log:
        f"{LOGS}/along_training_table.log",
    conda:
        ENVIRONMENT
    params:
        table="along_training",
        outliers=[RUNS["clusters"][r]["outliers"] for r in FIG11_RUNS],
        caption=(
            f"Fig. 11's numbers [{PROFILE}]: the Hessian at log-spaced checkpoints; counts by the four methods "
            "(cutoff at the run's threshold), residual_ratio = max |eig R| / max eig H, negative_fraction below round-off."
        ),
    script:
        "../scripts/along_table.py"


# its own rule, not `use rule ... with`: that would add this rule's params to the table's
rule negative_fraction_table:
    input:
        [along_path(r) for r in NEGATIVE_RUNS],
    output:
        table("negative_fraction", ".csv", ".md"),
    log:
        f"{LOGS}/negative_fraction_table.log",
    conda:
        ENVIRONMENT
    params:
        table="negative_fraction",
        caption=(
            f"Fraction of negative eigenvalues of H [{PROFILE}], Families B and C, along training: roundoff counts "
            "eigenvalues below -M eps max|lambda| (Fig. 5, 6, 8), rel_t those below -t max|lambda|; the paper reports about 1%."
        ),
        relative_tolerances=ALONG_SETTINGS["negative_fraction"]["relative_tolerances"],
    script:
        "../scripts/along_table.py"
