# wikitop: `make run` starts the service on the embedded defaults, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

.PHONY: run test lint typecheck pytest bench install up down clean

$(BIN)/wikitop: pyproject.toml setup.py src/wikitop/_native.c
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wikitop needs Python 3.11+, got " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,s3,redis,bench]'
	@touch $@

install: $(BIN)/wikitop

run: $(BIN)/wikitop
	$(BIN)/wikitop serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: lint typecheck pytest

lint: $(BIN)/wikitop
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/wikitop
	$(BIN)/mypy

pytest: $(BIN)/wikitop
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/wikitop
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_api.py

up:
	docker compose up --build -d

down:
	docker compose down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
