# The replication report: paper/report.py (a jupytext notebook) executed for this profile
# and rendered to one self-contained HTML page, the last step of `rule all`.

from hessian_spectra.outputs.report import config_files, profile_choices, stand_ins

REPORT = f"paper/{PROFILE}/report.html"
# the figures and tables of the families this build covers (workflow/rules/scope.smk), and
# the claims table, which every build has
REPORT_FIGURES = [name for name in FIGURE_NAMES if built(f"{FIGURES}/{name}.png")]
REPORT_TABLES = [name for name in TABLE_NAMES if name == "claims" or built(f"{TABLES}/{name}.csv")]


rule report:
    input:
        notebook="paper/report.py",
        captions=expand("workflow/report/{name}.rst", name=REPORT_FIGURES),
        figures=[f"{FIGURES}/{name}.png" for name in REPORT_FIGURES],
        tables=[f"{TABLES}/{name}{suffix}" for name in REPORT_TABLES for suffix in (".csv", ".md")],
    output:
        REPORT,
    log:
        f"{LOGS}/report.log",
    conda:
        ENVIRONMENT
    params:
        profile=PROFILE,
        config_files=config_files(workflow.configfiles, workflow.overwrite_configfiles),
        choices=profile_choices(config),
        stand_ins=stand_ins(config),
        built=REPORT_FIGURES + REPORT_TABLES,
    script:
        "../scripts/report.py"
