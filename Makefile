# Stockyard. The README's two commands are `make run` and `make test`; both work on a fresh machine with only
# Python 3.11 and pip: uv is bootstrapped into .tools/ when it is not on PATH.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := true
export UV_PYTHON := $(shell command -v $(PYTHON))

# Default history for `make run`: two years, 300 items, 3 warehouses.
DAYS ?= 730
SKUS ?= 300
WAREHOUSES ?= 3
SEED ?= 42
PORT ?= 3000
API_PORT ?= 8000

.PHONY: install run test test-unit test-integration test-e2e lint fmt bench ui serve dbt-manifest dev clean

$(UV):
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check 'uv>=0.5'

$(BIN)/stockyard: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(BIN)/stockyard  ## Create .venv from the lock file.

run: install  ## Initialise, simulate the default history and materialise the whole asset graph.
	$(BIN)/stockyard init
	$(BIN)/stockyard simulate --days $(DAYS) --skus $(SKUS) --warehouses $(WAREHOUSES) --seed $(SEED)
	$(BIN)/stockyard run
	@echo
	@echo "Done. Next:"
	@echo "  make ui      -> Dagster UI on http://127.0.0.1:$(PORT)"
	@echo "  make serve   -> API docs on http://127.0.0.1:$(API_PORT)/docs"
	@echo "  .venv/bin/mlflow ui --backend-store-uri sqlite:///.stockyard/mlflow/mlflow.db  -> MLflow UI"
	@echo "  .venv/bin/stockyard status   -> where the data lives"

test: install  ## Unit, integration and end-to-end tests (what CI runs).
	$(BIN)/pytest tests -q -p no:cacheprovider --timeout=900

test-unit: install
	$(BIN)/pytest tests/unit -q

test-integration: install
	$(BIN)/pytest tests -q -m integration

test-e2e: install
	$(BIN)/pytest tests -q -m e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy oltp serving ml

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install  ## All benchmarks; reports land in benchmarks/results/.
	$(UV) sync --frozen --all-groups
	@# The peers' load generator (wrk) and pgbench are Debian packages, not Python ones: install them when missing.
	@command -v wrk >/dev/null && command -v pgbench >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk postgresql-client; } || \
		echo "warning: install wrk and pgbench (apt-get install wrk postgresql-client) for the serving and OLTP peers"
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

ui: install  ## The Dagster UI for this project.
	$(BIN)/stockyard ui --port $(PORT)

serve: install  ## The FastAPI app.
	$(BIN)/stockyard serve --port $(API_PORT)

dbt-manifest: install  ## Parse the dbt project (the manifest Dagster loads); only re-parses when the project changed.
	$(BIN)/python -c "from orchestration.dbt_project import prepare_manifest; print(prepare_manifest())"

dev: ui

clean:
	-$(BIN)/stockyard stop
	rm -rf .stockyard
