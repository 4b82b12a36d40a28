# Steps every family shares: train one run, then the Hessian spectrum at a checkpoint.


wildcard_constraints:
    family=r"clusters|images",
    run=r"[a-z0-9_]+",
    stage=r"init|final",
    k=r"\d+",
    cov=r"[0-9.]+",


rule train:
    input:
        data=run_data,
    output:
        init=f"{RESULTS}/{{family}}/{{run}}/init.pt",
        final=f"{RESULTS}/{{family}}/{{run}}/final.pt",
        metrics=f"{RESULTS}/{{family}}/{{run}}/metrics.csv",
    params:
        run=lambda w: {key: run_spec(w)[key] for key in ("run", "data", "model", "train")},
        device=config["device"],
    threads: 1
    log:
        f"{LOGS}/train/{{family}}_{{run}}.log",
    benchmark:
        f"{LOGS}/train/{{family}}_{{run}}.benchmark.tsv"
    resources:
        mem_mb=2000,
        runtime=120,
        gpu=GPUS,
    conda:
        ENVIRONMENT
    script:
        "../scripts/train_run.py"


rule spectrum:
    input:
        data=run_data,
        checkpoint=f"{RESULTS}/{{family}}/{{run}}/{{stage}}.pt",
    output:
        f"{RESULTS}/{{family}}/{{run}}/spectrum_{{stage}}.npz",
    params:
        run=run_spec,
        hessian=hessian_settings(config),
        # Family A: every eigenvalue (Fig. 1), and H = G + R for the Fig. 1 run
        decompose=lambda w: w.family == "clusters" and w.run == FIG1_RUN,
        method=lambda w: "exact" if w.family == "clusters" else config["spectrum"]["method"],
        edge=lambda w: None if w.family == "clusters" else spectrum_edge(config),
        device=config["device"],
    threads: config["threads"]
    log:
        f"{LOGS}/spectrum/{{family}}_{{run}}_{{stage}}.log",
    benchmark:
        f"{LOGS}/spectrum/{{family}}_{{run}}_{{stage}}.benchmark.tsv"
    resources:
        mem_mb=lambda w: 1000 + int(config["hessian"]["memory_budget_gb"] * 1024),
        runtime=60,
        gpu=GPUS,
    conda:
        ENVIRONMENT
    script:
        "../scripts/spectrum.py"
