# bsab-explorer: `make run` starts the app on the bundled data, `make test` runs every check.
# Both create the environment from the lock file (uv.lock) first.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-$(UV_VERSION)
PORT ?= 8501
# Empty: this machine only (127.0.0.1, .streamlit/config.toml). Behind a reverse proxy:
# `make run ADDRESS=0.0.0.0` (README, "Deployment").
ADDRESS ?=
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: env run test lint types imports unit browser bench clean

env: $(STAMP)

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "bsab-explorer needs Python 3.11 or newer (found: $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(TOOLS) || \
		{ echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt-get install python3-venv"; exit 1; }
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled once here: a fresh server then loads the libraries from .pyc files even
# where PYTHONDONTWRITEBYTECODE is set (the first page's wait: docs/performance.md, Cold start).
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

run: env
	$(BIN)/python -m bsab_explorer.ui.serve --server.port $(PORT) $(if $(ADDRESS),--server.address $(ADDRESS))

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: env
	$(BIN)/mypy

imports: env
	$(BIN)/lint-imports

unit: env
	$(BIN)/pytest -m "not browser"

browser: env
	$(BIN)/pytest -m browser

test: lint types imports
	$(BIN)/pytest

bench: env
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
