# Two commands matter: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check install lock migrate lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs exactly the versions and hashes in requirements.lock (the whole tree, dev tools
# included), then Rumbo itself without letting pip pick anything else.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The one command that upgrades the lock: newest releases within pyproject's ranges, from PyPI.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--upgrade --index-url https://pypi.org/simple --no-config \
		--custom-compile-command "make lock" -o requirements.lock

migrate: install
	$(BIN)/rumbo migrate

run: install
	$(BIN)/rumbo migrate
	$(BIN)/rumbo serve --demo

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# What CI runs: lint, format, types (src and tests), then the tests.
check: lint typecheck test

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) rumbo.db rumbo.db-wal rumbo.db-shm
