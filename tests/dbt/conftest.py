"""Fixtures for the dbt tests: a warehouse with hand-written vendor payloads, built by dbt once.

The database is bootstrapped with the project's own set-up (``webinar_dwh.warehouse.bootstrap``:
roles, raw/meta tables and their indexes, as the pipeline's first task creates them). The
payloads in ``dbt_payloads.py`` cover the business rules; ``dbt build`` (seed, models, data and
unit tests) runs once per module as ``dwh_owner`` in a subprocess, like Airflow runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from dbt_payloads import AS_OF, LOADS, PII_KEY
from psycopg import conninfo, sql
from psycopg.types.json import Jsonb

from webinar_dwh.warehouse.bootstrap import OWNER_ROLE, bootstrap_roles, ensure_schema

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = ROOT / "dbt_project"
DBT = ROOT / ".venv" / "bin" / "dbt"
OWNER_PASSWORD = "owner-test-password"
BI_PASSWORD = "bi-test-password"


@dataclass(frozen=True)
class DbtRun:
    """A built test warehouse: where it is and what dbt said."""

    dsn: str
    """DSN of the role dbt ran as (``dwh_owner``)."""
    env: dict[str, str]
    """Environment that points dbt's profile at the test database."""
    result: subprocess.CompletedProcess[str]


def _bootstrap(superuser_dsn: str) -> str:
    """Create roles, schemas, raw/meta tables and the PII key; return the DSN dbt runs as."""
    database = conninfo.conninfo_to_dict(superuser_dsn)["dbname"]
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        bootstrap_roles(conn, owner_password=OWNER_PASSWORD, bi_password=BI_PASSWORD, database=database)
    params = conninfo.conninfo_to_dict(superuser_dsn) | {"user": OWNER_ROLE, "password": OWNER_PASSWORD}
    owner_dsn = conninfo.make_conninfo(**params)
    with psycopg.connect(owner_dsn) as conn:
        ensure_schema(conn, pii_key=PII_KEY)
    return owner_dsn


def land(dsn: str, tables: dict[str, list[tuple[str, str | None, dict]]], hours_ago: float = 0) -> None:
    """Insert ``tables`` ({raw table: [(record_key, parent_key, payload)]}) as one batch loaded
    ``hours_ago`` hours ago."""
    batch_id = uuid.uuid4()
    with psycopg.connect(dsn) as conn:
        for table, records in tables.items():
            for seq, (key, parent, payload) in enumerate(records):
                conn.execute(
                    sql.SQL(
                        "insert into {} (_batch_id, _row_seq, _record_key, _parent_key, _extracted_at,"
                        " _loaded_at, _dag_run_id, _logical_date, payload)"
                        " values (%s, %s, %s, %s, now() - make_interval(hours => %s),"
                        " now() - make_interval(hours => %s), 'manual__test', current_date, %s)"
                    ).format(sql.Identifier("raw", table)),
                    (batch_id, seq, key, parent, hours_ago, hours_ago, Jsonb(payload)),
                )


def _land(dsn: str) -> None:
    """Insert every load of ``LOADS`` as its own batch, oldest first (``_loaded_at`` ascending)."""
    for hours_ago, tables in LOADS:
        land(dsn, tables, hours_ago)


def dbt_env(dsn: str, tmp: Path) -> dict[str, str]:
    """Environment for a dbt subprocess against ``dsn`` with private target/log folders."""
    params = conninfo.conninfo_to_dict(dsn)
    return {
        **os.environ,
        "DWH_HOST": str(params.get("host", "127.0.0.1")),
        "DWH_PORT": str(params.get("port", "5432")),
        "DWH_USER": str(params["user"]),
        "DWH_PASSWORD": str(params.get("password", "")),
        "DWH_DATABASE": str(params["dbname"]),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_TARGET_PATH": str(tmp / "target"),
        "DBT_LOG_PATH": str(tmp / "logs"),
        "DBT_PARTIAL_PARSE": "False",
    }


def run_dbt(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``dbt <args>`` on the project with its committed profiles.yml; output captured."""
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def dbt_run(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtRun]:
    """``dbt build`` (seed, models, data and unit tests) on the hand-written payloads."""
    dsn = _bootstrap(module_db)
    _land(dsn)
    env = dbt_env(dsn, tmp_path_factory.mktemp("dbt"))
    result = run_dbt(["build", "--vars", json.dumps({"as_of": AS_OF})], env)
    yield DbtRun(dsn=dsn, env=env, result=result)


@pytest.fixture
def mart_conn(dbt_run: DbtRun) -> Iterator[psycopg.Connection]:
    """Connection to the built database; fails the test if ``dbt build`` did not succeed."""
    assert dbt_run.result.returncode == 0, dbt_run.result.stdout[-6000:] + dbt_run.result.stderr[-2000:]
    with psycopg.connect(dbt_run.dsn) as conn:
        yield conn
