"""A throw-away warehouse database + API sandbox wired through the environment like a deployment.

Mirrors what a deployment has (and what ``tests/e2e/harness.py`` builds): the ``dwh_owner`` and
``bi_reader`` roles, the raw/meta schema, ``AIRFLOW_CONN_*`` for the three vendors and the
warehouse, ``DWH_PII_KEY`` and ``DWH_HISTORY_START`` set to the sandbox's history start (at
scale ≥ 2 the generated history starts before the default).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

ANCHOR = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
"""End of the generated history and the first run's data-interval end (the sandbox default)."""


@dataclass
class BenchStack:
    """One warehouse database and one sandbox server for one scale.

    Attributes:
        scale: the sandbox scale (1 ≈ one year, ~1,000 conferences).
        superuser_dsn: DSN of the bench database as the cluster superuser.
        owner_dsn: DSN as ``dwh_owner`` (the pipeline's role).
        bi_dsn: DSN as ``bi_reader``.
        sandbox: the running ``sandbox.SandboxServer``.
        history_start: first day of the generated history (UTC date).
        env: the environment a deployment would have (already applied to ``os.environ``).
    """

    scale: float
    superuser_dsn: str
    owner_dsn: str
    bi_dsn: str
    sandbox: Any
    history_start: str
    env: dict[str, str] = field(default_factory=dict)


def cluster_dsn() -> str:
    """Superuser DSN (database ``postgres``) of the local cluster, started on demand."""
    from scripts import local_pg

    dsn = local_pg.start()
    return dsn.rsplit("/", 1)[0] + "/postgres"


def _history_start(universe: Any) -> datetime:
    """First parent start time of the universe (legacy Zoom occurrences precede BigMarker)."""
    starts = [universe.bigmarker_start_ts]
    starts += [o.start_ts for o in getattr(universe, "zoom_occurrences", [])]
    starts += [e.start_ts for e in getattr(universe, "calendly_events", [])]
    return datetime.fromtimestamp(min(starts), tz=UTC) - timedelta(days=1)


@contextmanager
def bench_stack(scale: float, *, seed: int = 42, keep_db: bool = False) -> Iterator[BenchStack]:
    """Create a database ``bench_<scale>_<random>``, bootstrap it, start a sandbox, set the env.

    The database is dropped on exit unless ``keep_db``.
    """
    from sandbox import SandboxConfig, SandboxServer
    from sandbox.connections import DBT_SEED_ENV, airflow_conn_env
    from webinar_dwh.config import patched_env
    from webinar_dwh.warehouse.bootstrap import bootstrap_roles, ensure_schema

    server = cluster_dsn()
    name = f"bench_{str(scale).replace('.', '_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    db_dsn = server.rsplit("/", 1)[0] + "/" + name
    owner_pw, bi_pw, pii_key = (secrets.token_urlsafe(12) for _ in range(3))
    try:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            bootstrap_roles(conn, owner_password=owner_pw, bi_password=bi_pw, database=name)
        host_port = db_dsn.split("@", 1)[1].rsplit("/", 1)[0] if "@" in db_dsn else None
        if host_port is None:
            raise RuntimeError(f"cannot derive host:port from the cluster DSN {server!r}")
        owner_dsn = f"postgresql://dwh_owner:{owner_pw}@{host_port}/{name}"
        bi_dsn = f"postgresql://bi_reader:{bi_pw}@{host_port}/{name}"
        with psycopg.connect(owner_dsn) as conn:
            ensure_schema(conn, pii_key=pii_key)
            conn.commit()
        with SandboxServer(SandboxConfig(seed=seed, scale=scale, as_of=ANCHOR)) as sb:
            history_start = _history_start(sb.universe).date().isoformat()
            env = {
                "AIRFLOW_CONN_DWH_DEFAULT": owner_dsn,
                "DWH_PII_KEY": pii_key,
                "DWH_HISTORY_START": history_start,
                "DWH_HTTP_BACKOFF_CAP": "0.2",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
                **airflow_conn_env(sb),
                **DBT_SEED_ENV,
            }
            for src in ("bigmarker", "calendly", "zoom"):
                env[f"DWH_ENABLE_{src.upper()}"] = "true"
            with patched_env(env):
                yield BenchStack(scale, db_dsn, owner_dsn, bi_dsn, sb, history_start, env)
    finally:
        if not keep_db:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
