# wikitop: `make run` starts the service on the embedded defaults, following every new hour
# (`--follow`); `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

# One virtualenv, filled as far as each target needs: `make run` installs the service alone (its
# embedded defaults use no server, so none of the postgres, s3 and redis extras: add one with
# `.venv/bin/pip install -e '.[redis]'`), `make test` the test extras (which hold those three),
# `make bench` the bench extras. One stamp per level, inside the virtualenv so that `make clean`
# removes them: `make run` after `make test` installs nothing, `make test` after `make run` only
# what the tests add. The virtualenv keeps the pip that Python put in it (23.2 with Python 3.11):
# every documented install must work with it, so it is not upgraded here (.ci/run checks it).
SOURCES := pyproject.toml setup.py src/wikitop/_native.c
PIP_INSTALL := $(BIN)/python -m pip install --quiet

.PHONY: run test lint typecheck pytest bench install up down clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wikitop needs Python 3.11+, got " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-service: $(SOURCES) | $(BIN)/python
	$(PIP_INSTALL) -e .
	@touch $@

# The test and bench extras hold the service: their stamps renew the service's too.
$(VENV)/.installed-test: $(SOURCES) | $(BIN)/python
	$(PIP_INSTALL) -e '.[test]'
	@touch $@ $(VENV)/.installed-service

$(VENV)/.installed-bench: $(SOURCES) | $(BIN)/python
	$(PIP_INSTALL) -e '.[bench]'
	@touch $@ $(VENV)/.installed-service

install: $(VENV)/.installed-service

run: $(VENV)/.installed-service
	$(BIN)/wikitop serve --follow --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_api.py

up:
	docker compose up --build -d

down:
	docker compose down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
