# Config validation (at parse time, before any job) and the paths every rule shares.
from hessian_spectra.config import cluster_data, cluster_run, hessian_settings, run_ids, validate_config


validate_config(config)

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
FIGURES = f"figures/{PROFILE}"
TABLES = f"tables/{PROFILE}"
LOGS = f"logs/{PROFILE}"
GPUS = int(config["device"] == "cuda")  # a scheduling hint; "auto" may still find a GPU


ENVIRONMENT = "../../environment.yml"  # for --use-conda; the Makefile's .venv has the same pins


def figure(name):
    """Both files of one figure."""
    return multiext(f"{FIGURES}/{name}", ".pdf", ".png")


def table(name, *suffixes):
    return multiext(f"{TABLES}/{name}", *suffixes)


# Family A (clusters.smk) paths and titles


def cluster_data_path(k, cov):
    return f"{RESULTS}/clusters/data/k{k}_cov{float(cov):g}.npz"


def run_data(wildcards):
    data = cluster_run(config, wildcards.run)["data"]
    return cluster_data_path(data["k"], data["cov"])


def spectrum_path(run, stage="final"):
    return f"{RESULTS}/clusters/{run}/spectrum_{stage}.npz"


def run_title(run):
    """How a run reads in a figure title, with the profile (so shrunk settings show)."""
    r = cluster_run(config, run)
    widths = [r["model"]["in_features"], *r["model"]["hidden"], r["data"]["k"]]
    return (f"{r['train']['algorithm'].upper()} {r['model']['activation']} "
            f"{'-'.join(map(str, widths))}, N={r['data']['n_train']}, cov {r['data']['cov']:g} [{PROFILE}]")
