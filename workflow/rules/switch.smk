# Family D (Fig. 9, 10; Sagun et al. section 4.1): the batch switch. switch data -> Part I
# (large batch) -> Part II (small batch, from Part I's last weights) -> the straight line
# between the two end points -> figures and one table. CIFAR10 at the paper profile,
# scikit-learn's digits (offline) at default and ci.


SWITCH = config["switch"]
SWITCH_NOTE = (
    f"{SWITCH['source']}, AlexNet-style net, M = {SWITCH_RUNS['part1']['num_params']:,}, "
    f"batch {SWITCH['batch_sizes']['part1']} then {SWITCH['batch_sizes']['part2']}, lr {SWITCH['lr']:g} [{PROFILE}]"
    + ("; 8x8 digits stand in for CIFAR10" if SWITCH["source"] == "digits" else "")
)
SWITCH_OUTPUTS = [
    *figure("fig9_batch_switch"),
    *figure("fig10_interpolation"),
    *table("batch_switch", ".csv", ".md"),
]


rule switch_data:
    output:
        SWITCH_DATA,
    log:
        f"{LOGS}/switch_data.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=4000,
    params:
        data=SWITCH_RUNS["part1"]["data"],
    script:
        "../scripts/switch_data.py"


# Family D's own training rule: its runs chain (Part II starts from Part I's final.pt), and
# the two parts run one after the other, so each may use both cores.
rule switch_train:
    input:
        data=SWITCH_DATA,
        start=lambda w: switch_start(w.run),
    output:
        init=f"{run_dir('switch', '{run}')}/init.pt",
        final=f"{run_dir('switch', '{run}')}/final.pt",
        metrics=metrics_path("switch", "{run}"),
    log:
        f"{LOGS}/train/switch_{{run}}.log",
    benchmark:
        f"{LOGS}/train/switch_{{run}}.benchmark.tsv"
    wildcard_constraints:
        run="|".join(SWITCH_RUNS),
    priority: 10  # the build's longest job (Part I): started first, it does not end the build alone
    conda:
        ENVIRONMENT
    threads: THREADS["switch"]
    resources:
        mem_mb=6000,  # CIFAR10 as float32 (0.7 GB) and a batch of 1,000 with its activations
        runtime=1440,
        gpu=GPUS,
        device=EXECUTION["device"],
    params:
        run=lambda w: {key: SWITCH_RUNS[w.run][key] for key in ("run", "data", "model", "train")},
        family="switch",
        threads=THREADS["switch"],
    script:
        "../scripts/train.py"


rule switch_interpolation:
    input:
        data=SWITCH_DATA,
        start=f"{run_dir('switch', 'part1')}/final.pt",
        end=f"{run_dir('switch', 'part2')}/final.pt",
    output:
        SWITCH_INTERPOLATION,
    log:
        f"{LOGS}/switch_interpolation.log",
    benchmark:
        f"{LOGS}/switch_interpolation.benchmark.tsv"
    conda:
        ENVIRONMENT
    threads: THREADS["switch"]  # as training's, so that a = 0 and 1 reproduce its end-of-part records bit for bit
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS,
        device=EXECUTION["device"],
    params:
        model=SWITCH_RUNS["part1"]["model"],
        interpolation=switch_interpolation(config),
        eval_batch_size=SWITCH["eval_batch_size"],
        threads=THREADS["switch"],
    script:
        "../scripts/switch_interpolation.py"


use rule fig1_full_spectrum as fig9_batch_switch with:
    input:
        SWITCH_METRICS,
    output:
        figure("fig9_batch_switch"),
    log:
        f"{LOGS}/fig9_batch_switch.log",
    params:
        plot="batch_switch",
        title=f"Fig. 9: the batch switch, {SWITCH_NOTE}",
        dpi=DPI,


use rule fig1_full_spectrum as fig10_interpolation with:
    input:
        SWITCH_INTERPOLATION,
    output:
        figure("fig10_interpolation"),
    log:
        f"{LOGS}/fig10_interpolation.log",
    params:
        plot="interpolation",
        title=f"Fig. 10: w(a) = w_I + a (w_II - w_I), {SWITCH_NOTE}",
        dpi=DPI,


rule batch_switch_table:
    input:
        metrics=SWITCH_METRICS,
        interpolation=SWITCH_INTERPOLATION,
    output:
        table("batch_switch", ".csv", ".md"),
    log:
        f"{LOGS}/batch_switch_table.log",
    conda:
        ENVIRONMENT
    params:
        caption=(
            f"The batch switch (Family D), {SWITCH_NOTE}: the end of each part, the first record after the "
            "switch, and the largest loss on the straight line between the two end points (0 < a < 1) "
            "relative to the higher end (above 1: a barrier)."
        ),
    script:
        "../scripts/batch_switch_table.py"
