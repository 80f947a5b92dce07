"""The timed stages of one run, the plain-COPY baseline and the dashboard queries.

Every function takes what it needs explicitly and returns plain numbers; the orchestration and
the report are in :mod:`bench.__main__`.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dashboard import data as dashboard_data
from webinar_dwh import config
from webinar_dwh.dbt_runner import run_dbt
from webinar_dwh.pipeline import prepare_warehouse
from webinar_dwh.warehouse.bootstrap import RAW_SCHEMA
from webinar_dwh.warehouse.db import sqlalchemy_url
from webinar_dwh.warehouse.landing import RAW_COPY_COLUMNS
from webinar_dwh.warehouse.publish import publish_marts

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ExtractLoad:
    """One extract + load in a child process.

    Attributes:
        total_s: wall time of extract + land of the three sources.
        land_s: time inside ``land_batch`` (serialise + COPY + commit).
        extract_s: ``total_s - land_s``: HTTP + client parsing + contract checks.
        rows: raw rows landed.
        peak_rss_mb: the child's RSS high-water mark (``VmHWM`` of its own address space), MiB.
        wait4_maxrss_mb: ``ru_maxrss`` from ``os.wait4`` — includes the parent's size at fork
            time on Linux, so it is an upper bound only (reported for transparency).
        process_s: wall time of the child process including interpreter start-up and imports.
        sandbox_cpu_s: CPU seconds this (parent) process spent meanwhile: the sandbox server
            threads serving the child's HTTP requests (the parent itself only waits). Compared
            with ``extract_s`` it shows whether the sandbox is the bottleneck of the extract.
    """

    total_s: float
    land_s: float
    extract_s: float
    rows: int
    peak_rss_mb: float
    wait4_maxrss_mb: float
    process_s: float
    sandbox_cpu_s: float
    detail: dict[str, Any]


def extract_load(interval_end: datetime, *, full_refresh: bool) -> ExtractLoad:
    """Run ``python -m bench.extract_load`` and read its peak RSS with ``os.wait4``."""
    args = [sys.executable, "-m", "bench.extract_load", "--interval-end", interval_end.isoformat()]
    if full_refresh:
        args.append("--full-refresh")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])}
    started = time.perf_counter()
    cpu_before = _own_cpu_s()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        sandbox_cpu_s = _own_cpu_s() - cpu_before
        proc.returncode = os.waitstatus_to_exitcode(status)
        process_s = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.extract_load failed with exit code {proc.returncode}")
    line = next(ln for ln in text.splitlines() if ln.startswith("BENCH_RESULT "))
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    return ExtractLoad(
        total_s=result["total_s"],
        land_s=result["land_s"],
        extract_s=result["total_s"] - result["land_s"],
        rows=result["rows"],
        peak_rss_mb=result["peak_rss_kib"] / 1024,
        wait4_maxrss_mb=usage.ru_maxrss / 1024,
        process_s=process_s,
        sandbox_cpu_s=sandbox_cpu_s,
        detail=result,
    )


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def plain_copy_rows_per_s(owner_dsn: str) -> tuple[float, int, float]:
    """The physical limit: binary ``COPY FROM STDIN`` of the landed rows into identical tables.

    Every ``raw.*`` table is exported (untimed) in binary COPY format to a temporary file, then
    streamed into a ``bench_copy`` table created ``LIKE`` it ``INCLUDING ALL`` (same columns,
    defaults, indexes) — same payloads, same metadata columns, one transaction per table, 1 MiB
    writes. The tables are dropped afterwards.

    Returns:
        ``(rows_per_s, rows, seconds)`` over all raw tables.
    """

    cols = sql.SQL(", ").join(map(sql.Identifier, RAW_COPY_COLUMNS))
    total_rows, total_s = 0, 0.0
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select tablename from pg_tables where schemaname = %s and tablename <> 'quarantine' "
                "order by 1",
                (RAW_SCHEMA,),
            )
        ]
        conn.execute("drop schema if exists bench_copy cascade")
        conn.execute("create schema bench_copy")
        try:
            for table in tables:
                src = sql.Identifier(RAW_SCHEMA, table)
                dst = sql.Identifier("bench_copy", table)
                conn.execute(sql.SQL("create table {} (like {} including all)").format(dst, src))
                with tempfile.TemporaryFile() as buf:
                    with conn.cursor().copy(
                        sql.SQL("copy (select {} from {}) to stdout (format binary)").format(cols, src)
                    ) as copy:
                        for chunk in copy:
                            buf.write(chunk)
                    buf.seek(0)
                    started = time.perf_counter()
                    with conn.transaction(), conn.cursor() as cur:
                        with cur.copy(
                            sql.SQL("copy {} ({}) from stdin (format binary)").format(dst, cols)
                        ) as copy:
                            while chunk := buf.read(1 << 20):
                                copy.write(chunk)
                        rows = cur.rowcount
                    total_s += time.perf_counter() - started
                total_rows += rows
        finally:
            conn.execute("drop schema if exists bench_copy cascade")
    return (total_rows / total_s if total_s else 0.0), total_rows, total_s


def settle(owner_dsn: str) -> float:
    """``VACUUM (ANALYZE)`` of the warehouse between two runs; seconds (not part of a run).

    Two real mornings are 24 h apart, and autovacuum has long visited the tables a run loaded or
    rewrote by the next one (visibility map, hint bits, statistics). Back-to-back runs in a bench
    would otherwise make the next run pay for the previous one's bulk writes. The owner vacuums
    what it owns (every warehouse table).
    """
    started = time.perf_counter()
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("vacuum (analyze)")
    return time.perf_counter() - started


def prepare() -> float:
    """The DAG's ``prepare_warehouse`` task (``ensure_schema``, every morning); seconds."""

    started = time.perf_counter()
    prepare_warehouse()
    return time.perf_counter() - started


