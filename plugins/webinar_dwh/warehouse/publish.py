"""Publish the validated marts: swap them between ``marts_build`` and ``marts`` atomically.

dbt builds the marts into ``marts_build`` (tables, see ``dbt_project.yml``; an incremental mart
builds on the version already there); Great Expectations validates them there;
:func:`publish_marts` then, in **one transaction**,

1. locks the new relations in ``marts_build`` and checks them for clear-text e-mail columns
   (every column name; the values of the rows changed since the published version, or of a
   sample of a large table — see :func:`find_clear_email_columns`);
2. counts their rows;
3. takes ``ACCESS EXCLUSIVE`` locks on the current ``marts`` relations of the same names, all in
   one ``LOCK`` statement, waiting at most ``lock_timeout_s`` for BI queries to finish, and
   refuses if a view or foreign key outside the published set depends on one of them;
4. swaps each pair with ``ALTER … SET SCHEMA``: the old ``marts.X`` moves into a scratch schema,
   the new ``marts_build.X`` into ``marts``, then the old one on into ``marts_build``. The
   scratch schema is created and dropped inside the transaction, so nobody ever sees it.
   Relations new to ``marts`` just move; an incremental one (with ``_watermark``) leaves a copy
   behind as the next build's base (once in a warehouse's life);
5. grants ``SELECT`` on the new relations to ``bi_reader``, revokes every privilege of
   ``bi_reader`` and ``PUBLIC`` on the old ones (``marts_build`` is private), and records a
   ``meta.publications`` row.

Readers never see a half-updated ``marts``: until the commit they read the old relations
(their queries hold ``ACCESS SHARE`` locks, which the swap waits for); after it, the new ones. A
query that arrives during the swap waits for the lock and then reads the new relation by name.
Nothing is ever missing from ``marts`` in between. Moving is a catalog-only operation, so the
exclusive lock lasts milliseconds whatever the mart size. If publish is not called (a failed
quality gate) or fails, ``marts`` and ``marts_build`` stay exactly as they were.

Why a swap instead of dropping the old version: an incremental dbt model (``fct_registrations``)
builds on its own table in ``marts_build``; after a publish that table is the version that was
published before, and its ``_watermark`` column tells the next build what changed since. Marts
that dbt rebuilds in full simply replace the old version there. Indexes, constraints and row
types travel with their table and keep their names: each move lands in a schema that the
same-named twin has just left, so identically named indexes of the old and the new version
cannot clash. Relations in ``marts`` that are not being published are left alone. Views and
materialized views are supported too, but dbt builds the marts as tables, which is what makes
them snapshot-consistent: a view would read the layers below it live.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb

from webinar_dwh.warehouse.bootstrap import (
    BI_ROLE,
    MARTS_BUILD_SCHEMA,
    MARTS_SCHEMA,
    META_SCHEMA,
    use_owner_role,
)
from webinar_dwh.warehouse.builds import DBT_TRANSIENT_SUFFIXES, WATERMARK_COLUMN, changed_rows

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT_S: Final = 10.0
"""How long publish waits for BI queries holding locks on the old marts before giving up."""

VALUE_SCAN_SAMPLE_ABOVE: Final = 200_000
"""Rows (``pg_class.reltuples``) above which the e-mail value scan reads a sample of a table."""

VALUE_SCAN_SAMPLE_ROWS: Final = 100_000
"""Rows the e-mail value scan's sample aims at (``TABLESAMPLE SYSTEM``, whole pages)."""

# The scratch schema of the swap; it exists only inside publish's transaction.
_SWAP_SCHEMA: Final = "marts_publish_swap"
# Seed of the value scan's sample: a rerun scans the same pages of the same table.
_SAMPLE_SEED: Final = 20_240_101

_RELKIND_KEYWORD: Final = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
}

