# Two entry points for a newcomer: `make reproduce` and `make test`.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
PYTEST_ARGS ?=

.PHONY: reproduce test test-fast lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## Run the whole default study (MNIST, paper Table 1 over many pairs) and write the report.
reproduce: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

## Lint, then the whole test suite (the end-to-end Snakemake runs included).
test: $(VENV)/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The suite without the end-to-end workflow runs (a few seconds).
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Speed figures recorded in the README.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_mnist.py

clean:
	rm -rf results logs .snakemake
