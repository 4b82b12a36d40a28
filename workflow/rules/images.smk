# Families B and C on MNIST-format data (digits at the default profile):
# data (one stratified subset) -> train (per run) -> spectrum (final) -> Fig. 4-8 and two tables.


SOURCE = config["images"]["source"]
DATA_NOTE = f"{SOURCE}, {config['images']['train_subset']} images [{PROFILE}]" + (
    "; 8x8 digits stand in for MNIST" if SOURCE == "digits" else ""
)
WIDTH_LABELS = [f"n = {n}" for n in config["width"]["hidden"]]
BATCH_LABELS = [f"batch {b}" for b in config["batch"]["batch_sizes"]]
IMAGE_OUTPUTS = [
    *figure("fig4_width_right_edge"),
    *figure("fig5_width_left_edge_count"),
    *figure("fig6_width_left_edge_fraction"),
    *figure("fig7_batch_top_eigenvalues"),
    *figure("fig8_batch_negative_eigenvalues"),
    *table("width_scaling", ".csv", ".md"),
    *table("batch_size", ".csv", ".md"),
]


rule image_data:
    output:
        IMAGE_DATA,
    params:
        data=image_data(config),
    log:
        f"{LOGS}/image_data.log",
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        ENVIRONMENT
    script:
        "../scripts/image_data.py"


rule fig4_width_right_edge:
    input:
        image_spectra("width"),
    output:
        figure("fig4_width_right_edge"),
    params:
        labels=WIDTH_LABELS,
        top=config["plots"]["fig4_top"],
        title=f"Fig. 4: largest eigenvalues by width, {DATA_NOTE}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig4_width_right_edge.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/top_figure.py"


rule fig5_width_left_edge_count:
    input:
        image_spectra("width"),
    output:
        figure("fig5_width_left_edge_count"),
    params:
        labels=WIDTH_LABELS,
        by="count",
        title=f"Fig. 5: negative eigenvalues by count, {DATA_NOTE}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig5_width_left_edge_count.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/negative_figure.py"


rule fig6_width_left_edge_fraction:
    input:
        image_spectra("width"),
    output:
        figure("fig6_width_left_edge_fraction"),
    params:
        labels=WIDTH_LABELS,
        by="fraction",
        title=f"Fig. 6: negative eigenvalues by fraction of M, {DATA_NOTE}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig6_width_left_edge_fraction.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/negative_figure.py"


rule fig7_batch_top_eigenvalues:
    input:
        image_spectra("batch"),
    output:
        figure("fig7_batch_top_eigenvalues"),
    params:
        labels=BATCH_LABELS,
        top=config["plots"]["fig7_top"],
        title=f"Fig. 7: largest eigenvalues, small vs large batch, {DATA_NOTE}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig7_batch_top_eigenvalues.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/top_figure.py"


rule fig8_batch_negative_eigenvalues:
    input:
        image_spectra("batch"),
    output:
        figure("fig8_batch_negative_eigenvalues"),
    params:
        labels=BATCH_LABELS,
        by="fraction",
        title=f"Fig. 8: negative eigenvalues, small vs large batch, {DATA_NOTE}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig8_batch_negative_eigenvalues.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/negative_figure.py"


rule image_table:
    input:
        spectra=lambda w: image_spectra(IMAGE_TABLES[w.name]),
        metrics=lambda w: [metrics_path("images", r) for r in IMAGE_RUNS[IMAGE_TABLES[w.name]]],
    output:
        multiext(f"{TABLES}/{{name}}", ".csv", ".md"),
    wildcard_constraints:
        name="|".join(IMAGE_TABLES),
    params:
        caption=lambda w: (
            f"{IMAGE_CAPTIONS[w.name]}, {DATA_NOTE}: the Hessian at the end of training. "
            "Negative counts need every eigenvalue (exact method); outlier counts as in Table 1."
        ),
    log:
        f"{LOGS}/{{name}}_table.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/image_table.py"
