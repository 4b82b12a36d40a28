# Replication of Sagun et al. (2017), "Empirical Analysis of the Hessian of
# Over-Parametrized Neural Networks". Entry point: `make reproduce` (see README).
# The profile (config/<name>.yaml) picks the scale; outputs are namespaced by it.


configfile: "config/default.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/clusters.smk"
include: "workflow/rules/images.smk"


rule all:
    input:
        CLUSTER_OUTPUTS,
        IMAGE_OUTPUTS,
    default_target: True


rule family_clusters:
    """Family A only: Fig. 1, 1b, 2, 3 and Table 1 (`make reproduce SNAKE_ARGS=family_clusters`)."""
    input:
        CLUSTER_OUTPUTS,


rule family_images:
    """Families B and C only: Fig. 4-8 and the width/batch tables."""
    input:
        IMAGE_OUTPUTS,
