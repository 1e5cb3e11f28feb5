# Two entry points for a newcomer: `make reproduce` and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
PYTEST_ARGS ?=

.PHONY: reproduce test test-fast test-slurm lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,slurm]'
	touch $@

## Run the whole default study (MNIST, paper Table 1 over many pairs) and write the report.
reproduce: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

## Lint, then the whole test suite (the end-to-end Snakemake runs included; with CI set,
## also the run through a local SLURM cluster, which fails there if the cluster cannot start).
test: $(VENV)/.installed lint
	$(BIN)/python -m pytest -rs $(PYTEST_ARGS)

## The suite without the end-to-end workflow runs (a few seconds).
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## Only the tiny workflow through a local single-node SLURM cluster (root; Debian's munge,
## slurmctld, slurmd, slurm-client; tests/test_slurm.py). About 4 minutes.
test-slurm: $(VENV)/.installed
	RUN_SLURM_TESTS=1 $(BIN)/python -m pytest -m slurm -rs $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Speed figures recorded in the README.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_mnist.py

clean:
	rm -rf results logs .snakemake
