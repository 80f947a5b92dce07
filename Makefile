# Webinar Attendance DWH — every set-up step is here, idempotent; README shows the two that matter.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO_DATE ?= 2026-11-24T06:00:00+01:00
PYTEST_ARGS ?=

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)

.PHONY: followups docs help demo test test-fast lint typecheck venv postgres redis stack down manifest airflow celery test-celery dashboard bench bench-airflow lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: venv postgres manifest  ## run the morning job end to end on the local stack (PostgreSQL + API sandbox)
	$(BIN)/python scripts/devstack.py up
	source .local/env.sh && $(BIN)/python scripts/demo.py --logical-date "$(DEMO_DATE)"

test: venv postgres manifest lint typecheck redis  ## linters and type check, the whole test suite (unit → sandbox → warehouse → dags → e2e), then the DAG on Celery
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-celery PYTEST_ARGS=

test-fast: venv postgres  ## unit + sandbox + warehouse layers only
	$(BIN)/python -m pytest -m "unit or sandbox or warehouse" $(PYTEST_ARGS)

lint: venv  ## ruff + sqlfluff
	$(BIN)/ruff check .
	cd dbt_project && ../$(BIN)/sqlfluff lint models

typecheck: venv  ## mypy on plugins/ (settings in pyproject.toml)
	$(BIN)/mypy

venv: $(STAMP)  ## create .venv from the pinned requirements.txt
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip install -q -p $(BIN)/python -r requirements.txt
	touch $(STAMP)

postgres:  ## make sure PostgreSQL server binaries exist (installs Debian's package as root)
	@bash scripts/ensure_postgres.sh

redis:  ## make sure redis-server exists (the Celery broker; installs Debian's package as root)
	@bash scripts/ensure_redis.sh

manifest: venv  ## dbt parse → dbt_project/target/manifest.json (Cosmos renders the DAG from it)
	cd dbt_project && DBT_PROFILES_DIR=. ../$(BIN)/dbt parse --quiet >/dev/null

stack: venv postgres  ## start PostgreSQL, roles and the API sandbox; write .local/env.sh
	$(BIN)/python scripts/devstack.py up

down:  ## stop the sandbox and PostgreSQL
	-$(BIN)/python scripts/devstack.py down

airflow: stack manifest  ## Airflow UI on http://127.0.0.1:8080 wired to the local stack
	source .local/env.sh && bash scripts/airflow_standalone.sh

celery: stack manifest redis  ## Airflow on CeleryExecutor: redis, scheduler, dag-processor, api-server, two workers
	source .local/env.sh && $(BIN)/python scripts/celery_stack.py

test-celery: venv postgres manifest redis  ## the morning DAG on a real two-worker Celery stack (tests/celery, a few minutes)
	$(BIN)/python -m pytest -m celery tests/celery --durations=5 $(PYTEST_ARGS)

dashboard: stack  ## the bundled dashboard on http://127.0.0.1:8501 (reads published marts as bi_reader)
	source .local/env.sh && $(BIN)/streamlit run dashboard/app.py --server.headless true \
		--server.address 127.0.0.1 --browser.gatherUsageStats false

followups:  ## CSV of a follow-up list as crm_reader: LIST=no_shows|attendees|engaged [WEBINAR=id] [SINCE=date] [OUT=file]
	source .local/env.sh && $(BIN)/python -m webinar_dwh.followups $(or $(LIST),no_shows) \
		$(if $(WEBINAR),--webinar "$(WEBINAR)") $(if $(SINCE),--since "$(SINCE)") $(if $(OUT),--out "$(OUT)")

docs:  ## serve the docs the last run generated: dbt docs and GX Data Docs on http://127.0.0.1:8090
	@echo "dbt docs: http://127.0.0.1:8090/dbt/   GX Data Docs: http://127.0.0.1:8090/gx/"
	$(BIN)/python -m http.server 8090 --bind 127.0.0.1 --directory .local/docs

bench: venv postgres manifest  ## benchmark (SCALE=1 by default); writes bench/RESULTS.md
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-airflow: venv postgres manifest  ## the morning run under a LocalExecutor scheduler vs in-process; its section of bench/RESULTS.md
	$(BIN)/python -m bench.airflow_run $(or $(BENCH_ARGS),--scale 1)

lock:  ## re-resolve requirements.in → requirements.txt (needs only PyPI)
	$(BIN)/uv pip compile requirements.in -p 3.11 -o requirements.txt --no-header

clean: down  ## remove local state (cluster, Airflow home, venv)
	rm -rf .local $(VENV) dbt_project/target
