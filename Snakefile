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
