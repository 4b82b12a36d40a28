# Steps every family shares: train one run, the Hessian spectrum at a checkpoint, and the
# outlier counts of the final spectrum. Each step's params are the run sections it depends
# on, so a change reruns exactly what it affects: a step size retrains, a spectrum method
# recomputes the spectra, an outlier threshold only recounts.


wildcard_constraints:
    family="|".join(FAMILIES),
    run=r"[a-z0-9_]+",
    stage=r"init|final",
    k=r"\d+",
    n=r"\d+",
    cov=r"[0-9.]+",


rule train:
    input:
        data=lambda w: data_path(w.family, w.run),
    output:
        init=f"{run_dir('{family}', '{run}')}/init.pt",
        final=f"{run_dir('{family}', '{run}')}/final.pt",
        metrics=metrics_path("{family}", "{run}"),
    log:
        f"{LOGS}/train/{{family}}_{{run}}.log",
    benchmark:
        f"{LOGS}/train/{{family}}_{{run}}.benchmark.tsv"
    conda:
        ENVIRONMENT
    threads: THREADS["train"]
    resources:
        mem_mb=2000,
        runtime=120,
        gpu=GPUS,
        device=EXECUTION["device"],
    params:
        run=lambda w: {key: RUNS[w.family][w.run][key] for key in ("run", "data", "model", "train")},
        threads=THREADS["train"],
    script:
        "../scripts/train.py"


rule spectrum:
    input:
        data=lambda w: data_path(w.family, w.run),
        checkpoint=f"{run_dir('{family}', '{run}')}/{{stage}}.pt",
    output:
        spectrum_path("{family}", "{run}", "{stage}"),
    log:
        f"{LOGS}/spectrum/{{family}}_{{run}}_{{stage}}.log",
    benchmark:
        f"{LOGS}/spectrum/{{family}}_{{run}}_{{stage}}.benchmark.tsv"
    conda:
        ENVIRONMENT
    threads: THREADS["spectrum"]
    resources:
        **EXECUTION,
        mem_mb=lambda w: spectrum_memory_mb(RUNS[w.family][w.run]["spectrum"]),
        runtime=lambda w: spectrum_runtime_min(RUNS[w.family][w.run]["spectrum"]),
        gpu=GPUS,
    params:
        run=lambda w: w.run,
        model=lambda w: RUNS[w.family][w.run]["model"],
        spectrum=lambda w: RUNS[w.family][w.run]["spectrum"],
        threads=THREADS["spectrum"],
    script:
        "../scripts/spectrum.py"


rule count_outliers:
    input:
        spectrum_path("{family}", "{run}"),
    output:
        counts_path("{family}", "{run}"),
    log:
        f"{LOGS}/count_outliers/{{family}}_{{run}}.log",
    conda:
        ENVIRONMENT
    params:
        outliers=lambda w: RUNS[w.family][w.run]["outliers"],
    script:
        "../scripts/count_outliers.py"
