"""End-to-end harness: a fresh warehouse database, the API sandbox, and real DAG runs (``dag.test()``).

Imported by the e2e, dashboard, reliability and airflow_ui tests and by tests/conftest.py
(``build_clean_morning``: the session's one published clean morning).

Each module gets its own warehouse database with the project's roles and schema, its own
sandbox server (in-process thread, real HTTP on 127.0.0.1) and the ``AIRFLOW_CONN_*`` /
``DWH_*`` environment a deployment would have. Runs go through Airflow for real: the DAG is
loaded from ``dags/`` and executed with ``dag.test()``, tasks, Cosmos dbt tasks and GX included.
"""

from __future__ import annotations

import gc
import secrets
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from webinar_dwh.config import patched_env

ROOT = Path(__file__).resolve().parents[2]
#: 06:00 Europe/Berlin on 2026-11-24: the sandbox's default clock, the morning every layer checks.
MORNING = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
OWNER_PASSWORD = secrets.token_urlsafe(12)
BI_PASSWORD = secrets.token_urlsafe(12)
CRM_PASSWORD = secrets.token_urlsafe(12)
PII_KEY = secrets.token_urlsafe(24)


@dataclass
class Stack:
    """One warehouse + one sandbox, wired through the environment like a deployment."""

    superuser_dsn: str
    owner_dsn: str
    bi_dsn: str
    sandbox: Any
    env: dict[str, str] = field(default_factory=dict)

    def dag(self):
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags" / "webinar_attendance.py"))
        assert bag.import_errors == {}, bag.import_errors
        return bag.get_dag("webinar_attendance")

    def run(
        self,
        logical_date: datetime,
        conf: dict | None = None,
        *,
        mark_success: str | None = None,
        run_after: datetime | None = None,
        adjust: Callable[[Any], None] | None = None,
    ):
        """Run the DAG once for ``logical_date``; returns the DagRun (state success/failed).

        Args:
            logical_date: The run's logical date.
            conf: The run's params.
            mark_success: Regex of task ids Airflow marks successful instead of running
                (``dag.test(mark_success_pattern=...)``); every other task runs for real.
            run_after: When the run may start; fixes its run id (``manual__<run_after>``),
                e.g. for a dbt build made outside Airflow that must carry the run's stamp.
            adjust: Called with the loaded DAG before the run, e.g. to give tasks a retry one
                second later instead of the deployment's minutes.

        Cosmos calls ``gc.collect()`` after every dbt invocation. In this process that would
        scan the whole test session's heap each time (~0.7 s per dbt task, a third of a run's
        CPU); the heap as it is before the run is frozen, so the collections see only what
        the run allocates. A deployment runs each task in its own small process.
        """
        dag = self.dag()
        if adjust is not None:
            adjust(dag)
        gc.collect()
        gc.freeze()
        try:
            return dag.test(
                logical_date=logical_date, run_after=run_after, run_conf=conf or {},
                mark_success_pattern=mark_success,
            )
        finally:
            gc.unfreeze()

    def run_pipeline(self, interval_end: datetime, *, full_refresh: bool = False) -> dict[str, Any]:
        """The same task functions the DAG calls, in order, without Airflow (fast path for tests).

        Sets the sandbox clock to ``interval_end`` first (the vendors' "now" of that morning).
        Raises whatever a task would raise (``QualityGateFailed``, ``AuthError``, ...).
        """
        from webinar_dwh import pipeline
        from webinar_dwh.dbt_runner import run_dbt

        self.sandbox.configure(as_of=interval_end)
        run = pipeline.RunInfo.manual(interval_end, full_refresh=full_refresh)
        as_of = datetime.fromisoformat(pipeline.prepare_warehouse(run)["as_of"])
        loads = {}
        for src in ("bigmarker", "calendly", "zoom"):
            if self.env.get(f"DWH_ENABLE_{src.upper()}") == "true":
                loads[src] = pipeline.extract_load(src, run)
        for args in (["seed"], ["build"]):
            res = run_dbt(args, dbt_vars=pipeline.dbt_build_vars(run, as_of))
            if not res.success:
                raise RuntimeError(f"dbt {' '.join(args)} failed: {res.exception or res.result}")
        validation = pipeline.validate_build(run)
        published = pipeline.publish(run)
        return {"loads": loads, "validation": validation, "published": published}

    def query(
        self, sql: str, params: tuple = (), *, as_bi: bool = False, as_crm: bool = False
    ) -> list[tuple]:
        dsn = self.bi_dsn if as_bi else self.crm_dsn if as_crm else self.owner_dsn
        with psycopg.connect(dsn) as conn:
            return conn.execute(sql, params).fetchall()

    @property
    def crm_dsn(self) -> str:
        """The sales team's role (``crm_reader``): the follow-up lists in schema ``crm`` only."""
        return self.bi_dsn.replace(f"bi_reader:{BI_PASSWORD}@", f"crm_reader:{CRM_PASSWORD}@", 1)

    def marts_hash(self) -> dict[str, str]:
        """A content hash per published mart (order-independent).

        ``data_freshness`` is left out on purpose: it reports when data was loaded, which is
        what a rerun changes; so are technical columns (``_watermark``: which build wrote a row).
        """
        out = {}
        with psycopg.connect(self.owner_dsn) as conn:
            tables = [r[0] for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "and table_name <> 'data_freshness' order by 1"
            )]
            for t in tables:
                cols = ", ".join(
                    f'"{c}"'
                    for (c,) in conn.execute(
                        "select column_name from information_schema.columns where table_schema = 'marts' "
                        "and table_name = %s and left(column_name, 1) <> '_' order by ordinal_position",
                        (t,),
                    )
                )
                rows = conn.execute(
                    "select md5(string_agg(r::text, '|' order by r::text)) "
                    f'from (select {cols} from marts."{t}") r'
                ).fetchone()
                out[t] = rows[0] or "empty"
        return out


