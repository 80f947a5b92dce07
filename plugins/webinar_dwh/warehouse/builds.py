"""Build identity: which dbt build ``marts_build`` holds, and whether it may go to BI.

Every mart's dbt post-hook (``macros/build_stamp.sql``) writes a *stamp* into its table
comment: ``{"as_of": …, "dag_run_id": …, "invocation_id": …}`` — the cut-off the mart was
computed for, the Airflow run whose ``dbt_build`` wrote it, and the dbt invocation that did. The
stamps of the relations in ``marts_build`` are the identity of the build there. The quality gate
records the identity it validated (``meta.builds``); publish compares what is in ``marts_build``
under its locks with that record and stores the identity it published (``meta.publications``).

Publication only moves forward (docs/design.md, "Quality gate and publish"):

* a build whose stamps were all published before (after a swap ``marts_build`` holds the version
  BI saw before) is never published again: if this run already published its own build, the
  gate skips and publish is a no-op ("already published"); otherwise both refuse;
* a build mixing stamps of different runs or cut-offs (a half-finished rebuild) is refused;
* a build older than the newest ``as_of`` ever published is refused — and :func:`effective_as_of`
  makes every run (a rerun of an older date, a backfill) build as of at least that cut-off, so
  held webinars never turn back into upcoming ones and ``data_as_of`` never decreases;
* publish refuses a build the gate has not validated for this run (or one that changed since).

Each refusal says what ``marts_build`` holds, what was expected and which tasks to clear.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from webinar_dwh.warehouse.bootstrap import MARTS_BUILD_SCHEMA, MARTS_SCHEMA, META_SCHEMA
from webinar_dwh.warehouse.publish import DBT_TRANSIENT_SUFFIXES


class BuildError(RuntimeError):
    """``marts_build`` does not hold a build this run may validate or publish; the message says
    what it holds and which tasks to clear. Nothing was changed."""


class AlreadyPublished(Exception):
    """This run's build is already the published one: nothing to validate or publish.

    Attributes:
        publication: the ``meta.publications`` row of this run's publication.
    """

    def __init__(self, publication: dict[str, Any]) -> None:
        self.publication = publication
        super().__init__(
            f"this run's build was already published (publication {publication['publication_id']} "
            f"at {publication['published_at']}, data as of {publication['as_of']}); "
            f"{MARTS_BUILD_SCHEMA} now holds the version it replaced. Nothing to do: BI keeps the "
            f"published marts. To rebuild, clear dbt_build with its downstream tasks."
        )


@dataclass(frozen=True)
class Build:
    """The stamps of the relations in a schema (``None`` for a relation without one)."""

    schema: str
    stamps: dict[str, dict[str, Any] | None]

    @property
    def key(self) -> str:
        """A digest of the stamps: equal keys, same build."""
        canonical = json.dumps(self.stamps, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def values(self, field: str) -> set[Any]:
        return {(stamp or {}).get(field) for stamp in self.stamps.values()}

    @property
    def as_of(self) -> datetime | None:
        """The build's cut-off, when all its relations share one."""
        values = self.values("as_of")
        if len(values) != 1 or None in values:
            return None
        return datetime.fromisoformat(str(values.pop()))

    def describe(self) -> str:
        """One line per distinct (run, as_of) with the relations that carry it."""
        groups: dict[tuple[Any, Any], list[str]] = {}
        for name, stamp in sorted(self.stamps.items()):
            stamp = stamp or {}
            groups.setdefault((stamp.get("dag_run_id"), stamp.get("as_of")), []).append(name)
        return "; ".join(
            f"{', '.join(names)} (run {run or 'unknown'}, as of {as_of or 'unknown'})"
            for (run, as_of), names in groups.items()
        )


def read_build(
    conn: psycopg.Connection, schema: str = MARTS_BUILD_SCHEMA, tables: list[str] | None = None
) -> Build:
    """The stamps of the tables/views of ``schema`` (all but dbt's transient ones, or ``tables``)."""
    rows = conn.execute(
        """
        select c.relname, obj_description(c.oid, 'pg_class')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
          and (%s::text[] is null or c.relname = any(%s::text[]))
        order by 1
        """,
        (schema, tables, tables),
    ).fetchall()
    stamps: dict[str, dict[str, Any] | None] = {}
    for name, comment in rows:
        if name.endswith(DBT_TRANSIENT_SUFFIXES):  # never part of a build
            continue
        stamps[name] = _parse_stamp(comment)
    return Build(schema=schema, stamps=stamps)


def _parse_stamp(comment: str | None) -> dict[str, Any] | None:
    if not comment or not comment.startswith("{"):
        return None
    try:
        stamp = json.loads(comment)
    except json.JSONDecodeError:
        return None
    return stamp if isinstance(stamp, dict) and stamp.get("invocation_id") else None


def newest_published_as_of(conn: psycopg.Connection) -> datetime | None:
    """The newest cut-off BI has ever seen: ``meta.publications.as_of``, or, for publications
    made before the column existed, ``marts.data_freshness.data_as_of``."""
    (recorded,) = conn.execute(
        sql.SQL("select max(as_of) from {}").format(sql.Identifier(META_SCHEMA, "publications"))
    ).fetchone() or (None,)
    (has_freshness,) = conn.execute(
        "select to_regclass(%s) is not null", (f"{MARTS_SCHEMA}.data_freshness",)
    ).fetchone() or (False,)
    published = None
    if has_freshness:
        (published,) = conn.execute(
            sql.SQL("select max(data_as_of) from {}").format(sql.Identifier(MARTS_SCHEMA, "data_freshness"))
        ).fetchone() or (None,)
    candidates = [moment for moment in (recorded, published) if moment is not None]
    return max(candidates) if candidates else None


