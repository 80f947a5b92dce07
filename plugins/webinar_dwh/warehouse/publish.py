"""Publish the validated marts: swap them from ``marts_build`` into ``marts`` atomically.

dbt builds the marts into ``marts_build`` (tables, see ``dbt_project.yml``); Great Expectations
validates them there; :func:`publish_marts` then, in **one transaction**,

1. locks the new relations in ``marts_build`` and checks them for clear-text e-mail columns;
2. counts their rows;
3. takes ``ACCESS EXCLUSIVE`` locks on the current ``marts`` relations of the same names, all in
   one ``LOCK`` statement, waiting at most ``lock_timeout_s`` for BI queries to finish;
4. drops the old relations and moves the new ones with ``ALTER … SET SCHEMA marts``;
5. grants ``SELECT`` to ``bi_reader`` and records a ``meta.publications`` row.

Readers never see a half-updated ``marts``: until the commit they read the old relations
(their queries hold ``ACCESS SHARE`` locks, which the swap waits for); after it, the new ones. A
query that arrives during the swap waits for the lock and then reads the new relation by name.
Nothing is ever missing from ``marts`` in between. Moving is a catalog-only operation, so the
exclusive lock lasts milliseconds whatever the mart size. If publish is not called (a failed
quality gate), ``marts`` stays exactly as it was.

The published relations leave ``marts_build`` (dbt rebuilds it on the next run). Relations in
``marts`` that are not being published are left alone. Views and materialized views are
supported too, but dbt builds the marts as tables, which is what makes them snapshot-consistent:
a view would read the layers below it live.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Final

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

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT_S: Final = 10.0
"""How long publish waits for BI queries holding locks on the old marts before giving up."""

# dbt's transient relations (a failed or running table materialisation) are never published.
_DBT_TRANSIENT_SUFFIXES: Final = ("__dbt_tmp", "__dbt_backup")

_RELKIND_KEYWORD: Final = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
}
# Drop order: views may depend on materialized views and tables, not the other way round.
_DROP_ORDER: Final = {"v": 0, "m": 1, "r": 2, "p": 2}

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


def publish_marts(
    conn: psycopg.Connection,
    tables: list[str] | None = None,
    *,
    dag_run_id: str | None = None,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    scan_values_for_emails: bool = True,
) -> PublicationResult:
    """Swap marts from ``marts_build`` into ``marts`` in one transaction and commit.

    Args:
        conn: connection as ``dwh_owner`` (or a role that may ``SET ROLE dwh_owner``), not
            inside a transaction. It is idle again afterwards.
        tables: names of the relations in ``marts_build`` to publish; ``None`` publishes every
            table/view there except dbt's transient ``*__dbt_tmp`` / ``*__dbt_backup``.
        dag_run_id: stored in ``meta.publications``.
        lock_timeout_s: how long to wait for locks held by BI queries on the old marts (and by
            anything on ``marts_build``) before failing; the wait happens before any change.
        scan_values_for_emails: also scan the text columns of the new relations for values
            shaped like an e-mail address (one pass per relation); names are always checked.

    Returns:
        The publication: id, time, relations and their row counts.

    Raises:
        PublishError: nothing to publish, a named relation is missing from ``marts_build``,
            the locks could not be taken within ``lock_timeout_s``, or another relation in
            ``marts`` depends on one being replaced. ``marts`` is unchanged.
        PiiExposureError: a new relation carries clear-text e-mails. ``marts`` is unchanged.
    """
    started = time.perf_counter()
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise PublishError("publish_marts needs a connection outside a transaction: it commits itself")
    if lock_timeout_s <= 0:
        raise ValueError("lock_timeout_s must be > 0")
    with conn.transaction():
        use_owner_role(conn)
        conn.execute(
            "select set_config('lock_timeout', %s, true)", (f"{round(lock_timeout_s * 1000)}ms",)
        )
        new = _relations(conn, MARTS_BUILD_SCHEMA)
        names = _select(new, tables)
        _lock(conn, MARTS_BUILD_SCHEMA, names, lock_timeout_s)
        assert_no_clear_email_columns(
            conn, schema=MARTS_BUILD_SCHEMA, tables=names, scan_values=scan_values_for_emails
        )
        counts = {name: _count(conn, name, new[name]) for name in names}

        old = _relations(conn, MARTS_SCHEMA)
        replaced = [name for name in names if name in old]
        _lock(conn, MARTS_SCHEMA, replaced, lock_timeout_s)
        for name in sorted(replaced, key=lambda n: _DROP_ORDER[old[n]]):
            _drop(conn, name, old[name])
        for name in names:
            conn.execute(
                sql.SQL("alter {kind} {rel} set schema {marts}").format(
                    kind=sql.SQL(_RELKIND_KEYWORD[new[name]]),
                    rel=sql.Identifier(MARTS_BUILD_SCHEMA, name),
                    marts=sql.Identifier(MARTS_SCHEMA),
                )
            )
            conn.execute(
                sql.SQL("grant select on {} to {}").format(
                    sql.Identifier(MARTS_SCHEMA, name), sql.Identifier(BI_ROLE)
                )
            )
        row = conn.execute(
            sql.SQL(
                "insert into {} (dag_run_id, tables, row_counts) values (%s, %s, %s) "
                "returning publication_id, published_at"
            ).format(sql.Identifier(META_SCHEMA, "publications")),
            (dag_run_id, names, Jsonb(counts)),
        ).fetchone()
        assert row is not None
    result = PublicationResult(
        publication_id=row[0],
        published_at=row[1].isoformat(),
        tables=names,
        row_counts=counts,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("published %d marts (%s) in %.2fs", len(names), ", ".join(names), result.seconds)
    return result


def find_clear_email_columns(
    conn: psycopg.Connection,
    *,
    schema: str = MARTS_SCHEMA,
    tables: list[str] | None = None,
    scan_values: bool = True,
) -> list[str]:
    """Columns that (may) hold clear-text e-mail addresses, as ``"schema.table.column: why"``.

    A column is flagged when its name contains ``email``/``e_mail``/``mail_address`` and
    does not say it is a hash (``hash``, ``hmac``, ``sha``, ``digest``, ``key``), or — with
    ``scan_values`` — when it is a text column holding a value shaped like an e-mail address.

    Args:
        conn: any connection that can read ``schema``.
        schema: schema to inspect.
        tables: restrict to these relations (default: all tables and views of ``schema``).
        scan_values: also scan text columns' values (one pass over each relation).
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
            checks = sql.SQL(", ").join(
                sql.SQL("coalesce(bool_or({c} ~ {rx}), false)").format(
                    c=sql.Identifier(c), rx=sql.Literal(_EMAIL_VALUE_REGEX)
                )
                for c in columns
            )
            hits = conn.execute(
                sql.SQL("select {} from {}").format(checks, sql.Identifier(schema, table))
            ).fetchone()
            assert hits is not None
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
) -> None:
    """Raise if any column of ``schema`` (may) hold clear-text e-mails (see :func:`find_clear_email_columns`).

    Raises:
        PiiExposureError: listing every flagged column (names only, never the values).
    """
    flagged = find_clear_email_columns(conn, schema=schema, tables=tables, scan_values=scan_values)
    if flagged:
        raise PiiExposureError(
            "clear-text e-mail in marts (hash it with the PII key instead): " + "; ".join(flagged)
        )


