# The replication report: paper/report.py (a jupytext notebook) executed for this profile
# and rendered to one self-contained HTML page, the last step of `rule all`.

from hessian_spectra.outputs.report import profile_choices, stand_ins

REPORT = f"paper/{PROFILE}/report.html"


rule report:
    input:
        notebook="paper/report.py",
        captions=expand("workflow/report/{name}.rst", name=FIGURE_NAMES),
        figures=[f"{FIGURES}/{name}.png" for name in FIGURE_NAMES],
        tables=[f"{TABLES}/{name}{suffix}" for name in TABLE_NAMES for suffix in (".csv", ".md")],
    output:
        REPORT,
    log:
        f"{LOGS}/report.log",
    conda:
        ENVIRONMENT
    params:
        profile=PROFILE,
        choices=profile_choices(config),
        stand_ins=stand_ins(config),
    script:
        "../scripts/report.py"
