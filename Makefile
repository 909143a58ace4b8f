# The two commands: `make demo` and `make test`. Everything else is set-up they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test test-embedded test-server lint format venv clean browser-deps

# The venv is (re)built from the committed lock whenever the lock is newer. Its modules are
# compiled at install: where PYTHONDONTWRITEBYTECODE is set (it is on our 2-core machines),
# every process would otherwise compile dbt, Prefect and GX again (half of an ingest's CPU).
$(VENV)/.synced: uv.lock pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --extra dev --compile-bytecode --python $(VENV)/bin/python
	@touch $@

venv: $(VENV)/.synced

demo: venv browser-deps
	$(VENV)/bin/vnotify demo

# What the browser tests drive: Debian's Chromium (never a browser downloaded by Playwright) and
# axe-core from the committed package-lock.json, each installed only when missing. apt-get needs
# root or sudo; without them (or without npm) the browser tests skip and say why.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "== browser-deps: not root and no sudo: chromium not installed, browser tests will skip =="; exit 0; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium; \
	fi
	@if [ ! -d node_modules/axe-core ]; then \
	  if command -v npm >/dev/null; then npm ci --ignore-scripts --no-audit --no-fund; \
	  else echo "== browser-deps: no npm: axe-core not installed, browser tests will skip =="; fi; \
	fi

# The whole suite on the embedded PostgreSQL, in parallel (one embedded server and set of
# template databases per worker process), then the tests marked `server` against the server at
# 127.0.0.1:5432 (database `test`) when one answers: together those run every call in the source
# that sends SQL, which --sql-paths checks (tests/sql_paths.py). Each pass prints its 15 slowest tests.
# Both passes run in a random order (pytest-randomly), the same one for a given seed: the seed is
# printed first, and `make test PYTEST_SEED=N` replays that order.
# Two workers per core (at most 8): much of the suite waits on subprocesses, servers and
# sleeps (the Prefect server tests, the browser), and on 2 cores 2 workers took 19.6 min, 3
# took 14.0 and 4 took 11.2 (docs/contributing.md).
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n * 2 > 8 ? 8 : n * 2 )))
ifndef PYTEST_SEED
PYTEST_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
test: venv browser-deps
	@echo "== test order seed $(PYTEST_SEED): replay with make test PYTEST_SEED=$(PYTEST_SEED) =="
	$(VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadscope --randomly-seed=$(PYTEST_SEED) --durations=15
	@if $(VENV)/bin/python -m warehouse.probe "$${VNOTIFY_TEST_SERVER_URL:-postgresql://127.0.0.1:5432/test}"; then \
	  echo "== every SQL path again on $${VNOTIFY_TEST_SERVER_URL:-postgresql://127.0.0.1:5432/test} =="; \
	  DATABASE_URL="$${VNOTIFY_TEST_SERVER_URL:-postgresql://127.0.0.1:5432/test}" $(VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadscope -m server --sql-paths --randomly-seed=$(PYTEST_SEED) --durations=15; \
	else echo "== no server at 127.0.0.1:5432: DATABASE_URL pass skipped =="; fi

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache
