# Two commands do all set-up on a fresh machine:
#   make reproduce   build every figure and table (PROFILE=default; also ci, paper)
#   make test        run the test suite
# Both create .venv and install the pinned dependencies (requirements.txt) when missing.

PROFILE ?= default
CORES ?= 2
VENV := .venv
PYTHON := $(VENV)/bin/python
SNAKEMAKE := $(VENV)/bin/snakemake
INSTALLED := $(VENV)/.installed
SNAKE_ARGS ?=
# How jobs execute (cores, resources, threads): Snakemake's workflow profile. Snakemake also
# finds it by itself; naming it keeps the command line the README shows.
WORKFLOW_PROFILE := --workflow-profile profiles/default

# The profile's syntax and schema, checked before Snakemake reads it (Snakemake's own message
# for a YAML error names neither the file nor the line).
CHECK_CONFIG = $(PYTHON) -m hessian_spectra.config.file config/$(1).yaml

.PHONY: reproduce reproduce-slurm sizes test verify reference dry-run lint unlock clean-profile FORCE

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	$(PYTHON) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

reproduce: $(INSTALLED)
	$(call CHECK_CONFIG,$(PROFILE))
	$(SNAKEMAKE) $(WORKFLOW_PROFILE) --cores $(CORES) $(SNAKE_ARGS) --configfile config/$(PROFILE).yaml

# The same build on a Slurm cluster (edit profiles/slurm/config.yaml first: partition, account).
# Installs the optional Slurm executor plugin (requirements-slurm.txt) into .venv.
reproduce-slurm: $(INSTALLED)
	$(call CHECK_CONFIG,$(PROFILE))
	$(PYTHON) -m pip install --quiet -r requirements-slurm.txt
	$(SNAKEMAKE) --workflow-profile profiles/slurm $(SNAKE_ARGS) --configfile config/$(PROFILE).yaml

# What each job would ask the cluster for (CPUs, memory, runtime, GPUs) under profiles/slurm,
# without submitting anything: `make sizes PROFILE=paper`.
sizes: $(INSTALLED)
	$(PYTHON) -m pip install --quiet -r requirements-slurm.txt
	$(PYTHON) -m hessian_spectra.pipeline.job_sizes --workflow-profile profiles/slurm $(SNAKE_ARGS) --configfile config/$(PROFILE).yaml

test: $(INSTALLED)
	$(PYTHON) -m pytest

# Rebuild PROFILE from scratch in a temporary copy of the repository and compare its tables
# with the committed tables/$(PROFILE) (within hessian_spectra.outputs.compare's tolerance) and its
# PNG figures byte for byte (a note only: bytes match on the same platform); prints the
# build time. The default profile took 842 s on 2 cores (make verify, 14/14 PNGs identical). For ci (its tables are
# not committed): make verify PROFILE=ci VERIFY_ARGS="--against tests/reference/ci".
verify: $(INSTALLED)
	$(PYTHON) -m hessian_spectra.outputs.verify --profile $(PROFILE) --cores $(CORES) $(VERIFY_ARGS)

# Regenerate the ci reference tables (tests/reference/ci) on purpose, after a change that is
# meant to move the numbers: builds the ci profile in a temporary copy and copies its tables.
reference: $(INSTALLED)
	$(PYTHON) -m hessian_spectra.outputs.verify --profile ci --cores $(CORES) --write-reference tests/reference/ci

dry-run: $(INSTALLED)
	$(call CHECK_CONFIG,$(PROFILE))
	$(SNAKEMAKE) $(WORKFLOW_PROFILE) --cores $(CORES) --dry-run $(SNAKE_ARGS) --configfile config/$(PROFILE).yaml

lint: $(INSTALLED)
	$(call CHECK_CONFIG,$(PROFILE))
	$(SNAKEMAKE) $(WORKFLOW_PROFILE) --configfile config/$(PROFILE).yaml --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/

# One target (it must come before --configfile, which takes several files), e.g. `make figures/default/fig3_cluster_spectra.pdf`: the profile is the folder name.
figures/% tables/%: $(INSTALLED) FORCE
	$(call CHECK_CONFIG,$(firstword $(subst /, ,$*)))
	$(SNAKEMAKE) $@ $(WORKFLOW_PROFILE) --cores $(CORES) $(SNAKE_ARGS) --configfile config/$(firstword $(subst /, ,$*)).yaml

# After a hard kill (power cut, kill -9, a closed terminal), Snakemake's lock on the working
# directory stays and the next run stops with "Directory cannot be locked". When no other
# Snakemake runs here, this removes the lock; rerunning then picks up every finished job.
unlock: $(INSTALLED)
	$(SNAKEMAKE) $(WORKFLOW_PROFILE) --unlock --cores 1 --configfile config/$(PROFILE).yaml

# Remove one profile's outputs and cached intermediates (results/, figures/, tables/, logs/).
clean-profile:
	rm -rf results/$(PROFILE) figures/$(PROFILE) tables/$(PROFILE) logs/$(PROFILE)

FORCE:
