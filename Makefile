# `make run` and `make test` create .venv on first use and keep it up to date with pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_DIR ?= runs/digits-quick

.PHONY: run test lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/tunelab guide --dataset digits --budget quick --out $(RUN_DIR)

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench docs
	$(BIN)/mypy src

test: lint
	$(BIN)/python -m pytest

# The docs site in site/ (MkDocs Material; the notebook is executed during the build).
$(VENV)/.installed-docs: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) runs site .cache .pytest_cache .mypy_cache .ruff_cache
