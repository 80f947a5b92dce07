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
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from webinar_dwh.warehouse.bootstrap import MARTS_BUILD_SCHEMA, MARTS_SCHEMA, META_SCHEMA

log = logging.getLogger(__name__)

#: The column of an incremental mart holding the watermark of the build that (re)wrote each row.
WATERMARK_COLUMN: Final = "_watermark"
#: Relations dbt creates and drops within one model's build; never part of a build.
DBT_TRANSIENT_SUFFIXES: Final = ("__dbt_tmp", "__dbt_backup")


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


def read_stamp(conn: psycopg.Connection, schema: str, name: str) -> dict[str, Any] | None:
    """The stamp of one relation (``None``: no relation, or none written by a dbt build)."""
    return read_build(conn, schema, [name]).stamps.get(name)


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


# --- the rows a build changed -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangedRows:
    """The rows of a built incremental mart (re)written since the version BI reads.

    One definition serves every consumer: the quality gate runs its row-level checks on them,
    publish scans them for e-mail-like values.

    Attributes:
        column: the watermark column the scope filters on; ``None``: the whole table (first
            publication, no published version with the column, or a full rebuild).
        since: ``max(column)`` of the published version as PostgreSQL prints it (rows ``>``
            it are in scope).
        rows: rows in the scope.
        cutoff_from: ``as_of`` of the published version, if it differs from the build's: the
            webinars starting between the two are in scope too (their ``is_held`` flipped
            without a new watermark).
        cutoff_to: ``as_of`` of the build.
        query: ``select *`` of the rows in scope (``None`` for the whole table).
    """

    column: str | None = None
    since: str | None = None
    rows: int | None = None
    cutoff_from: str | None = None
    cutoff_to: str | None = None
    query: str | None = None

    @property
    def whole_table(self) -> bool:
        """True when the scope is every row."""
        return self.column is None

    def describe(self) -> str:
        """``whole table`` or ``12,345 rows changed since the published version (_watermark > …)``."""
        if self.column is None:
            return "whole table"
        text = f"{self.rows or 0:,} rows changed since the published version ({self.column} > {self.since}"
        if self.cutoff_from:
            text += f", or held cut-off moved {self.cutoff_from} -> {self.cutoff_to}"
        return text + ")"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (without the query)."""
        if self.column is None:
            return {"rows": "whole_table"}
        return {
            "rows": "changed_since_published",
            "column": self.column,
            "since": self.since,
            "cutoff_from": self.cutoff_from,
            "cutoff_to": self.cutoff_to,
            "count": self.rows,
        }


def changed_rows(
    conn: psycopg.Connection,
    schema: str,
    name: str,
    published_schema: str | None = MARTS_SCHEMA,
    *,
    column: str = WATERMARK_COLUMN,
    cutoff_relation: str | None = None,
) -> ChangedRows:
    """The rows of ``schema.name`` changed since its version in ``published_schema``.

    Scoped when both versions have ``column``, the published one has a row and the build's
    rows span more than one watermark (one watermark: a full rebuild wrote every row, all new);
    otherwise the whole table. With ``cutoff_relation`` (a relation in ``schema`` with
    ``platform, webinar_id, start_time`` per webinar, e.g. ``dim_webinars``), the webinars
    starting between the two versions' ``as_of`` (their stamps) are in scope too.

    The bound is a literal, not ``> (select max(…) from marts.…)``: the planner then knows how
    few rows qualify and reads them through the index on the column. It is the published max as
    PostgreSQL prints it, cast back to the column's type by the same server.
    """
    if published_schema is None or published_schema == schema:
        return ChangedRows()
    types = {
        nspname: format_type
        for nspname, format_type in conn.execute(
            "select n.nspname, format_type(a.atttypid, a.atttypmod) from pg_attribute as a "
            "join pg_class as c on c.oid = a.attrelid join pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname in (%s, %s) and c.relname = %s and a.attname = %s and not a.attisdropped",
            (schema, published_schema, name, column),
        )
    }
    if schema not in types:  # not an incremental mart: nothing to scope
        return ChangedRows()
    if published_schema not in types:
        log.info(
            "%s.%s: no published version with %s in %s: the whole table",
            schema,
            name,
            column,
            published_schema,
        )
        return ChangedRows()
    published, built, col = (
        sql.Identifier(published_schema, name),
        sql.Identifier(schema, name),
        sql.Identifier(column),
    )
    (since,) = conn.execute(sql.SQL("select max({})::text from {}").format(col, published)).fetchone() or (
        None,
    )
    if since is None:  # an empty published version: everything is new
        return ChangedRows()
    (spread,) = conn.execute(
        sql.SQL("select min({0}) < max({0}) from {1}").format(col, built)
    ).fetchone() or (None,)
    if not spread:
        log.info("%s.%s: every row is from this build: the whole table", schema, name)
        return ChangedRows()
    cutoff_from = cutoff_to = None
    if cutoff_relation:
        cutoff_from = (read_stamp(conn, published_schema, name) or {}).get("as_of")
        cutoff_to = (read_stamp(conn, schema, name) or {}).get("as_of")
        if cutoff_from is None or cutoff_to is None:  # no recorded cut-off: cannot scope it
            log.info("%s.%s: no recorded as_of: the whole table", schema, name)
            return ChangedRows()
        if cutoff_from == cutoff_to:
            cutoff_from = cutoff_to = None
    newer = sql.SQL("{} > cast({} as {})").format(col, sql.Literal(since), sql.SQL(types[schema]))
    query = sql.SQL("select * from {} where {}").format(built, newer)
    if cutoff_relation and cutoff_from and cutoff_to:
        # UNION ALL of two index-driven parts (an OR with a subquery would read the whole table).
        bounds = [
            sql.SQL("cast({} as timestamptz)").format(sql.Literal(str(t))) for t in (cutoff_from, cutoff_to)
        ]
        query = sql.SQL(
            "{} union all select * from {} where not ({}) and (platform, webinar_id) in ("
            "select platform, webinar_id from {} where start_time >= least({}, {}) "
            "and start_time < greatest({}, {}))"
        ).format(query, built, newer, sql.Identifier(schema, cutoff_relation), *bounds, *bounds)
    text = query.as_string(conn)
    (rows,) = conn.execute(f"select count(*) from ({text}) as changed").fetchone() or (0,)
    return ChangedRows(
        column=column,
        since=since,
        rows=rows,
        cutoff_from=str(cutoff_from) if cutoff_from else None,
        cutoff_to=str(cutoff_to) if cutoff_to else None,
        query=text,
    )
