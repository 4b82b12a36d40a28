# Replication of Sagun et al. (2017), "Empirical Analysis of the Hessian of
# Over-Parametrized Neural Networks". Entry point: `make reproduce` (see README).
# The config profile (config/<name>.yaml) picks the scale; outputs are namespaced by it.
# How jobs execute (cores, resources, threads) is Snakemake's workflow profile,
# profiles/default/config.yaml, which snakemake reads by itself.


configfile: "config/default.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/clusters.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/appendix.smk"
include: "workflow/rules/fidelity.smk"
include: "workflow/rules/batch_ablation.smk"
include: "workflow/rules/along.smk"
include: "workflow/rules/switch.smk"
include: "workflow/rules/scope.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/report.smk"


# Cheap steps that stay on the submitting machine when the workflow runs on a cluster
# (profiles/slurm): the targets, every figure and table, the outlier counts and the report.
localrules:
    all,
    family_clusters,
    family_width,
    family_batch,
    appendix_b,
    family_fidelity,
    family_batch_ablation,
    family_along_training,
    family_switch,
    count_outliers,
    fig1_full_spectrum,
    fig1b_gauss_newton_split,
    fig2_cluster_pca,
    fig3_cluster_spectra,
    fig4_width_right_edge,
    fig5_width_left_edge_count,
    fig6_width_left_edge_fraction,
    fig7_batch_top_eigenvalues,
    fig8_batch_negative_eigenvalues,
    fig9_batch_switch,
    fig10_interpolation,
    fig11_spectrum_along_training,
    fig_negative_fraction_along_training,
    figB_marchenko_pastur,
    table1,
    fidelity_ablation,
    batch_ablation_table,
    fig_batch_ablation,
    width_scaling,
    batch_size,
    along_training_table,
    negative_fraction_table,
    batch_switch_table,
    claims,
    report,


rule all:
    default_target: True
    input:
        # the families of config `families` (workflow/rules/scope.smk): every one by default
        BUILT_OUTPUTS,
        targets(CLAIMS_OUTPUTS),
        # last: the report shows every figure and table above
        REPORT,


rule family_clusters:
    """Family A: Fig. 1, 1b, 2, 3 and Table 1 (`make reproduce SNAKE_ARGS=family_clusters`)."""
    input:
        targets(CLUSTER_OUTPUTS),


rule family_width:
    """Family B: Fig. 4, 5, 6 and the width-scaling table."""
    input:
        targets(WIDTH_OUTPUTS),


rule family_batch:
    """Family C: Fig. 7, 8 and the batch-size table."""
    input:
        targets(BATCH_OUTPUTS),


rule appendix_b:
    """Appendix B: Fig. B (Marchenko-Pastur law and the BBP outlier)."""
    input:
        targets(APPENDIX_OUTPUTS),


rule family_fidelity:
    """The fidelity ablation of Family A's settings (tables/<profile>/fidelity_ablation)."""
    input:
        targets(FIDELITY_OUTPUTS),


rule family_batch_ablation:
    """What sets Family C's scale: step size x batch size along training (fig_batch_ablation, batch_ablation)."""
    input:
        targets(BATCH_ABLATION_OUTPUTS),


rule family_along_training:
    """Fig. 11 and the negative-fraction study: spectra along training (ours)."""
    input:
        targets(ALONG_OUTPUTS),


rule family_switch:
    """Family D: Fig. 9, 10 and the batch-switch table (CIFAR10; digits at default and ci)."""
    input:
        targets(SWITCH_OUTPUTS),
