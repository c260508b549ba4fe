# Two commands on a fresh machine: `make dev` and `make test`. Every target installs what it needs.
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.installed-stamp
PORT    ?= 8000

.PHONY: install dev test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/reviva dev --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .reviva