def bootstrap_warehouse(db_dsn: str) -> tuple[str, str]:
    """Roles + schema in ``db_dsn``'s (superuser, empty) database; returns ``(owner_dsn, bi_dsn)``."""
    from webinar_dwh.warehouse.bootstrap import bootstrap_roles, ensure_schema

    dbname = db_dsn.rsplit("/", 1)[1]
    host_port = db_dsn.split("@", 1)[1].rsplit("/", 1)[0]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        bootstrap_roles(
            conn,
            owner_password=OWNER_PASSWORD,
            bi_password=BI_PASSWORD,
            crm_password=CRM_PASSWORD,
            database=dbname,
        )
    owner_dsn = f"postgresql://dwh_owner:{OWNER_PASSWORD}@{host_port}/{dbname}"
    bi_dsn = f"postgresql://bi_reader:{BI_PASSWORD}@{host_port}/{dbname}"
    with psycopg.connect(owner_dsn) as conn:
        ensure_schema(conn, pii_key=PII_KEY)
        conn.commit()
    return owner_dsn, bi_dsn


def stack_env(owner_dsn: str, sandbox: Any, sources: tuple[str, ...]) -> dict[str, str]:
    """The ``AIRFLOW_CONN_*`` / ``DWH_*`` environment of a deployment on this warehouse and sandbox."""
    from sandbox.connections import airflow_conn_env

    conns = airflow_conn_env(sandbox)
    env = {
        "AIRFLOW_CONN_DWH_DEFAULT": owner_dsn,
        "DWH_PII_KEY": PII_KEY,
        "DWH_TASK_RETRIES": "0",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DWH_HTTP_BACKOFF_CAP": "0.2",
        "DBT_PROFILES_DIR": str(ROOT / "dbt_project"),
    }
    for src in ("bigmarker", "calendly", "zoom"):
        key = f"AIRFLOW_CONN_{src.upper()}_DEFAULT"
        if src in sources:
            env[key] = conns[key]
        env[f"DWH_ENABLE_{src.upper()}"] = "true" if src in sources else "false"
    return env


@contextmanager
def make_stack(db_dsn: str, *, sources: tuple[str, ...] = ("bigmarker",), **sandbox_kwargs: Any):
    """Bootstrap roles + schema in ``db_dsn``'s database and start a sandbox; set the env."""
    from sandbox import SandboxConfig, SandboxServer

    owner_dsn, bi_dsn = bootstrap_warehouse(db_dsn)
    with SandboxServer(SandboxConfig(**sandbox_kwargs)) as sb:
        env = stack_env(owner_dsn, sb, sources)
        with patched_env(env):
            yield Stack(superuser_dsn=db_dsn, owner_dsn=owner_dsn, bi_dsn=bi_dsn, sandbox=sb, env=env)


@dataclass(frozen=True)
class PublishedWarehouse:
    """A warehouse whose marts are published: DSNs, the marts' content hash, the build time."""

    owner_dsn: str
    bi_dsn: str
    marts_hash: dict[str, str]
    seconds: float


def build_clean_morning(db_dsn: str, interval_end: datetime = MORNING) -> PublishedWarehouse:
    """One clean, fault-free morning in ``db_dsn``'s (empty) database, without Airflow.

    All three sources from a default sandbox (seed 42) are extracted and landed, then
    ``dbt seed`` + ``dbt build`` (models and their tests, into ``marts_build``) with
    ``as_of = interval_end``, then the marts are published. No GX gate: this is a reference
    the layers compare with or read, the gate is proven where it runs (quality, e2e). The
    sandbox stops and the environment is restored before this returns.
    """
    from webinar_dwh import pipeline
    from webinar_dwh.dbt_runner import run_dbt
    from webinar_dwh.warehouse.publish import publish_marts

    started = time.perf_counter()
    with make_stack(db_dsn, sources=("bigmarker", "calendly", "zoom")) as stack:
        stack.sandbox.configure(as_of=interval_end)
        run = pipeline.RunInfo.manual(interval_end)
        for source in ("bigmarker", "calendly", "zoom"):
            pipeline.extract_load(source, run)
        for args in (["seed", "--quiet"], ["build", "--quiet"]):
            res = run_dbt(args, dbt_vars=pipeline.dbt_build_vars(run, interval_end))
            assert res.success, f"dbt {args[0]} failed: {res.exception or res.result}"
        # the swap without the gate (and so without the check that the gate validated the build)
        with pipeline.warehouse_connection() as conn:
            publish_marts(conn, dag_run_id=run.dag_run_id)
        return PublishedWarehouse(
            owner_dsn=stack.owner_dsn,
            bi_dsn=stack.bi_dsn,
            marts_hash=stack.marts_hash(),
            seconds=round(time.perf_counter() - started, 1),
        )
