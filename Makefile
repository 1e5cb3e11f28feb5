# Two entry points for a newcomer: `make reproduce` and `make test`.
# Both create the virtual environment in .venv on first use, with the pinned package set
# (constraints.txt) that produced the README's numbers.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
PYTEST_ARGS ?=

.PHONY: reproduce paper bench-paper test test-fast test-exactness test-slurm lint bench readme clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,slurm]'
	$(BIN)/fooled-install-hooks
	touch $@

## Run the default workflow (every enabled study at its default scale) and write the report.
reproduce: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

## Every MNIST study at the paper's scale in one run (docs/reference/paper/ holds its
## reference; `make bench-paper` times it per study in a fresh folder).
PAPER_CONFIGS := config/config.yaml config/collisions_mnist.yaml config/szegedy.yaml \
	config/fooling.yaml config/defences.yaml config/paper.yaml
paper: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --configfile $(PAPER_CONFIGS)

bench-paper: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_workflow.py --cores $(CORES) --configfile $(PAPER_CONFIGS)

## Lint, then the whole test suite (the end-to-end Snakemake runs included; with CI set,
## also the run through a local SLURM cluster, which fails there if the cluster cannot start).
test: $(VENV)/.installed lint
	$(BIN)/python -m pytest -rs --durations=25 $(PYTEST_ARGS)

## The suite without the end-to-end workflow runs.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## The tests that assert bit-identical numbers (CI runs them under a second OpenBLAS core type).
test-exactness: $(VENV)/.installed
	$(BIN)/python -m pytest -m exactness -rs $(PYTEST_ARGS)

## Only the tiny workflow through a local single-node SLURM cluster (root; Debian's munge,
## slurmctld, slurmd, slurm-client; tests/test_slurm.py). About 4 minutes.
test-slurm: $(VENV)/.installed
	RUN_SLURM_TESTS=1 $(BIN)/python -m pytest -m slurm -rs $(PYTEST_ARGS)

## Python (ruff), rules (snakefmt) and the workflow (snakemake --lint).
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint

## Speed figures recorded in the README.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_mnist.py

## The README's results tables, regenerated from a run's summary.json.
readme: $(VENV)/.installed
	$(BIN)/python tools/readme_tables.py results/report/summary.json --write README.md

clean:
	rm -rf results logs .snakemake
