# Families B (width: Fig. 4, 5, 6) and C (batch size: Fig. 7, 8) on MNIST-format images,
# each from its own source (images.source.width, .batch; one data step per source). They
# share the subset rule and the kinds of figure: image data (one stratified subset) ->
# train (per run) -> spectrum (final) -> counts -> figures and one table per family.


WIDTH_LABELS = [f"n = {n}" for n in config["width"]["hidden"]]
BATCH_LABELS = [f"batch {b}" for b in config["batch"]["batch_sizes"]]
TABLE_NOTE = (
    "the Hessian at the end of training. "
    "Negative counts: counted from every eigenvalue (exact method) or, where only the Lanczos edges are "
    "computed, estimated by stochastic Lanczos quadrature with a 95% interval; outlier counts as in Table 1."
)
WIDTH_OUTPUTS = [
    *figure("fig4_width_right_edge"),
    *figure("fig5_width_left_edge_count"),
    *figure("fig6_width_left_edge_fraction"),
    *table("width_scaling", ".csv", ".md"),
]
BATCH_OUTPUTS = [
    *figure("fig7_batch_top_eigenvalues"),
    *figure("fig8_batch_negative_eigenvalues"),
    *table("batch_size", ".csv", ".md"),
]


rule image_data:
    output:
        IMAGE_DATA,
    log:
        f"{LOGS}/image_data_{{source}}.log",
    conda:
        ENVIRONMENT
    resources:
        mem_mb=4000,
    params:
        data=lambda wildcards: IMAGE_DATA_SETS[wildcards.source],
    script:
        "../scripts/image_data.py"


rule fig4_width_right_edge:
    input:
        results_of("width")["spectra"],
    output:
        figure("fig4_width_right_edge"),
    log:
        f"{LOGS}/fig4_width_right_edge.log",
    conda:
        ENVIRONMENT
    params:
        plot="top_eigenvalues",
        labels=WIDTH_LABELS,
        top=config["plots"]["fig4_top"],
        title=f"Fig. 4: largest eigenvalues by width, {data_note('width')}",
        dpi=DPI,
    script:
        "../scripts/figure.py"


rule fig5_width_left_edge_count:
    input:
        results_of("width")["spectra"],
    output:
        figure("fig5_width_left_edge_count"),
    log:
        f"{LOGS}/fig5_width_left_edge_count.log",
    conda:
        ENVIRONMENT
    params:
        plot="negative_eigenvalues",
        labels=WIDTH_LABELS,
        by="count",
        title=f"Fig. 5: negative eigenvalues by count, {data_note('width')}",
        dpi=DPI,
    script:
        "../scripts/figure.py"


use rule fig5_width_left_edge_count as fig6_width_left_edge_fraction with:
    output:
        figure("fig6_width_left_edge_fraction"),
    log:
        f"{LOGS}/fig6_width_left_edge_fraction.log",
    params:
        plot="negative_eigenvalues",
        labels=WIDTH_LABELS,
        by="fraction",
        title=f"Fig. 6: negative eigenvalues by fraction of M, {data_note('width')}",
        dpi=DPI,


use rule fig4_width_right_edge as fig7_batch_top_eigenvalues with:
    input:
        results_of("batch")["spectra"],
    output:
        figure("fig7_batch_top_eigenvalues"),
    log:
        f"{LOGS}/fig7_batch_top_eigenvalues.log",
    params:
        plot="top_eigenvalues",
        labels=BATCH_LABELS,
        top=config["plots"]["fig7_top"],
        title=f"Fig. 7: largest eigenvalues, small vs large batch, {data_note('batch')}",
        dpi=DPI,


use rule fig5_width_left_edge_count as fig8_batch_negative_eigenvalues with:
    input:
        results_of("batch")["spectra"],
    output:
        figure("fig8_batch_negative_eigenvalues"),
    log:
        f"{LOGS}/fig8_batch_negative_eigenvalues.log",
    params:
        plot="negative_eigenvalues",
        labels=BATCH_LABELS,
        by="fraction",
        title=f"Fig. 8: negative eigenvalues, small vs large batch, {data_note('batch')}",
        dpi=DPI,


rule width_scaling:
    input:
        **results_of("width"),
    output:
        table("width_scaling", ".csv", ".md"),
    log:
        f"{LOGS}/width_scaling_table.log",
    conda:
        ENVIRONMENT
    params:
        table="run_table",
        runs=run_sections("width"),
        caption=f"Width scaling (Family B), {data_note('width')}: {TABLE_NOTE}",
    script:
        "../scripts/table.py"


use rule width_scaling as batch_size with:
    input:
        **results_of("batch"),
    output:
        table("batch_size", ".csv", ".md"),
    log:
        f"{LOGS}/batch_size_table.log",
    params:
        table="run_table",
        runs=run_sections("batch"),
        caption=f"Large vs small batch (Family C), {data_note('batch')}: {TABLE_NOTE}",
