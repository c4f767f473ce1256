# Hark: `make run` sets up and runs the bot on the embedded defaults; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run once status test lint train bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the CPU build of torch first, so nothing pulls in a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/hark run

once: install
	$(BIN)/hark run --once

status: install
	$(BIN)/hark status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -m "slow or not slow" -p no:cacheprovider

train: install
	$(BIN)/hark train --data ../shared/data --out classifiers/model

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
