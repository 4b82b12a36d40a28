# Config validation (at parse time, before any job) and the paths every rule shares.
from hessian_spectra.config import (
    cluster_data,
    cluster_run,
    hessian_settings,
    image_data,
    image_run,
    image_run_ids,
    run_ids,
    spectrum_edge,
    validate_config,
)


validate_config(config)

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
FIGURES = f"figures/{PROFILE}"
TABLES = f"tables/{PROFILE}"
LOGS = f"logs/{PROFILE}"
CLUSTERS = config["clusters"]
FIG1_RUN = CLUSTERS["fig1_run"]
IMAGE_RUNS = image_run_ids(config)
IMAGE_TABLES = {"width_scaling": "width", "batch_size": "batch"}  # table -> family of runs
IMAGE_CAPTIONS = {"width_scaling": "Width scaling (Family B)", "batch_size": "Large vs small batch (Family C)"}
GPUS = int(config["device"] == "cuda")  # a scheduling hint; "auto" may still find a GPU


ENVIRONMENT = "../../environment.yml"  # for --use-conda; the Makefile's .venv has the same pins


def figure(name):
    """Both files of one figure."""
    return multiext(f"{FIGURES}/{name}", ".pdf", ".png")


def table(name, *suffixes):
    return multiext(f"{TABLES}/{name}", *suffixes)


# Runs of every family: results/<profile>/<family>/<run>/ (family: clusters | images)


def run_spec(wildcards):
    """The sections that define a run (config.cluster_run or config.image_run)."""
    if wildcards.family == "clusters":
        return cluster_run(config, wildcards.run)
    return image_run(config, wildcards.run)


def cluster_data_path(k, cov):
    return f"{RESULTS}/clusters/data/k{k}_cov{float(cov):g}.npz"


IMAGE_DATA = f"{RESULTS}/images/data.npz"


def run_data(wildcards):
    if wildcards.family == "images":
        return IMAGE_DATA
    data = cluster_run(config, wildcards.run)["data"]
    return cluster_data_path(data["k"], data["cov"])


def spectrum_path(family, run, stage="final"):
    return f"{RESULTS}/{family}/{run}/spectrum_{stage}.npz"


def metrics_path(family, run):
    return f"{RESULTS}/{family}/{run}/metrics.csv"


def image_spectra(family):
    """The final spectra of one image family's runs ("width" or "batch")."""
    return [spectrum_path("images", r) for r in IMAGE_RUNS[family]]


def run_title(run):
    """How a run reads in a figure title, with the profile (so shrunk settings show)."""
    r = cluster_run(config, run)
    widths = [r["model"]["in_features"], *r["model"]["hidden"], r["data"]["k"]]
    return (f"{r['train']['algorithm'].upper()} {r['model']['activation']} "
            f"{'-'.join(map(str, widths))}, N={r['data']['n_train']}, cov {r['data']['cov']:g} [{PROFILE}]")