# Whole-value e-mail shape; values merely containing an address somewhere are not flagged.
_EMAIL_VALUE_REGEX: Final = r"^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$"
# Column names that say "this is a hash of the e-mail", which is allowed.
_HASH_NAME_MARKERS: Final = ("hash", "hmac", "sha", "digest", "key")


class PublishError(RuntimeError):
    """Publishing was refused or could not take its locks; ``marts`` is unchanged."""


class PiiExposureError(PublishError):
    """A relation about to be (or already) visible to BI carries clear-text e-mails."""


@dataclass(frozen=True, slots=True)
class PublicationResult:
    """One publication (small: fit for XCom via :meth:`as_dict`).

    Attributes:
        publication_id: ``meta.publications.publication_id``.
        published_at: commit-transaction timestamp, ISO 8601.
        tables: published relation names (now in ``marts``).
        row_counts: rows per published relation (``None`` for views).
        seconds: wall time of the publication.
    """

    publication_id: int
    published_at: str
    tables: list[str]
    row_counts: dict[str, int | None]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the result."""
        return asdict(self)


class _Relation(NamedTuple):
    oid: int
    relkind: str

    @property
    def keyword(self) -> sql.SQL:
        return sql.SQL(_RELKIND_KEYWORD[self.relkind])


def publish_marts(
    conn: psycopg.Connection,
    tables: list[str] | None = None,
    *,
    dag_run_id: str | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    scan_values_for_emails: bool = True,
    build_check: Callable[[psycopg.Connection, list[str]], tuple[datetime, dict[str, Any]]] | None = None,
) -> PublicationResult:
    """Swap marts from ``marts_build`` into ``marts`` (and the old ones back) in one transaction.

    Args:
        conn: connection as ``dwh_owner`` (or a role that may ``SET ROLE dwh_owner``), not
            inside a transaction. It is idle again afterwards.
        tables: names of the relations in ``marts_build`` to publish; ``None`` publishes every
            table/view there except dbt's transient ``*__dbt_tmp`` / ``*__dbt_backup``.
        dag_run_id: stored in ``meta.publications``.
        lock_timeout_s: how long to wait for locks held by BI queries on the old marts (and by
            anything on ``marts_build``) before failing; the wait happens before any change.
        scan_values_for_emails: also scan text values of the new relations for e-mail shapes:
            of a relation with a ``_watermark`` column whose published version has one too, the
            rows written since that version; of another table above
            :data:`VALUE_SCAN_SAMPLE_ABOVE` rows, a sample; else every row. Column names are
            always checked.
        build_check: called under the locks on the new relations, before anything changes,
            with their names; returns the build's ``as_of`` and stamps (recorded in
            ``meta.publications``) or raises to refuse the publication
            (:func:`webinar_dwh.warehouse.builds.assert_publishable`).

    Returns:
        The publication: id, time, relations and their row counts.

    Raises:
        PublishError: nothing to publish, a named relation is missing from ``marts_build``,
            the locks could not be taken within ``lock_timeout_s``, another relation depends
            on one being replaced, or a name clashes with a relation that is not being
            published. ``marts`` and ``marts_build`` are unchanged.
        PiiExposureError: a new relation carries clear-text e-mails. Nothing is changed.
    """
    started = time.perf_counter()
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise PublishError("publish_marts needs a connection outside a transaction: it commits itself")
    if lock_timeout_s <= 0:
        raise ValueError("lock_timeout_s must be > 0")
    with conn.transaction():
        use_owner_role(conn)
        conn.execute("select set_config('lock_timeout', %s, true)", (f"{round(lock_timeout_s * 1000)}ms",))
        new = _relations(conn, MARTS_BUILD_SCHEMA)
        names = _select(new, tables)
        _lock(conn, MARTS_BUILD_SCHEMA, names, lock_timeout_s)
        as_of, build = build_check(conn, names) if build_check is not None else (None, None)
        assert_no_clear_email_columns(
            conn,
            schema=MARTS_BUILD_SCHEMA,
            tables=names,
            scan_values=scan_values_for_emails,
            published_schema=MARTS_SCHEMA,
        )
        counts = {name: _count(conn, name, new[name]) for name in names}

        old = _relations(conn, MARTS_SCHEMA)
        replaced = [name for name in names if name in old]
        _lock(conn, MARTS_SCHEMA, replaced, lock_timeout_s)
        _refuse_outside_dependents(conn, {name: old[name] for name in replaced})
        _swap(conn, names, new=new, old=old)
        row = conn.execute(
            sql.SQL(
                "insert into {} (dag_run_id, tables, row_counts, as_of, build) values (%s, %s, %s, %s, %s) "
                "returning publication_id, published_at"
            ).format(sql.Identifier(META_SCHEMA, "publications")),
            (dag_run_id, names, Jsonb(counts), as_of, Jsonb(build) if build is not None else None),
        ).fetchone()
        assert row is not None
    result = PublicationResult(
        publication_id=row[0],
        published_at=row[1].isoformat(),
        tables=names,
        row_counts=counts,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "published %d marts (%s) in %.2fs; the %d replaced version(s) moved back to %s",
        len(names),
        ", ".join(names),
        result.seconds,
        len(replaced),
        MARTS_BUILD_SCHEMA,
    )
    return result


def find_clear_email_columns(
    conn: psycopg.Connection,
    *,
    schema: str = MARTS_SCHEMA,
    tables: list[str] | None = None,
    scan_values: bool = True,
    published_schema: str | None = None,
) -> list[str]:
    """Columns that (may) hold clear-text e-mail addresses, as ``"schema.table.column: why"``.

    A column is flagged when its name contains ``email``/``e_mail``/``mail_address`` and
    does not say it is a hash (``hash``, ``hmac``, ``sha``, ``digest``, ``key``), or — with
    ``scan_values`` — when it is a text column holding a value shaped like an e-mail address.

    The value scan reads, per relation (one query each), so that its cost does not grow with
    the history a mart holds:

    * the rows with ``_watermark > max(_watermark)`` of its published version, when it has a
      ``_watermark`` column and ``published_schema`` holds a relation of the same name with one
      (an incremental mart: the rows (re)written since that version; older rows were scanned
      when they were published);
    * else, for a table or materialized view of more than :data:`VALUE_SCAN_SAMPLE_ABOVE` rows
      (``pg_class.reltuples``; a never analysed table is analysed first), a
      ``TABLESAMPLE SYSTEM … REPEATABLE`` sample of about :data:`VALUE_SCAN_SAMPLE_ROWS` rows.
      A column filled with e-mails (a wrong column mapped) shows in any sample; a few stray
      values in a large full-refresh mart may not;
    * else every row.

    Args:
        conn: any connection that can read ``schema`` (and ``published_schema``).
        schema: schema to inspect.
        tables: restrict to these relations (default: all tables and views of ``schema``).
        scan_values: also scan text columns' values (see above).
        published_schema: where the published versions of ``schema``'s relations live
            (publish passes ``marts`` when checking ``marts_build``); ``None`` scans without
            the watermark scope.
    """
    rows = conn.execute(
        """
        select c.relname, a.attname, t.typcategory = 'S'
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_type t on t.oid = a.atttypid
        where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm')
          and a.attnum > 0 and not a.attisdropped
          and (%s::text[] is null or c.relname = any(%s::text[]))
        order by c.relname, a.attnum
        """,
        (schema, tables, tables),
    ).fetchall()
    flagged: list[str] = []
    text_columns: dict[str, list[str]] = {}
    for table, column, is_text in rows:
        lowered = column.lower()
        if any(m in lowered for m in ("email", "e_mail", "mail_address")) and not any(
            m in lowered for m in _HASH_NAME_MARKERS
        ):
            flagged.append(f"{schema}.{table}.{column}: column name suggests a clear-text e-mail")
        elif is_text:
            text_columns.setdefault(table, []).append(column)
    if scan_values:
        for table, columns in text_columns.items():
            hits = _scan_values(conn, schema, table, columns, published_schema)
            flagged.extend(
                f"{schema}.{table}.{c}: holds values shaped like e-mail addresses"
                for c, hit in zip(columns, hits, strict=True)
                if hit
            )
    return flagged


def assert_no_clear_email_columns(
    conn: psycopg.Connection,
    *,
    schema: str = MARTS_SCHEMA,
    tables: list[str] | None = None,
    scan_values: bool = True,
    published_schema: str | None = None,
) -> None:
    """Raise if any column of ``schema`` (may) hold clear-text e-mails (see :func:`find_clear_email_columns`).

    Raises:
        PiiExposureError: listing every flagged column (names only, never the values).
    """
    flagged = find_clear_email_columns(
        conn, schema=schema, tables=tables, scan_values=scan_values, published_schema=published_schema
    )
    if flagged:
        raise PiiExposureError(
            "clear-text e-mail in marts (hash it with the PII key instead): " + "; ".join(flagged)
        )


# --------------------------------------------------------------------------- internals


def _relations(conn: psycopg.Connection, schema: str) -> dict[str, _Relation]:
    """``name -> (oid, relkind)`` of the tables, views and materialized views in ``schema``."""
    rows = conn.execute(
        "select c.relname, c.oid, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition",
        (schema,),
    ).fetchall()
    return {name: _Relation(oid, relkind) for name, oid, relkind in rows}


def _select(available: dict[str, _Relation], tables: list[str] | None) -> list[str]:
    if tables is None:
        names = sorted(n for n in available if not n.endswith(DBT_TRANSIENT_SUFFIXES))
        if not names:
            raise PublishError(f"nothing to publish: {MARTS_BUILD_SCHEMA} has no tables")
        return names
    names = list(dict.fromkeys(tables))
    missing = [n for n in names if n not in available]
    if missing:
        raise PublishError(f"not in {MARTS_BUILD_SCHEMA} (did dbt build them?): {', '.join(missing)}")
    if not names:
        raise PublishError("nothing to publish: empty list of tables")
    return names


def _lock(conn: psycopg.Connection, schema: str, names: list[str], lock_timeout_s: float) -> None:
    """Take ACCESS EXCLUSIVE on all ``names`` at once, or fail after the lock timeout."""
    if not names:
        return
    rels = sql.SQL(", ").join(sql.Identifier(schema, n) for n in names)
    try:
        with conn.transaction():
            conn.execute(sql.SQL("lock table {} in access exclusive mode").format(rels))
    except errors.LockNotAvailable:
        raise PublishError(
            f"could not lock {schema}.{{{', '.join(names)}}} within {lock_timeout_s:g}s: long-running "
            f"queries (BI dashboards?) hold them; nothing was changed, retry later or raise "
            f"lock_timeout_s"
        ) from None


def _count(conn: psycopg.Connection, name: str, relation: _Relation) -> int | None:
    if relation.relkind == "v":
        return None  # counting a view would run it; it has no rows of its own
    row = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(MARTS_BUILD_SCHEMA, name))
    ).fetchone()
    assert row is not None
    return int(row[0])


def _refuse_outside_dependents(conn: psycopg.Connection, replaced: dict[str, _Relation]) -> None:
    """Refuse when a view or foreign key outside the swapped set depends on an old mart.

    It would keep pointing at the old relation, which moves to ``marts_build`` (a view there
    would silently serve the previous version to BI); dropping the old version used to fail
    on such objects for the same reason.
    """
    if not replaced:
        return
    oids = [r.oid for r in replaced.values()]
    rows = conn.execute(
        """
        select ref.relname, dependent.oid::regclass::text
        from pg_depend as d
        join pg_rewrite as r on r.oid = d.objid
        join pg_class as dependent on dependent.oid = r.ev_class
        join pg_class as ref on ref.oid = d.refobjid
        where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
          and d.refobjid = any(%(oids)s) and dependent.oid <> all(%(oids)s)
        union
        select ref.relname, c.conrelid::regclass::text || ' (foreign key ' || c.conname || ')'
        from pg_constraint as c
        join pg_class as ref on ref.oid = c.confrelid
        where c.contype = 'f' and c.confrelid = any(%(oids)s) and c.conrelid <> all(%(oids)s)
        order by 1, 2
        """,
        {"oids": oids},
    ).fetchall()
    if rows:
        name = rows[0][0]
        dependents = ", ".join(sorted({dependent for ref, dependent in rows if ref == name}))
        raise PublishError(
            f"cannot replace {MARTS_SCHEMA}.{name}: other objects depend on it ({dependents}); "
            f"publish them together or drop them"
        )


def _swap(
    conn: psycopg.Connection, names: list[str], *, new: dict[str, _Relation], old: dict[str, _Relation]
) -> None:
    """Move ``names`` from ``marts_build`` into ``marts`` and their old versions the other way.

    Three rounds of ``SET SCHEMA`` through a scratch schema, each relation landing where its
    twin (and the twin's indexes, constraints and row type, which bear the same names) has
    already left. Any other name clash raises :class:`PublishError`; the caller's transaction
    then rolls everything back.
    """
    replaced = [name for name in names if name in old]
    scratch = sql.Identifier(_SWAP_SCHEMA)
    if replaced:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create schema {}").format(scratch))
        except (errors.DuplicateSchema, errors.InsufficientPrivilege) as exc:
            raise PublishError(
                f"cannot create the scratch schema {_SWAP_SCHEMA} of the swap: "
                f"{exc.diag.message_primary} (nothing was changed)"
            ) from None
    for name in replaced:
        _move(conn, old[name], MARTS_SCHEMA, name, _SWAP_SCHEMA)
    for name in names:
        _move(conn, new[name], MARTS_BUILD_SCHEMA, name, MARTS_SCHEMA)
        conn.execute(
            sql.SQL("grant select on {} to {}").format(
                sql.Identifier(MARTS_SCHEMA, name), sql.Identifier(BI_ROLE)
            )
        )
    for name in replaced:
        _move(conn, old[name], _SWAP_SCHEMA, name, MARTS_BUILD_SCHEMA)
        conn.execute(
            sql.SQL("revoke all on {} from public, {}").format(
                sql.Identifier(MARTS_BUILD_SCHEMA, name), sql.Identifier(BI_ROLE)
            )
        )
    if replaced:
        conn.execute(sql.SQL("drop schema {}").format(scratch))  # empty again: no cascade
    for name in names:
        if name not in old and _has_watermark(conn, MARTS_SCHEMA, name):
            _leave_incremental_base(conn, name)


def _has_watermark(conn: psycopg.Connection, schema: str, name: str) -> bool:
    """Whether ``schema.name`` has the incremental marts' ``_watermark`` column."""
    row = conn.execute(
        "select count(*) > 0 from pg_attribute as a join pg_class as c on c.oid = a.attrelid "
        "join pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attname = %s "
        "and not a.attisdropped",
        (schema, name, WATERMARK_COLUMN),
    ).fetchone()
    return bool(row and row[0])


def _leave_incremental_base(conn: psycopg.Connection, name: str) -> None:
    """First publication of an incremental mart: leave a copy in ``marts_build`` to build on.

    From the second publication on, the swap moves the previous version back; the first has
    none, and without a base the next build would rebuild the mart in full. One copy in the
    life of a warehouse (indexes and the table comment, which holds the build's ``as_of``,
    included); it is granted to nobody.
    """
    src, dst = sql.Identifier(MARTS_SCHEMA, name), sql.Identifier(MARTS_BUILD_SCHEMA, name)
    conn.execute(sql.SQL("create table {} (like {} including all)").format(dst, src))
    conn.execute(sql.SQL("insert into {} select * from {}").format(dst, src))
    comment = conn.execute(
        "select obj_description(%s::regclass, 'pg_class')", (f"{MARTS_SCHEMA}.{name}",)
    ).fetchone()
    if comment and comment[0] is not None:
        conn.execute(sql.SQL("comment on table {} is {}").format(dst, sql.Literal(comment[0])))
    log.info("first publication of %s: left a copy in %s as the next build's base", name, MARTS_BUILD_SCHEMA)


def _move(conn: psycopg.Connection, relation: _Relation, source: str, name: str, target: str) -> None:
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("alter {kind} {rel} set schema {target}").format(
                    kind=relation.keyword,
                    rel=sql.Identifier(source, name),
                    target=sql.Identifier(target),
                )
            )
    except (errors.DuplicateTable, errors.DuplicateObject) as exc:
        raise PublishError(
            f"cannot move {source}.{name} into {target}: {exc.diag.message_primary} (an index, "
            f"constraint or type of another relation there has the same name; nothing was changed)"
        ) from None


