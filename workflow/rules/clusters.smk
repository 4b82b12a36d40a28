# Family A, Gaussian clusters: Fig. 1, 1b, 2, 3 and Table 1.
# data (per k, cov) -> train (per run) -> spectrum (per run and stage) -> counts -> figures, table


FIG3_RUNS = [r for r, run in RUNS["clusters"].items() if run["group"] == CLUSTERS["fig3_group"]]
CLUSTER_OUTPUTS = [
    *figure("fig1_full_spectrum"),
    *figure("fig1b_gauss_newton_split"),
    *figure("fig2_cluster_pca"),
    *figure("fig3_cluster_spectra"),
    *table("table1", ".csv", ".md", ".tex"),
]


rule cluster_data:
    output:
        CLUSTER_DATA,
    log:
        f"{LOGS}/cluster_data/k{{k}}_cov{{cov}}_n{{n}}.log",
    conda:
        ENVIRONMENT
    params:
        data=lambda w: cluster_data(config, w.k, w.cov, w.n),
    script:
        "../scripts/cluster_data.py"


rule cluster_pca:
    input:
        data=[cluster_data_path(k, 1.0) for k in CLUSTERS["fig2_k"]],
    output:
        f"{RESULTS}/data/clusters_pca_explained_variance.csv",
    log:
        f"{LOGS}/cluster_pca.log",
    conda:
        ENVIRONMENT
    params:
        k=CLUSTERS["fig2_k"],
    script:
        "../scripts/cluster_pca.py"


rule fig1_full_spectrum:
    input:
        spectrum_path("clusters", FIG1_RUN, "init"),
        spectrum_path("clusters", FIG1_RUN, "final"),
    output:
        figure("fig1_full_spectrum"),
    log:
        f"{LOGS}/fig1_full_spectrum.log",
    conda:
        ENVIRONMENT
    params:
        plot="full_spectrum",
        title=f"Fig. 1: all eigenvalues of H, {run_title(FIG1_RUN)}",
        dpi=DPI,
    script:
        "../scripts/figure.py"


use rule fig1_full_spectrum as fig1b_gauss_newton_split with:
    output:
        figure("fig1b_gauss_newton_split"),
    log:
        f"{LOGS}/fig1b_gauss_newton_split.log",
    params:
        plot="gauss_newton_split",
        title=f"Fig. 1b: H = G + R, {run_title(FIG1_RUN)}",
        dpi=DPI,


use rule fig1_full_spectrum as fig2_cluster_pca with:
    input:
        rules.cluster_pca.output,
    output:
        figure("fig2_cluster_pca"),
    log:
        f"{LOGS}/fig2_cluster_pca.log",
    params:
        plot="explained_variance",
        title=f"Fig. 2: PCA of the cluster data, cov 1 [{PROFILE}]",
        top=min(60, CLUSTERS["n_features"]),
        dpi=DPI,


use rule fig1_full_spectrum as fig3_cluster_spectra with:
    input:
        [spectrum_path("clusters", r) for r in FIG3_RUNS],
    output:
        figure("fig3_cluster_spectra"),
    log:
        f"{LOGS}/fig3_cluster_spectra.log",
    params:
        plot="top_eigenvalues_by_k",
        k=[RUNS["clusters"][r]["data"]["k"] for r in FIG3_RUNS],
        thresholds=[RUNS["clusters"][r]["outliers"]["threshold"] for r in FIG3_RUNS],
        title=f"Fig. 3: top eigenvalues of H, {CLUSTERS['fig3_group']} [{PROFILE}]",
        top=config["plots"]["fig3_top"],
        dpi=DPI,


rule table1:
    input:
        **results_of("clusters"),
    output:
        table("table1", ".csv", ".md", ".tex"),
    log:
        f"{LOGS}/table1.log",
    conda:
        ENVIRONMENT
    params:
        table="table1",
        runs=run_sections("clusters", "data", "model", "train"),
        caption=(
            f"Table 1 [{PROFILE}]: outlier counts of the Hessian at the end of training, ours beside "
            "the paper's (arXiv v2, appendix A); * marks a count within 1 of nc; cutoff shows count @ threshold."
        ),
    script:
        "../scripts/table.py"
