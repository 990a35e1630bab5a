# bankcrm — the two commands a new user needs are `make demo` and `make test` (README).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
MANAGE := $(PYTHON) manage.py
PG_URL ?= postgres://postgres@127.0.0.1:5432/bankcrm
export DJANGO_SETTINGS_MODULE ?= config.settings.dev
# Bytecode is cached (__pycache__, git-ignored) even where the environment says not to: every test worker, every
# `manage.py` a test starts and every gunicorn worker would otherwise compile the whole project from source again
# (and pytest rewrite every test module): about 12 s of CPU per process on this machine.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup demo run test test-sqlite test-postgres e2e tour lint bench bench-quick bench-http worker demo-code demo-logins clean prod-check

$(BIN)/python:
	@command -v $(PY) >/dev/null || { echo "需要 Python 3.11 / Python 3.11 is required"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## setup: virtualenv, pinned dependencies, front-end packages, keys, migrations, translations, demo bank. Safe to rerun.
setup: $(VENV)/.installed node_modules/.installed
	mkdir -p var
	@test -f var/secret_key.txt || $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key.txt
	$(MANAGE) init_keys
	$(MANAGE) compilemessages -v0 --ignore=node_modules --ignore=.venv
	$(MANAGE) migrate -v0
	$(MANAGE) seed_demo
	$(MANAGE) demo_logins

## demo: everything `setup` does, then serve http://127.0.0.1:8000 (with the job worker, scheduler and outbox relay)
demo: setup
	@echo "打开 / open http://127.0.0.1:8000 — Ctrl+C 停止 / to stop"
	$(MANAGE) db_worker --queue-name '*' --no-reload >var/worker.log 2>&1 & \
	 $(MANAGE) scheduler >var/scheduler.log 2>&1 & \
	 $(MANAGE) outbox_relay >var/outbox.log 2>&1 & \
	 trap 'kill %1 %2 %3 2>/dev/null' EXIT; $(MANAGE) runserver 127.0.0.1:8000

run:
	$(MANAGE) runserver 127.0.0.1:8000

## worker: background job worker, periodic scheduler and outbox relay
worker:
	$(MANAGE) scheduler & $(MANAGE) outbox_relay & trap 'kill %1 %2' EXIT; $(MANAGE) db_worker --queue-name '*' --no-reload

demo-code:
	@$(MANAGE) demo_code $(U)

demo-logins:
	@$(MANAGE) demo_logins

## test: the whole suite on SQLite and on PostgreSQL (browser tests included); fails if either fails
test: $(VENV)/.installed node_modules/.installed
	$(MANAGE) compilemessages -v0 --ignore=node_modules --ignore=.venv
	$(MANAGE) makemigrations --check --dry-run -v0
	$(BIN)/ruff check .
	$(PYTHON) -m compileall -q -j 0 bankcrm config tests benchmarks manage.py
	@# one database after the other; each suite is spread over the machine's cores (pytest-xdist, $(TEST_WORKERS))
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test-sqlite:
	@echo "== SQLite =="
	env -u DATABASE_URL DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n $(TEST_WORKERS)

test-postgres:
	@echo "== PostgreSQL =="
	DATABASE_URL=$(PG_URL) DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n $(TEST_WORKERS)

e2e:
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -m e2e

## tour: a browser walks every role's day on the small demo bank and refreshes docs/screenshots (the gallery)
tour:
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -m tour tests/e2e/test_tour.py -s

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

PROD_ENV = DJANGO_SETTINGS_MODULE=config.settings.prod DJANGO_SECRET_KEY=$$($(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))") \
	  DATABASE_URL=$(PG_URL) DJANGO_ALLOWED_HOSTS=crm.example.cn

## prod-check: the production settings pass Django's deployment checks (HSTS, secure cookies, SSL redirect, …) with and
## without the optional services, models match migrations, gunicorn's configuration loads, the backup scripts parse
prod-check:
	$(PROD_ENV) $(MANAGE) check --deploy --fail-level WARNING
	$(PROD_ENV) REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_REPLICA_URL=$(PG_URL) BANKCRM_TASKS_BACKEND=rq \
	  BANKCRM_METRICS_TOKEN=x $(MANAGE) check --deploy --fail-level WARNING
	$(PROD_ENV) $(MANAGE) makemigrations --check --dry-run -v0
	$(PROD_ENV) $(BIN)/gunicorn --check-config -c config/gunicorn.conf.py
	bash -n scripts/backup.sh && bash -n scripts/restore.sh

## bench: benchmarks (ratios against a reference in the same run) into var/bench/results.json
bench:
	$(PYTHON) benchmarks/run.py

bench-quick:
	$(PYTHON) benchmarks/run.py --quick

## bench-http: P5 and P8 only (gunicorn + PostgreSQL under HTTP load; also part of bench / bench-quick)
bench-http:
	$(PYTHON) benchmarks/run.py --quick --only http --database postgresql

clean:
	rm -rf var
