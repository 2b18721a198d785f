# csp-recon: `make demo` installs and runs one sample month; `make test` installs and runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data
DEMO_PERIOD ?= 2026-10
MANIFEST := dbt_project/target/manifest.json
DUCKDB_1X_VERSION := 1.1.3
# focus-validator 1.0.0 pins numpy<2, pandas<3, sqlglot<19: a venv of its own, run by the FOCUS tests.
FOCUS_VENV := .venv-focus

.PHONY: install manifest browser system focus-validator demo check test benchmark ui clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# An older DuckDB beside the venv (never imported by it): tests open the analysts' copy with it.
	$(BIN)/python -m pip install --quiet --no-deps --target $(VENV)/duckdb-1.x duckdb==$(DUCKDB_1X_VERSION)
	touch $@

manifest: install
	$(BIN)/python -c "from pipelines.defs.transform.project import prepare_manifest; from pipelines.settings import Settings; prepare_manifest(Settings.load(data_dir='$(DATA_DIR)'))"

demo: manifest system
	@test -d $(DATA_DIR)/landing/$(DEMO_PERIOD) || $(BIN)/csp-recon generate --out $(DATA_DIR)/landing --period $(DEMO_PERIOD)
	$(BIN)/csp-recon run --period $(DEMO_PERIOD) --data-dir $(DATA_DIR)

browser:
	bash scripts/install_chromium.sh

# Pango and fonts for the PDF invoices, pdftotext for their tests (Debian packages).
system:
	bash scripts/install_system_packages.sh

# Lint, format, types, SQL style and the Dagster definitions: what CI runs before the tests.
check: manifest
	$(BIN)/ruff check pipelines tests benchmarks
	$(BIN)/ruff format --check pipelines tests benchmarks
	$(BIN)/mypy
	CSP_RECON_WAREHOUSE=$(CURDIR)/dbt_project/target/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models
	$(BIN)/dg check defs

focus-validator: $(FOCUS_VENV)/.installed

$(FOCUS_VENV)/.installed: requirements-focus.lock
	$(PYTHON) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install --quiet -r requirements-focus.lock
	touch $@

test: manifest browser system focus-validator
	$(BIN)/python -m pytest -n 2 --dist loadfile

ui: manifest
	$(BIN)/csp-recon ui --data-dir $(DATA_DIR)

clean:
	rm -rf $(VENV) $(FOCUS_VENV) dbt_project/target dbt_project/logs
