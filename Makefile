# Launch Gate: two commands do everything.
#   make run   - virtualenv, install, migrate, seed demo users + a demo launch, then serve with the worker
#                and a local SMTP sink beside it (SQLite; mail lands in var/mail/*.eml)
#   make test  - virtualenv, install, lint, type check, import contracts, tests (all of them, in parallel)
#   make test-fast - the tests without browser, PostgreSQL or slow ones, in parallel: the edit-test loop
# Python packages come from uv.lock (`uv sync --frozen`), front-end assets from package-lock.json
# (tools/vendor-assets). uv is used from PATH, or installed into .tools/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
UV ?= $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export LAUNCHGATE_DATABASE_URL ?= sqlite:///$(CURDIR)/var/launchgate.db
# Tests run in PYTEST_WORKERS processes (pytest-xdist; 0: in this one process); PYTEST_ARGS adds options,
# e.g. make pytest PYTEST_ARGS="--durations=25". Browser tests share one worker (tests/conftest.py).
# PYTHONDONTWRITEBYTECODE is cleared for tests: without the bytecode cache every worker compiles everything.
# LAUNCHGATE_DATABASE_URL (exported above for make run) is too: tests make their own databases.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
PYTEST := env -u PYTHONDONTWRITEBYTECODE -u LAUNCHGATE_DATABASE_URL $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: run test test-fast lint typecheck contracts pytest install assets lock clean wheel-check

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml uv.lock package.json package-lock.json | $(UV)
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	@if command -v npm >/dev/null; then tools/vendor-assets; \
	 else echo "npm not found: run tools/vendor-assets where npm is (API docs and the diagram need it)"; fi
	touch $(STAMP)

install: $(STAMP)

# The front-end assets alone (npm ci, then copy into api/web/static/vendor/).
assets:
	tools/vendor-assets

# The wheel as an operator meets it: build, install into a fresh venv outside the tree, migrate, serve,
# check /readyz, a page, /docs and the diagram asset (what the Dockerfile runs). CI runs it after the tests.
wheel-check: $(STAMP)
	UV=$(UV) .ci/wheel-check

# After changing dependencies in pyproject.toml: update uv.lock (commit it).
lock: | $(UV)
	$(UV) lock --python $(PYTHON)

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
	$(PYTEST) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PYTEST) -m "not browser and not postgres and not slow" $(PYTEST_ARGS)

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) .tools var dist build .mypy_cache .ruff_cache .pytest_cache api/web/static/vendor
