# What sets Family C's scale (the paper gives neither its step size nor its number of
# steps): every batch size of Family C at each step size of batch_ablation.lrs, with the
# Lanczos edges of H at log-spaced checkpoints (saved by training, so nothing retrains).
# A cell at Family C's own step size reads Family C's run; the others are runs of the
# `batch_ablation` family, trained by the shared rules (runs.smk).


BATCH_ABLATION = config["batch_ablation"]
BATCH_ABLATION_CELLS = batch_ablation_cells(config)
BATCH_ABLATION_OUTPUTS = [
    *figure("fig_batch_ablation"),
    *table("batch_ablation", ".csv", ".md"),
]
ABLATION_OUTLIERS = {
    "window": config["spectrum"]["outlier_window"],
    "threshold": config["spectrum"]["threshold"],
}


ABLATION_EDGES = [ablation_edges_path(c["family"], c["run"]) for c in BATCH_ABLATION_CELLS]


rule batch_ablation_edges:
    input:
        data=lambda w: data_path(w.family, w.run),
        final=f"{run_dir('{family}', '{run}')}/final.pt",
    output:
        ablation_edges_path("{family}", "{run}"),
    log:
        f"{LOGS}/batch_ablation/{{family}}_{{run}}.log",
    benchmark:
        f"{LOGS}/batch_ablation/{{family}}_{{run}}.benchmark.tsv"
    priority: 10  # minutes each at the paper's size: started as soon as their run is trained
    conda:
        ENVIRONMENT
    threads: THREADS["along_training"]
    resources:
        **EXECUTION,
        mem_mb=2000,
        runtime=240,
        gpu=GPUS,
    params:
        cell=lambda w: next(
            {key: c[key] for key in ("run", "lr", "batch_size")}
            for c in BATCH_ABLATION_CELLS
            if (c["family"], c["run"]) == (w.family, w.run)
        ),
        model=lambda w: RUNS[w.family][w.run]["model"],
        edges={
            "points": BATCH_ABLATION["points"],
            "k": BATCH_ABLATION["k"],
            "tol": BATCH_ABLATION["lanczos_tol"],
            "max_products": BATCH_ABLATION["lanczos_max_products"],
            "seed": config["seed"],
        },
        run_dir=lambda w: run_dir(w.family, w.run),
        threads=THREADS["along_training"],
    script:
        "../scripts/batch_ablation_edges.py"


rule batch_ablation_table:
    input:
        ABLATION_EDGES,
    output:
        table("batch_ablation", ".csv", ".md"),
    log:
        f"{LOGS}/batch_ablation_table.log",
    conda:
        ENVIRONMENT
    params:
        outliers=ABLATION_OUTLIERS,
        caption=(
            f"Batch ablation (Family C), {data_note('batch')}: step size x batch size, at log-spaced "
            f"checkpoints of {config['batch']['steps']:,} steps; the {BATCH_ABLATION['k']} largest and smallest "
            "eigenvalues of H by Lanczos; counts on those top k (window min(k, outlier window), cutoff at most k); "
            "sharper_by = lambda_1 of the largest batch over the smallest's at the same step size and step; "
            "a run fits at the first checkpoint with 100% train accuracy."
        ),
    script:
        "../scripts/batch_ablation_table.py"


rule fig_batch_ablation:
    input:
        ABLATION_EDGES,
    output:
        figure("fig_batch_ablation"),
    log:
        f"{LOGS}/fig_batch_ablation.log",
    conda:
        ENVIRONMENT
    params:
        outliers=ABLATION_OUTLIERS,
        title=f"Family C by step size and training length, {data_note('batch')}",
        dpi=DPI,
    script:
        "../scripts/batch_ablation_figure.py"
