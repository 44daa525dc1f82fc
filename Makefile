# Sheshi — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Without DATABASE_URL, start (or reuse) the private PostgreSQL under var/pg.
DBENV = if [ -z "$$DATABASE_URL" ]; then eval "$$($(PY) scripts/devdb.py env)"; fi

.PHONY: run test venv lint lock db-stop bench migrations-check release

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements.txt
	$(BIN)/pip install -q --require-hashes -r requirements-dev.txt
	@touch $@

venv: $(BIN)/.installed

## Migrate, load the demo group, serve admin + API on http://$(HOST):$(PORT)/
run: venv
	@$(DBENV); export DJANGO_SETTINGS_MODULE=sheshi.settings.dev; \
	$(BIN)/python manage.py migrate --no-input && \
	$(BIN)/python manage.py load_demo && \
	echo "Sheshi: admin http://$(HOST):$(PORT)/admin/  API docs http://$(HOST):$(PORT)/api/v1/docs/  (logins: README.md)" && \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## The whole test suite against real PostgreSQL; non-zero on any failure.
test: venv
	@$(DBENV); export DJANGO_SETTINGS_MODULE=sheshi.settings.test; \
	$(BIN)/ruff check . && $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

lock:
	uv pip compile --generate-hashes --python-version 3.11 requirements.in -o requirements.txt
	uv pip compile --generate-hashes --python-version 3.11 requirements-dev.in -o requirements-dev.txt

db-stop:
	$(PY) scripts/devdb.py stop

## Checks, migration safety, wheel/sdist/static artifacts; prints the git tag to create.
release: venv
	$(BIN)/python scripts/release.py