def dbt_build(as_of: datetime) -> float:
    """``dbt build`` (models + tests) in-process for ``as_of``; seconds. Raises on failure."""

    started = time.perf_counter()
    res = run_dbt(["build", "--quiet"], dbt_vars={"as_of": as_of.isoformat()})
    seconds = time.perf_counter() - started
    if not res.success:
        failed = [
            f"{r.node.name}: {r.status}"
            for r in getattr(res.result, "results", None) or []
            if str(r.status).lower() not in {"success", "pass"}
        ]
        raise RuntimeError(f"dbt build failed: {failed or res.exception}")
    return seconds


def gx_validate(run_date: date) -> float:
    """GX validation of ``marts_build`` (blocking failures raise); seconds incl. the GX import."""
    started = time.perf_counter()
    from webinar_dwh.quality.runner import validate_marts

    url = sqlalchemy_url(config.get_connection(config.dwh_conn_id()))
    validate_marts(url, schema="marts_build", run_date=run_date).raise_for_blocking()
    return time.perf_counter() - started


def publish(owner_dsn: str, dag_run_id: str) -> float:
    """``publish_marts`` into ``marts``; seconds."""

    started = time.perf_counter()
    with psycopg.connect(owner_dsn) as conn:
        publish_marts(conn, dag_run_id=dag_run_id)
    return time.perf_counter() - started


# What the dashboard runs (its own query texts), plus two queries BI tools typically run on the
# other marts (docs/bi_guide.md): a daily series per course/language and registrations per webinar.
DASHBOARD_QUERIES: dict[str, str | sql.Composed] = {
    "kpis": dashboard_data.KPIS_SQL,
    "weekly_trend": dashboard_data.WEEKLY_TREND_SQL,
    "breakdown_course": dashboard_data.breakdown_sql("course"),
    "webinar_table": dashboard_data.WEBINARS_SQL,
    "daily_by_course_language": "select webinar_date, sum(registered), sum(attended) "
    "from marts.attendance_daily where webinar_date >= %(start)s and webinar_date < %(end_excl)s "
    "and course = any(%(courses)s::text[]) and language = any(%(languages)s::text[]) "
    "group by 1 order by 1",
    "upcoming_forecast": dashboard_data.UPCOMING_SQL,
    "pace_curve": dashboard_data.PACE_SQL,
    "flags": dashboard_data.FLAGS_SQL,
    # the audience views (issue: channels, audience, engagement, the recording)
    "funnel": dashboard_data.FUNNEL_SQL,
    "reach": dashboard_data.REACH_SQL,
    "channels": dashboard_data.CHANNELS_SQL,
    "channel_trend": dashboard_data.CHANNEL_TREND_SQL,
    "audience": dashboard_data.AUDIENCE_SQL,
    "cohorts": dashboard_data.COHORTS_SQL,
    "engagement": dashboard_data.ENGAGEMENT_SQL,
    "course_language_deltas": dashboard_data.COURSE_LANGUAGE_SQL,
    "monthly_by_course": dashboard_data.MONTHLY_BY_COURSE_SQL,
    "registrations_of_period": "select r.platform, count(*), count(*) filter (where r.attended) "
    "from marts.fct_registrations r join marts.dim_webinars w using (platform, webinar_id) "
    "where w.webinar_date >= %(start)s and w.webinar_date < %(end_excl)s "
    "and w.course = any(%(courses)s::text[]) and w.language = any(%(languages)s::text[]) "
    "group by 1",
}


