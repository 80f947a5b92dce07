#!/usr/bin/env bash
# Local Airflow 3 (api-server + UI, scheduler, dag-processor, triggerer) wired to the local stack.
#
#   make airflow                       # = make stack manifest; source .local/env.sh; this script
#   AIRFLOW__API__PORT=8090 make airflow
#
# Expects .local/env.sh to be sourced (it sets AIRFLOW_HOME, the AIRFLOW_CONN_* connections of the
# warehouse and the API sandbox, DWH_* settings and PATH with the project's venv). Everything here
# only fills in defaults, so any variable set by the caller wins.
#
# Login: the UI listens on 127.0.0.1 only and, by default, runs SimpleAuthManager with
# `simple_auth_manager_all_admins=True`: no login form, every visitor is admin. That is Airflow 3's
# documented no-auth development mode — never expose this port. To get a login form instead, set
# AIRFLOW_UI_PASSWORD: the user is `admin` with that password (kept in
# $AIRFLOW_HOME/simple_auth_manager_passwords.json, mode 600).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -z "${AIRFLOW_CONN_DWH_DEFAULT:-}" ]]; then
    echo "AIRFLOW_CONN_DWH_DEFAULT is not set: run 'make airflow', or 'make stack' and 'source .local/env.sh' first" >&2
    exit 2
fi
if [[ ! -f "$ROOT/dbt_project/target/manifest.json" ]]; then
    echo "dbt_project/target/manifest.json is missing: run 'make manifest' first (Cosmos renders the DAG from it)" >&2
    exit 2
fi

export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONPATH="${PYTHONPATH:-$ROOT/plugins:$ROOT}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.local/airflow}"
mkdir -p "$AIRFLOW_HOME"

export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$ROOT/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
# LocalExecutor starts one worker per parallelism slot (32 by default, ~1.5 GB): keep it small.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="${AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT:-120}"
# As docker-compose.yaml: task processes fork from workers that already imported Cosmos, this
# package, dbt and GX (webinar_dwh.orchestration.TASK_PRELOAD_MODULES), and a finished task's
# downstream is queued within ~0.25 s.
export AIRFLOW__SCHEDULER__MP_START_METHOD="${AIRFLOW__SCHEDULER__MP_START_METHOD:-forkserver}"
if [[ -z "${AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD:-}" ]]; then
    AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD="$(python -c \
        'from webinar_dwh.orchestration import TASK_PRELOAD_MODULES as m; print(",".join(m))')"
    export AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD
fi
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="${AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME:-0.25}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"

export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
# Task workers reach the Execution API through the base URL: it must follow the port.
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT}"

export AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
if [[ -n "${AIRFLOW_UI_PASSWORD:-}" ]]; then
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json"
    (umask 077 && AIRFLOW_UI_PASSWORD="$AIRFLOW_UI_PASSWORD" python -c \
        'import json, os, sys; json.dump({"admin": os.environ["AIRFLOW_UI_PASSWORD"]}, open(sys.argv[1], "w"))' \
        "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    login="user admin, password from AIRFLOW_UI_PASSWORD"
else
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS:-True}"
    login="no login (SimpleAuthManager all-admins dev mode, 127.0.0.1 only)"
fi


echo "Airflow UI: $AIRFLOW__API__BASE_URL  ($login)"
echo "DAG: webinar_attendance (paused at creation: unpause it or trigger a run for a logical date)"
cd "$ROOT"
exec airflow standalone
