"""What each task of the morning run does; the DAG only wires these functions.

Every function here is bounded by the run's data interval (never ``now()``) and idempotent:
raw is append-only, cursors only move forward inside the transaction of the rows they
describe, and staging keeps the latest record per key — so any rerun is harmless.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors

from webinar_dwh import config, digest, notify
from webinar_dwh.alerts import redact, send_alert
from webinar_dwh.dbt_runner import run_dbt, run_source_freshness
from webinar_dwh.dbt_runner import target_dir as dbt_target_dir
from webinar_dwh.records import Item, Record
from webinar_dwh.run import RunInfo
from webinar_dwh.sources import REGISTRY, VendorSource
from webinar_dwh.warehouse import builds, landing
from webinar_dwh.warehouse.bootstrap import ensure_schema
from webinar_dwh.warehouse.builds import effective_as_of
from webinar_dwh.warehouse.db import connect, sqlalchemy_url
from webinar_dwh.warehouse.publish import publish_marts

log = logging.getLogger(__name__)


class WarehouseUnavailable(RuntimeError):
    """The warehouse could not be reached or dropped the connection; the message names the
    Airflow connection (``dwh_default``) and what PostgreSQL said. Retried like any outage."""


@contextmanager
def warehouse_connection() -> Iterator[Any]:
    """A psycopg connection to the warehouse from the ``dwh_default`` connection, closed after the
    block (committing when the block succeeds, like psycopg's own context manager).

    Raises:
        WarehouseUnavailable: connecting failed or the server went away inside the block
            (psycopg's ``OperationalError``), naming the connection id and host.
    """
    conn_id = config.dwh_conn_id()
    info = config.get_connection(conn_id)
    try:
        with connect(info, application_name="webinar_dwh") as conn:
            yield conn
    except psycopg.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WarehouseUnavailable(
            f"warehouse connection '{conn_id}' ({info.host}:{info.port or 5432}/{info.schema}) failed: "
            f"{first_line}"
        ) from exc


def prepare_warehouse(run: RunInfo | None = None) -> dict[str, Any]:
    """Create/upgrade schemas, raw and meta tables (idempotent) and store the PII key.

    Returns:
        ``{"as_of": …}``: the cut-off this run's dbt build is computed for
        (:func:`build_as_of`), when ``run`` is given.
    """

    config.PipelineSettings.from_env()  # every setting, once: a bad one fails here, named
    with warehouse_connection() as conn:
        ensure_schema(conn, pii_key=config.pii_key())
        conn.commit()
    return {"as_of": build_as_of(run).isoformat()} if run is not None else {}


def build_as_of(run: RunInfo) -> datetime:
    """The cut-off of this run's marts (``is_held``, ``data_as_of``): its data-interval end, or the
    newest cut-off ever published when that is later — a rerun or backfill of an older date
    re-pulls its own window into raw but rebuilds the marts as of the newest morning, so BI never
    moves back (webinar_dwh.warehouse.builds)."""

    with warehouse_connection() as conn:
        as_of = effective_as_of(conn, run.interval_end)
    if as_of > run.interval_end:
        log.info(
            "the marts are built as of %s, the newest published cut-off (this run's interval ends %s): "
            "BI never moves back",
            as_of.isoformat(), run.interval_end.isoformat(),
        )
    return as_of


def dbt_build_vars(run: RunInfo, as_of: datetime) -> dict[str, str]:
    """The dbt vars of a build for ``run`` (what the DAG's Cosmos tasks pass too)."""
    return {"as_of": as_of.isoformat(), "dag_run_id": run.dag_run_id}


# --------------------------------------------------------------------------- extract + load


def extraction_window(
    *, cursor: str | None, run: RunInfo, settings: config.PipelineSettings
) -> tuple[datetime, datetime]:
    """The half-open window ``[start, end)`` on the parents' start time for this run.

    ``start`` is ``DWH_HISTORY_START`` on a first or full-refresh run, else
    ``min(cursor, interval_end) - lookback`` (cursor compared with >=, so re-pulled records are
    deduplicated downstream, never lost). ``end`` is ``interval_end + lookahead`` so scheduled
    webinars and their registrations so far are visible.
    """
    lookback = timedelta(days=run.lookback_days if run.lookback_days is not None else settings.lookback_days)
    history_start = datetime.combine(settings.history_start, datetime.min.time(), tzinfo=UTC)
    if run.full_refresh or cursor is None:
        start = history_start
    else:
        start = max(history_start, min(datetime.fromisoformat(cursor), run.interval_end) - lookback)
    end = run.interval_end + timedelta(days=settings.lookahead_days)
    return start, end


def _batches(items: Iterator[Item], parent_entity: str, parents_per_batch: int) -> Iterator[list[Item]]:
    """Cut the item stream into batches of whole parents (a parent always travels with its children)."""
    batch: list[Item] = []
    parents = 0
    for item in items:
        if isinstance(item, Record) and item.entity == parent_entity:
            if parents >= parents_per_batch:
                yield batch
                batch, parents = [], 0
            parents += 1
        batch.append(item)
    if batch:
        yield batch


def extract_load(source: str, run: RunInfo) -> dict[str, Any]:
    """Extract one source for the run's window and land it, one transaction per batch.

    Raises:
        AirflowSkipException: the source is disabled (no connection) — a skip, not a failure.
    """
    enabled, why = config.source_enabled(source)
    if not enabled:
        from airflow.sdk.exceptions import AirflowSkipException

        log.info("source %s skipped: %s", source, why)
        raise AirflowSkipException(f"source {source} skipped: {why}")
    settings = config.PipelineSettings.from_env()
    vendor = REGISTRY[source]
    parent_entity = vendor.cursor_entity

    started = time.monotonic()
    totals: dict[str, int] = {}
    quarantined = 0
    collisions: dict[str, int] = {}
    batches = 0
    with warehouse_connection() as conn:
        cursor = None if run.full_refresh else landing.get_cursor(conn, source, parent_entity)
        window = extraction_window(cursor=cursor, run=run, settings=settings)
        log.info(
            "%s: window [%s, %s) (cursor %s, full_refresh=%s)",
            source, window[0].isoformat(), window[1].isoformat(), cursor, run.full_refresh,
        )
        with vendor.open(config.get_connection(config.source_conn_id(source)), settings) as src:
            for batch in _batches(src.extract(*window), parent_entity, settings.batch_parents):
                batch_cursor = _batch_cursor(vendor, batch, cursor, run.interval_end)
                # through the module: the benchmark and the crash tests wrap landing.land_batch
                result = landing.land_batch(
                    conn,
                    source=source,
                    items=batch,
                    dag_run_id=run.dag_run_id,
                    logical_date=run.logical_date,
                    cursor=(parent_entity, batch_cursor) if batch_cursor else None,
                )
                if batch_cursor:
                    cursor = batch_cursor
                batches += 1
                for entity, n in result.rows_by_entity.items():
                    totals[entity] = totals.get(entity, 0) + n
                quarantined += result.quarantined
                for entity, n in result.key_collisions.items():
                    collisions[entity] = collisions.get(entity, 0) + n
            stats = src.stats()
    summary = {
        "source": source,
        "window_start": window[0].isoformat(),
        "window_end": window[1].isoformat(),
        "batches": batches,
        "rows": totals,
        "quarantined": quarantined,
        "key_collisions": collisions,
        "http": stats,
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("%s landed: %s", source, summary)
    return summary


def _batch_cursor(
    vendor: VendorSource, batch: list[Item], current: str | None, limit: datetime
) -> str | None:
    """The cursor after this batch: the latest parent start time, never moving backwards.

    Only parents that already started can move the cursor: future (scheduled) webinars are
    re-pulled every morning anyway through the lookahead.
    """
    values = [
        value
        for item in batch
        if isinstance(item, Record) and item.entity == vendor.cursor_entity
        and datetime.fromisoformat(value := vendor.cursor_of(item)) < limit
    ]
    best = max(chain(values, [current] if current else []), default=None, key=datetime.fromisoformat)
    if best is None or best == current:
        return None
    return best


# --------------------------------------------------------------------------- dbt, GX, publish


def source_freshness(run: RunInfo) -> dict[str, Any]:
    """``dbt source freshness``; stale sources send an alert but never fail the run."""

    enabled = [source for source in config.SOURCES if config.source_enabled(source)[0]]
    if not enabled:
        return {"checked": 0, "stale": []}
    result = run_source_freshness(run, sources=enabled)  # a disabled source is never stale
    if result.get("stale"):
        send_alert(
            kind="stale_source",
            dag_id="webinar_attendance",
            task_id="source_freshness",
            logical_date=run.logical_date.isoformat(),
            reason="stale sources: " + ", ".join(result["stale"]),
        )
    return result


def validate_build(run: RunInfo) -> dict[str, Any]:
    """Validate the build in ``marts_build`` with the GX suites; raise on a blocking failure.

    The build must be one build of this run, new (never published) and not older than what BI
    reads (:func:`webinar_dwh.warehouse.builds.assess`); the gate records the identity it
    validated, which publish checks.

    Raises:
        AirflowSkipException: this run's build is already published (e.g. the gate was cleared
            after a successful publish): nothing is validated, nothing will be published.
        BuildError: ``marts_build`` holds another run's, an already published or an older build.
        QualityGateError: a blocking expectation failed (nothing is published).
    """
    # Great Expectations takes seconds to import: only the task that validates pays for it.
    from webinar_dwh.quality.runner import validate_marts

    with warehouse_connection() as conn:
        build = builds.read_build(conn)
        try:
            as_of = builds.assess(conn, build, dag_run_id=run.dag_run_id)
        except builds.AlreadyPublished as done:
            from airflow.sdk.exceptions import AirflowSkipException

            log.info("%s", done)
            raise AirflowSkipException(str(done)) from None
    url = sqlalchemy_url(config.get_connection(config.dwh_conn_id()))
    report = validate_marts(url, schema="marts_build", run_date=as_of.date(), data_docs_dir=docs_dir() / "gx")
    report.raise_for_blocking()
    with warehouse_connection() as conn:
        if builds.read_build(conn).key != build.key:
            raise builds.BuildError(
                "marts_build changed while the quality gate validated it (a dbt build running at the same "
                "time?): clear validate_marts with its downstream tasks"
            )
        builds.record_validation(conn, build, dag_run_id=run.dag_run_id, as_of=as_of)
        conn.commit()
    return {**report.to_dict(), "build": {"key": build.key, "as_of": as_of.isoformat()}}


def publish(run: RunInfo) -> dict[str, Any]:
    """Swap the validated build into ``marts`` in one transaction — only forward.

    Publish checks under its locks that ``marts_build`` holds exactly the build the gate validated
    for this run and that it is not older than the published marts
    (:func:`webinar_dwh.warehouse.builds.assert_publishable`). When this run's build is already
    published (the task was cleared or rerun after a successful publish) it changes nothing.

    Raises:
        BuildError: ``marts_build`` holds a build this run may not publish; the message says
            which tasks to clear. ``marts`` is unchanged.
    """

    def check(conn, names: list[str]) -> tuple[datetime, dict[str, Any]]:
        build = builds.read_build(conn, tables=names)
        return builds.assert_publishable(conn, build, dag_run_id=run.dag_run_id), build.stamps

    with warehouse_connection() as conn:
        try:
            result = publish_marts(conn, dag_run_id=run.dag_run_id, build_check=check)
        except builds.AlreadyPublished as done:
            log.info("%s", done)
            return {**done.publication, "already_published": True}
    return result.as_dict()


def docs_dir() -> Path:
    """Where the run writes GX Data Docs (``gx/``) and dbt docs (``dbt/``): ``DWH_DOCS_DIR``."""
    configured = config.PipelineSettings.for_parsing()[0].docs_dir
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / ".local" / "docs"


def build_dbt_docs() -> str | None:
    """``dbt docs generate`` into ``docs_dir()/dbt``; never fails the run (docs are a by-product).

    Runs with ``--no-compile``: the docs describe the project (models, columns, tests, lineage)
    and the catalog of what exists, and need no compiled SQL. Compiling would run the
    incremental models' scope queries against ``marts_build``, which after a publish no longer
    holds the marts that moved to ``marts`` (on a first run, none but the incremental copy):
    the docs would fail exactly when they are first wanted.

    It writes into the in-process dbt target folder, whose saved parse it reuses (a target of
    its own would make dbt parse the whole project again), then copies the three files the
    static site needs into the docs folder.

    Returns:
        The path of the written ``index.html``, or ``None`` when dbt failed (logged as a warning).
    """
    target = docs_dir() / "dbt"
    try:
        res = run_dbt(["docs", "generate", "--no-compile"])
        if res.success:
            target.mkdir(parents=True, exist_ok=True)
            for name in ("index.html", "manifest.json", "catalog.json"):
                shutil.copyfile(dbt_target_dir() / name, target / name)
    except Exception as exc:  # docs must not fail a run that already published
        log.warning("dbt docs generate failed: %s", type(exc).__name__)
        return None
    if not res.success:
        log.warning("dbt docs generate failed: %s", res.exception)
        return None
    log.info("dbt docs: %s", target / "index.html")
    return str(target / "index.html")


def vendor_value_notices() -> list[dict[str, Any]]:
    """The published ``marts.vendor_value_notices`` (unseen vendor values); [] when absent.

    Each row: ``field, platform, raw_value, bucket, effect, example_webinar_ids, webinars``.
    """
    try:
        with warehouse_connection() as conn, conn.cursor() as cur:
            cur.execute(
                "select field, platform, raw_value, bucket, effect, example_webinar_ids, webinars "
                "from marts.vendor_value_notices order by field, raw_value"
            )
            names = [c.name for c in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except errors.UndefinedTable:
        return []


def report(loads: dict[str, Any], published: dict[str, Any]) -> dict[str, Any]:
    """Log the run's outcome.

    Warnings (never failures): the count of quarantined records, record keys that arrived with
    two different payloads in one pull (``meta.key_collisions``), and one line per vendor value
    the pipeline did not know (``marts.vendor_value_notices``: field, raw value, the bucket it
    landed in, what that does to the numbers, a few webinars).
    """
    quarantined = {src: s.get("quarantined", 0) for src, s in loads.items()}
    total_q = sum(quarantined.values())
    if total_q:
        log.warning(
            "%d record(s) quarantined this run %s — see raw.quarantine (reason column)", total_q, quarantined
        )
    collisions = {
        f"{src}.{entity}": n
        for src, summary in loads.items()
        for entity, n in (summary.get("key_collisions") or {}).items()
    }
    if collisions:
        log.warning(
            "record keys that arrived with different payloads in one pull (both rows kept; a key that "
            "cannot tell two records apart) %s — see meta.key_collisions",
            collisions,
        )
    notices = vendor_value_notices()
    for n in notices:
        log.warning(
            "unseen vendor value: %s = %r -> %s (%s); %d webinar(s), e.g. %s",
            n["field"],
            n["raw_value"],
            n["bucket"],
            n["effect"],
            n["webinars"],
            n["example_webinar_ids"],
        )
    log.info("published: %s", published)
    return {
        "quarantined": quarantined,
        "vendor_value_notices": len(notices),
        "key_collisions": collisions,
        "published": published,
    }


# --------------------------------------------------------------------------- after publish


def build_followups(run: RunInfo) -> dict[str, Any]:
    """Build the follow-up lists (dbt models tagged ``crm``) from the marts just published.

    Raises:
        RuntimeError: a model or one of its tests failed (the lists keep their previous version).
    """
    as_of = build_as_of(run)
    res = run_dbt(["build", "--select", "tag:crm"], dbt_vars=dbt_build_vars(run, as_of))
    results = getattr(res.result, "results", None) or []
    failed = [
        f"{r.node.name}: {r.status}" for r in results if str(r.status).lower() not in {"success", "pass"}
    ]
    if not res.success:
        raise RuntimeError(f"follow-up lists not built: {failed or res.exception}")
    log.info("follow-up lists built as of %s (%d nodes)", as_of.isoformat(), len(results))
    return {"as_of": as_of.isoformat(), "nodes": len(results)}


def send_digest(run: RunInfo, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send the morning digest (:mod:`webinar_dwh.digest`) to every configured destination.

    Never raises: a failure is logged and alerted once, and the run goes on. Returns what was
    sent, skipped (destination not defined, or this morning already delivered) and failed.
    """
    settings = config.PipelineSettings.from_env()
    report = report or {}
    outcome: dict[str, dict[str, str]] = {"sent": {}, "skipped": {}, "failed": {}}
    try:
        with warehouse_connection() as conn:
            data = digest.collect(
                conn,
                timezone=settings.timezone,
                quarantined=sum((report.get("quarantined") or {}).values()),
                vendor_value_notices=int(report.get("vendor_value_notices") or 0),
            )
            if data is None:
                log.info("no digest: nothing is published yet")
                return outcome
            message = digest.compose(data, dashboard_url=settings.dashboard_url, timezone=settings.timezone)
            for conn_id in settings.digest_conn_ids:
                _deliver_digest(conn, conn_id, message, data.day, run, outcome)
    except Exception as exc:  # the digest never fails the run that published
        outcome["failed"]["digest"] = f"{type(exc).__name__}: {redact(str(exc))[:300]}"
    if outcome["failed"]:
        log.error("morning digest not delivered: %s", outcome["failed"])
        send_alert(
            kind="digest_failed",
            dag_id="webinar_attendance",
            task_id="send_digest",
            logical_date=run.logical_date.isoformat(),
            reason="; ".join(f"{k}: {v}" for k, v in outcome["failed"].items()),
        )
    log.info("morning digest: %s", outcome)
    return outcome


def _deliver_digest(
    conn: Any,
    conn_id: str,
    message: notify.Message,
    day: date,
    run: RunInfo,
    outcome: dict[str, dict[str, str]],
) -> None:
    try:
        destination = config.get_connection(conn_id)
    except config.ConfigError:
        outcome["skipped"][conn_id] = "connection not defined"
        log.info("digest destination '%s' is not defined: skipped", conn_id)
        return
    sent = conn.execute(
        "select channel, delivered_at from meta.digest_deliveries where digest_date = %s and conn_id = %s",
        (day, conn_id),
    ).fetchone()
    if sent:
        outcome["skipped"][conn_id] = f"already sent for {day.isoformat()} at {sent[1].isoformat()}"
        return
    try:
        channel = notify.deliver(destination, message)
    except notify.DeliveryError as exc:
        outcome["failed"][conn_id] = str(exc)
        return
    conn.execute(
        "insert into meta.digest_deliveries (digest_date, conn_id, channel, dag_run_id) "
        "values (%s, %s, %s, %s) on conflict do nothing",
        (day, conn_id, channel, run.dag_run_id),
    )
    conn.commit()
    outcome["sent"][conn_id] = channel
