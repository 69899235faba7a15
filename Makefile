# Two commands for a fresh machine with Python 3.11+ and make:
#   make demo   install everything, then run the demo (embedded SQLite, synthetic data, web app)
#   make test   install everything, then run the checks and the tests (SQLite and PostgreSQL)

PYTHON ?= python3
VENV   ?= .venv
# Test processes: two by default (the CI machines have two cores); `make test PYTEST_WORKERS=0` runs in one.
PYTEST_WORKERS ?= 2
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest bench screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json scripts/bootstrap scripts/install-system-packages
	@PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap
	@touch $(STAMP)

demo: install
	$(BIN)/fullpicture demo $(DEMO_ARGS)

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install
	@bash scripts/ensure-postgres
	$(BIN)/pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

screenshots: install
	$(BIN)/python scripts/screenshots.py

bench: install
	$(BIN)/python bench/import.py

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
