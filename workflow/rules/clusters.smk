# Family A: Gaussian clusters -> Fig. 1, Fig. 1b, Fig. 2, Fig. 3, Table 1.
# data (per k, cov) -> train (per run) -> spectrum (per run and checkpoint) -> figures/tables


FIG3_RUNS = [r for r in run_ids(config) if cluster_run(config, r)["group"] == CLUSTERS["fig3_group"]]
CLUSTER_OUTPUTS = [
    *figure("fig1_full_spectrum"),
    *figure("fig1b_gauss_newton_split"),
    *figure("fig2_cluster_pca"),
    *figure("fig3_cluster_spectra"),
    *table("table1", ".csv", ".md", ".tex"),
]


rule cluster_data:
    output:
        f"{RESULTS}/clusters/data/k{{k}}_cov{{cov}}.npz",
    params:
        data=lambda w: cluster_data(config, w.k, w.cov),
    log:
        f"{LOGS}/cluster_data/k{{k}}_cov{{cov}}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/cluster_data.py"


rule cluster_pca:
    input:
        data=[cluster_data_path(k, 1.0) for k in CLUSTERS["fig2_k"]],
    output:
        f"{RESULTS}/clusters/pca_explained_variance.csv",
    params:
        k=CLUSTERS["fig2_k"],
    log:
        f"{LOGS}/cluster_pca.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/cluster_pca.py"


rule fig1_full_spectrum:
    input:
        init=spectrum_path("clusters", FIG1_RUN, "init"),
        final=spectrum_path("clusters", FIG1_RUN, "final"),
    output:
        figure("fig1_full_spectrum"),
    params:
        title=f"Fig. 1: all eigenvalues of H, {run_title(FIG1_RUN)}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig1_full_spectrum.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/fig1_full_spectrum.py"


rule fig1b_gauss_newton_split:
    input:
        init=spectrum_path("clusters", FIG1_RUN, "init"),
        final=spectrum_path("clusters", FIG1_RUN, "final"),
    output:
        figure("fig1b_gauss_newton_split"),
    params:
        title=f"Fig. 1b: H = G + R, {run_title(FIG1_RUN)}",
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig1b_gauss_newton_split.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/fig1b_gauss_newton_split.py"


rule fig2_cluster_pca:
    input:
        f"{RESULTS}/clusters/pca_explained_variance.csv",
    output:
        figure("fig2_cluster_pca"),
    params:
        title=f"Fig. 2: PCA of the cluster data, cov 1 [{PROFILE}]",
        top=min(60, CLUSTERS["n_features"]),
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig2_cluster_pca.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/fig2_cluster_pca.py"


rule fig3_cluster_spectra:
    input:
        spectra=[spectrum_path("clusters", r) for r in FIG3_RUNS],
    output:
        figure("fig3_cluster_spectra"),
    params:
        title=f"Fig. 3: top eigenvalues of H, {CLUSTERS['fig3_group']} [{PROFILE}]",
        top=config["plots"]["fig3_top"],
        dpi=config["plots"]["dpi"],
    log:
        f"{LOGS}/fig3_cluster_spectra.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/fig3_cluster_spectra.py"


rule table1:
    input:
        spectra=[spectrum_path("clusters", r) for r in run_ids(config)],
        metrics=[metrics_path("clusters", r) for r in run_ids(config)],
    output:
        table("table1", ".csv", ".md", ".tex"),
    params:
        caption=(
            f"Table 1 [{PROFILE}]: outlier counts of the Hessian at the end of training, ours beside "
            "the paper's (arXiv v2, appendix A); * marks a count within 1 of nc; cutoff shows count @ threshold."
        ),
    log:
        f"{LOGS}/table1.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENVIRONMENT
    script:
        "../scripts/table1.py"