# --------------------------------------------------------------------------- internals


def _relations(conn: psycopg.Connection, schema: str) -> dict[str, str]:
    """``name -> relkind`` of the tables, views and materialized views in ``schema``."""
    rows = conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition",
        (schema,),
    ).fetchall()
    return dict(rows)


def _select(available: dict[str, str], tables: list[str] | None) -> list[str]:
    if tables is None:
        names = sorted(n for n in available if not n.endswith(_DBT_TRANSIENT_SUFFIXES))
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


def _count(conn: psycopg.Connection, name: str, relkind: str) -> int | None:
    if relkind == "v":
        return None  # counting a view would run it; it has no rows of its own
    row = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(MARTS_BUILD_SCHEMA, name))
    ).fetchone()
    assert row is not None
    return int(row[0])


def _drop(conn: psycopg.Connection, name: str, relkind: str) -> None:
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("drop {kind} {rel}").format(
                    kind=sql.SQL(_RELKIND_KEYWORD[relkind]), rel=sql.Identifier(MARTS_SCHEMA, name)
                )
            )
    except errors.DependentObjectsStillExist as exc:
        detail = exc.diag.message_detail or ""
        raise PublishError(
            f"cannot replace {MARTS_SCHEMA}.{name}: other objects depend on it ({detail.strip()}); "
            f"publish them together or drop them"
        ) from None
