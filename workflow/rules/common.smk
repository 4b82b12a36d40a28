# Config validation (at parse time, before any job) and the paths every rule shares.
from hessian_spectra.config import cluster_data, cluster_run, hessian_settings, run_ids, validate_config


validate_config(config)

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
FIGURES = f"figures/{PROFILE}"
TABLES = f"tables/{PROFILE}"
LOGS = f"logs/{PROFILE}"
GPUS = int(config["device"] == "cuda")  # a scheduling hint; "auto" may still find a GPU


def figure(name):
    """Both files of one figure."""
    return multiext(f"{FIGURES}/{name}", ".pdf", ".png")


def table(name, *suffixes):
    return multiext(f"{TABLES}/{name}", *suffixes)
