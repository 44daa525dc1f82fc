# Sheshi — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Without DATABASE_URL, start (or reuse) the private PostgreSQL under var/pg.
DBENV = if [ -z "$$DATABASE_URL" ]; then eval "$$($(PY) scripts/devdb.py env)"; fi

.PHONY: run test test-browser browser-deps venv lint lock db-stop bench migrations-check release rules-sql

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements.txt
	$(BIN)/pip install -q --require-hashes -r requirements-dev.txt
	@touch $@

venv: $(BIN)/.installed

## Migrate, load the demo group, serve admin + API on http://$(HOST):$(PORT)/ with a django-q2
## worker beside it (scripts/run_dev.py); Ctrl-C stops both.
run: venv
	@$(DBENV); export DJANGO_SETTINGS_MODULE=sheshi.settings.dev; \
	$(BIN)/python manage.py migrate --no-input && \
	$(BIN)/python manage.py load_demo && \
	echo "Sheshi: admin http://$(HOST):$(PORT)/admin/  API docs http://$(HOST):$(PORT)/api/v1/docs/  (logins: README.md)" && \
	$(BIN)/python scripts/run_dev.py $(HOST):$(PORT)

## The whole test suite against real PostgreSQL; non-zero on any failure. The browser suite
## (tests/browser, marker `browser`) is part of it; PYTEST_ARGS='-m "not browser"' leaves it out.
test: venv browser-deps
	@$(DBENV); export DJANGO_SETTINGS_MODULE=sheshi.settings.test; \
	$(BIN)/ruff check . && $(BIN)/python -m pytest $(PYTEST_ARGS)

## Only the browser suite (Selenium + Debian chromium; screenshots of failures in var/browser/).
test-browser: venv browser-deps
	@$(DBENV); export DJANGO_SETTINGS_MODULE=sheshi.settings.test; \
	$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

## Debian's chromium + chromium-driver for the browser suite, installed with apt when missing
## and run as root (CI); otherwise the browser tests skip and say how to install them.
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "browser suite: chromium/chromium-driver missing (apt-get install -y chromium chromium-driver as root); its tests will skip"; fi; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## Re-lock with hashes; uv from PATH, else installed into the venv (a tool only: not in the lock).
UV = $(shell command -v uv || echo $(BIN)/uv)
lock: venv
	@test -x "$(UV)" || $(BIN)/pip install -q uv
	$(UV) pip compile --generate-hashes --python-version 3.11 requirements.in -o requirements.txt
	$(UV) pip compile --generate-hashes --python-version 3.11 requirements-dev.in -o requirements-dev.txt

## Rewrite schema/rules.sql, the current text of every database rule (functions, triggers, row-level
## security, CHECK/EXCLUDE constraints), from a throwaway database migrated from scratch and dropped
## after (scripts/rules_sql.py). Commit it with every migration or merge; the test suite fails when stale.
rules-sql: venv
	@$(DBENV); $(BIN)/python scripts/rules_sql.py

db-stop:
	$(PY) scripts/devdb.py stop

## Checks, migration safety, wheel/sdist/static artifacts; prints the git tag to create.
release: venv
	$(BIN)/python scripts/release.py