def effective_as_of(conn: psycopg.Connection, interval_end: datetime) -> datetime:
    """The cut-off a run builds its marts for: its interval end, or the newest published one if
    that is later (a rerun of an older date re-pulls its own window but never moves BI back)."""
    newest = newest_published_as_of(conn)
    return max(interval_end, newest) if newest is not None else interval_end


def _publication_row(
    conn: psycopg.Connection, where: sql.Composable, params: tuple[Any, ...]
) -> dict[str, Any] | None:
    row = conn.execute(
        sql.SQL(
            "select publication_id, published_at, dag_run_id, as_of from {} where {} "
            "order by publication_id desc limit 1"
        ).format(sql.Identifier(META_SCHEMA, "publications"), where),
        params,
    ).fetchone()
    if row is None:
        return None
    return {
        "publication_id": row[0],
        "published_at": row[1].isoformat(),
        "dag_run_id": row[2],
        "as_of": row[3].isoformat() if row[3] else None,
    }


def _all_published_before(conn: psycopg.Connection, build: Build) -> dict[str, Any] | None:
    """The latest publication that published one of the build's stamps, when every stamp of the
    build was published before (``marts_build`` holds a version BI has already seen)."""
    pairs = [(name, stamp["invocation_id"]) for name, stamp in build.stamps.items() if stamp]
    if not pairs or len(pairs) != len(build.stamps):
        return None
    names = [name for name, _ in pairs]
    invocations = [inv for _, inv in pairs]
    row = conn.execute(
        sql.SQL(
            """
            select count(distinct wanted.name), max(p.publication_id)
            from unnest(%s::text[], %s::text[]) as wanted(name, invocation_id)
            join {} as p on p.build -> wanted.name ->> 'invocation_id' = wanted.invocation_id
            """
        ).format(sql.Identifier(META_SCHEMA, "publications")),
        (names, invocations),
    ).fetchone()
    if not row or row[0] != len(pairs):
        return None
    return _publication_row(conn, sql.SQL("publication_id = %s"), (row[1],))


def assess(conn: psycopg.Connection, build: Build, *, dag_run_id: str) -> datetime:
    """Check that ``build`` is a new, consistent build of this run, not older than BI's marts.

    Returns:
        The build's ``as_of``.

    Raises:
        AlreadyPublished: every stamp was published before and this run has published already.
        BuildError: anything else that makes the build unfit to validate or publish.
    """
    clear_build = "clear dbt_build with its downstream tasks (validate_marts, publish_marts) of this run"
    if not build.stamps:
        raise BuildError(f"{build.schema} holds no marts: {clear_build}")
    unstamped = sorted(name for name, stamp in build.stamps.items() if stamp is None)
    if unstamped:
        raise BuildError(
            f"{build.schema}.{{{', '.join(unstamped)}}} carry no build stamp (not written by this "
            f"project's dbt build; drop relations that are no mart, else {clear_build})"
        )
    earlier = _all_published_before(conn, build)
    if earlier is not None:
        own = _publication_row(conn, sql.SQL("dag_run_id = %s"), (dag_run_id,))
        if own is not None:
            raise AlreadyPublished(own)
        raise BuildError(
            f"{build.schema} holds a build that was already published (publication "
            f"{earlier['publication_id']} of run {earlier['dag_run_id']}, data as of {earlier['as_of']}): "
            f"not a build of run {dag_run_id}; to build and publish this run, {clear_build}"
        )
    if build.values("dag_run_id") != {dag_run_id} or build.as_of is None:
        raise BuildError(
            f"{build.schema} does not hold one build of run {dag_run_id}: it holds {build.describe()}; "
            f"{clear_build}"
        )
    as_of = build.as_of
    newest = newest_published_as_of(conn)
    if newest is not None and as_of < newest:
        raise BuildError(
            f"the build in {build.schema} is as of {as_of.isoformat()}, older than the marts BI reads "
            f"(as of {newest.isoformat()}): publishing it would move BI back. Reruns build as of the "
            f"newest published cut-off; clear prepare_warehouse and everything after it of this run"
        )
    return as_of


def record_validation(conn: psycopg.Connection, build: Build, *, dag_run_id: str, as_of: datetime) -> None:
    """Remember that the gate passed ``build`` for ``dag_run_id`` (idempotent)."""
    conn.execute(
        sql.SQL(
            "insert into {} (build_key, dag_run_id, as_of, stamps) values (%s, %s, %s, %s) "
            "on conflict (build_key) do update set dag_run_id = excluded.dag_run_id, validated_at = now()"
        ).format(sql.Identifier(META_SCHEMA, "builds")),
        (build.key, dag_run_id, as_of, Jsonb(build.stamps)),
    )


def assert_publishable(conn: psycopg.Connection, build: Build, *, dag_run_id: str) -> datetime:
    """:func:`assess`, plus: the gate validated exactly this build for this run.

    Returns:
        The build's ``as_of``.
    """
    as_of = assess(conn, build, dag_run_id=dag_run_id)
    row = conn.execute(
        sql.SQL("select 1 from {} where build_key = %s and dag_run_id = %s").format(
            sql.Identifier(META_SCHEMA, "builds")
        ),
        (build.key, dag_run_id),
    ).fetchone()
    if row is None:
        raise BuildError(
            f"{build.schema} holds a build of run {dag_run_id} that the quality gate has not validated "
            f"(or that changed after it was validated): clear validate_marts with its downstream tasks"
        )
    return as_of