def dashboard_queries(bi_dsn: str, *, end: date, repeats: int = 5) -> dict[str, float]:
    """Median milliseconds of the dashboard's typical queries as ``bi_reader`` (warm, one connection).

    The filter is the dashboard's own (:class:`dashboard.data.Filters`): the last 90 days ending
    at ``end``, the most frequent course and language in the marts.
    """
    with psycopg.connect(bi_dsn, autocommit=True) as conn:
        course, language = conn.execute(
            "select course, language from marts.webinar_attendance where course <> 'unmapped' "
            "and language <> 'unmapped' group by 1, 2 order by count(*) desc limit 1"
        ).fetchone() or ("unmapped", "unmapped")
        params = dashboard_data.Filters(
            start=end - timedelta(days=90), end=end, courses=(course,), languages=(language,)
        ).params()
        # the pace chart of the soonest upcoming webinar
        platform, webinar_id = conn.execute(
            "select platform, webinar_id from marts.webinar_forecast order by start_time limit 1"
        ).fetchone() or ("bigmarker", "none")
        params.update(platform=platform, webinar_id=webinar_id)
        timings: dict[str, float] = {}
        for name, query in DASHBOARD_QUERIES.items():
            conn.execute(query, params).fetchall()  # warm the cache and the plan
            runs = []
            for _ in range(repeats):
                started = time.perf_counter()
                conn.execute(query, params).fetchall()
                runs.append((time.perf_counter() - started) * 1000)
            timings[name] = statistics.median(runs)
    return timings


def forecast_backtest(owner_dsn: str) -> list[dict[str, Any]]:
    """The published ``marts.forecast_backtest`` summarised per horizon: MAPE and WAPE of the
    forecast and of the naive baseline (the course's mean final registrations), same webinars."""
    with psycopg.connect(owner_dsn) as conn:
        rows = conn.execute(
            """
            select horizon_days, count(*),
                   avg(forecast_abs_error / final_registrations)::float8,
                   avg(baseline_abs_error / final_registrations)::float8,
                   (sum(forecast_abs_error) / sum(final_registrations))::float8,
                   (sum(baseline_abs_error) / sum(final_registrations))::float8
            from marts.forecast_backtest
            group by horizon_days
            order by horizon_days desc
            """
        ).fetchall()
    keys = ("horizon_days", "webinars", "mape", "baseline_mape", "wape", "baseline_wape")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def marts_fingerprint(owner_dsn: str) -> dict[str, str]:
    """md5 of every published mart's rows (order-independent); ``data_freshness`` left out.

    ``data_freshness`` reports when the data was loaded and built, which a rebuild changes; so do
    technical columns (``_watermark``: which build wrote a row), which are left out too.
    """
    out: dict[str, str] = {}
    with psycopg.connect(owner_dsn) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "and table_name <> 'data_freshness' order by 1"
            )
        ]
        for table in tables:
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = 'marts' "
                    "and table_name = %s and column_name not like '\\_%%' order by ordinal_position",
                    (table,),
                )
            ]
            cols = sql.SQL(", ").join(map(sql.Identifier, columns))
            row = conn.execute(
                sql.SQL(
                    "select md5(string_agg(r::text, '|' order by r::text)) from (select {} from {}) as r"
                ).format(cols, sql.Identifier("marts", table))
            ).fetchone()
            out[table] = (row[0] if row else None) or "empty"
    return out


def stopwatch() -> Any:
    """``perf_counter`` shortcut for the orchestrator."""
    return time.perf_counter()
