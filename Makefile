# Launch Gate: two commands do everything.
#   make run   - virtualenv, install, migrate, seed demo users + a demo launch, then serve with the worker
#                and a local SMTP sink beside it (SQLite; mail lands in var/mail/*.eml)
#   make test  - virtualenv, install, lint, type check, import contracts, tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LAUNCHGATE_DATABASE_URL ?= sqlite:///$(CURDIR)/var/launchgate.db

.PHONY: run test lint typecheck contracts pytest install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --loglevel=error; \
	 else echo "npm not found: /docs will load Swagger UI from its public CDN"; fi
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var/mail
	$(BIN)/launchgate db migrate
	$(BIN)/launchgate seed
	LAUNCHGATE_SUPPORT_DISTRIBUTION="$${LAUNCHGATE_SUPPORT_DISTRIBUTION:-support-team@example.com}" \
	  $(BIN)/launchgate run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