def _scan_values(
    conn: psycopg.Connection, schema: str, table: str, columns: list[str], published_schema: str | None
) -> tuple[bool, ...]:
    """Per column of ``columns``: does a value in the scanned rows look like an e-mail?"""
    source, params, scope = _value_scan_source(conn, schema, table, published_schema)
    checks = sql.SQL(", ").join(
        sql.SQL("coalesce(bool_or({c} ~ {rx}), false)").format(
            c=sql.Identifier(c), rx=sql.Literal(_EMAIL_VALUE_REGEX)
        )
        for c in columns
    )
    row = conn.execute(sql.SQL("select count(*), {} from {}").format(checks, source), params).fetchone()
    assert row is not None
    log.info("e-mail value scan of %s.%s: %s rows (%s)", schema, table, f"{row[0]:,}", scope)
    return tuple(row[1:])


def _value_scan_source(
    conn: psycopg.Connection, schema: str, table: str, published_schema: str | None
) -> tuple[sql.Composable, tuple[Any, ...], str]:
    """The FROM clause (with its parameters) of the value scan and a description of its scope."""
    rel = sql.Identifier(schema, table)
    changed = changed_rows(conn, schema, table, published_schema)
    if changed.query is not None:
        # Older rows were scanned when they were published.
        return sql.SQL("({}) as changed").format(sql.SQL(changed.query)), (), changed.describe()
    relkind, estimate = _row_estimate(conn, schema, table)
    if relkind in ("r", "m") and estimate > VALUE_SCAN_SAMPLE_ABOVE:
        percent = round(100 * VALUE_SCAN_SAMPLE_ROWS / estimate, 4)
        return (
            sql.SQL("{} tablesample system ({}) repeatable ({})").format(
                rel, sql.Literal(percent), sql.Literal(_SAMPLE_SEED)
            ),
            (),
            f"a {percent:g}% sample of about {estimate:,.0f} rows",
        )
    return rel, (), "every row"


def _row_estimate(conn: psycopg.Connection, schema: str, table: str) -> tuple[str, float]:
    """``(relkind, reltuples)``; a table never analysed (``reltuples = -1``) is analysed first."""
    query = (
        "select c.relkind, c.reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s"
    )
    row = conn.execute(query, (schema, table)).fetchone()
    assert row is not None
    relkind, reltuples = row
    if relkind in ("r", "m") and reltuples < 0:
        # ANALYZE reads a fixed-size sample (300 x default_statistics_target rows); a role that
        # does not own the table gets a warning and the estimate stays unknown (full scan).
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))
        row = conn.execute(query, (schema, table)).fetchone()
        assert row is not None
        relkind, reltuples = row
    return relkind, float(reltuples)
