# What this build covers: the families of config `families` (every family when it is
# absent). `rule all`, the claims and the report take only their outputs, so that part of
# a profile builds on its own, e.g. the paper profile's Families A-C on a machine without
# CIFAR10; the claims of the families left out read "not measured" and the report says
# which sections were not built. The family targets (family_width, ...) build regardless.

FAMILY_OUTPUTS = {
    "clusters": CLUSTER_OUTPUTS,
    "fidelity": FIDELITY_OUTPUTS,
    "width": WIDTH_OUTPUTS,
    "batch": BATCH_OUTPUTS,
    "batch_ablation": BATCH_ABLATION_OUTPUTS,
    "along_training": ALONG_OUTPUTS,
    "switch": SWITCH_OUTPUTS,
    "appendix_b": APPENDIX_OUTPUTS,
}
BUILT_FAMILIES = config.get("families", list(FAMILY_OUTPUTS))
BUILT_OUTPUTS = targets(*(FAMILY_OUTPUTS[family] for family in BUILT_FAMILIES))


def built(path):
    """Whether ``path`` is an output of a family this build covers."""
    return str(path) in BUILT_OUTPUTS
