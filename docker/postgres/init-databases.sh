#!/usr/bin/env bash
# Runs once, on the first start of an empty PostgreSQL volume (docker-entrypoint-initdb.d).
# Two databases on one server: Airflow's metadata and the warehouse. The warehouse roles
# (dwh_owner, bi_reader) are created by the `airflow-init` service (docker/bootstrap_warehouse.py).
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD must be set}"
: "${DWH_DATABASE:=dwh}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=airflow_password="$AIRFLOW_DB_PASSWORD" --set=dwh_database="$DWH_DATABASE" <<'SQL'
create role airflow login password :'airflow_password';
create database airflow owner airflow;
create database :"dwh_database";
SQL
