"""Idempotent warehouse set-up: roles (superuser, once) and schemas/tables (owner, every run).

Two entry points, both safe to run again and again:

* :func:`bootstrap_roles` — run by the project set-up with a superuser connection *to the
  warehouse database*: LOGIN roles ``dwh_owner`` / ``bi_reader`` (passwords from the caller),
  ``pgcrypto``, database-level privileges.
* :func:`ensure_schema` — run by the pipeline every morning as ``dwh_owner``: schemas, the raw
  tables of docs/design.md, ``raw.quarantine``, the ``meta`` tables, indexes and privileges.

:data:`RAW_TABLES` is the registry of raw tables other modules import. Every identifier that goes
into SQL comes from this module's constants and is quoted with :mod:`psycopg.sql`; secrets are
never placed in SQL text in clear (role passwords are sent as SCRAM verifiers computed client-side,
the PII key as a bind parameter).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import psycopg
from psycopg import errors, sql

from webinar_dwh.sources import REGISTRY

log = logging.getLogger(__name__)

OWNER_ROLE: Final = "dwh_owner"
"""The pipeline's role (loader, dbt, publish); owns every warehouse schema."""

BI_ROLE: Final = "bi_reader"
"""The BI tools' role: ``CONNECT``, ``USAGE`` on ``marts`` and ``SELECT`` on its tables only."""

CRM_ROLE: Final = "crm_reader"
"""The sales team's role: ``CONNECT``, ``USAGE`` on ``crm`` and ``SELECT`` on its follow-up lists
(clear-text e-mails) only; nothing in ``marts`` or below."""

RAW_SCHEMA: Final = "raw"
META_SCHEMA: Final = "meta"
STAGING_SCHEMA: Final = "staging"
INTERMEDIATE_SCHEMA: Final = "intermediate"
MARTS_BUILD_SCHEMA: Final = "marts_build"
MARTS_SCHEMA: Final = "marts"
CRM_SCHEMA: Final = "crm"
"""Follow-up lists with contact e-mails (dbt models tagged ``crm``, built after publish):
readable by ``crm_reader`` only, never by ``bi_reader``."""

PRIVATE_SCHEMAS: Final[tuple[str, ...]] = (
    RAW_SCHEMA,
    META_SCHEMA,
    STAGING_SCHEMA,
    INTERMEDIATE_SCHEMA,
    MARTS_BUILD_SCHEMA,
)
"""Schemas nobody but the owner may use (``PUBLIC`` and ``bi_reader`` get nothing)."""

SCHEMAS: Final[tuple[str, ...]] = (*PRIVATE_SCHEMAS, MARTS_SCHEMA, CRM_SCHEMA)

QUARANTINE_TABLE: Final = "quarantine"

RAW_TABLES: Final[dict[tuple[str, str], str]] = {
    (source.name, entity): f"{source.name}_{entity}"
    for source in REGISTRY.values()
    for entity in source.entities
}
"""``(source, entity)`` → table name in schema ``raw`` (docs/design.md, "Raw layer"), one per
entity of every registered source (``webinar_dwh.sources.REGISTRY``)."""

SOURCES: Final[tuple[str, ...]] = tuple(REGISTRY)


@dataclass(frozen=True)
class Column:
    """One column of a table this module creates: the single declaration its DDL, the drift check
    and landing's binary ``COPY`` are all derived from."""

    name: str
    type: str
    """PostgreSQL type as ``format_type`` spells it (also the binary COPY type name)."""
    nullable: bool = False
    default: str | None = None
    """SQL default; a column with a default is filled by PostgreSQL, never written by landing."""

    @property
    def written(self) -> bool:
        """Whether landing writes the column (``COPY`` lists it)."""
        return self.default is None

    def ddl(self) -> str:
        return " ".join(
            part
            for part in (
                self.name,
                self.type,
                None if self.nullable else "not null",
                None if self.default is None else f"default {self.default}",
            )
            if part
        )


RAW_COLUMNS: Final[tuple[Column, ...]] = (
    Column("_batch_id", "uuid"),
    Column("_row_seq", "bigint"),
    Column("_record_key", "text"),
    Column("_parent_key", "text", nullable=True),
    Column("_extracted_at", "timestamp with time zone"),
    Column("_loaded_at", "timestamp with time zone", default="now()"),
    Column("_dag_run_id", "text"),
    Column("_logical_date", "date"),
    Column("payload", "jsonb"),
)
"""Columns of every raw table, in order (docs/design.md, "Raw layer"). ``_loaded_at`` defaults to
``now()``: the start of the landing transaction, the same for every row of one batch."""

RAW_CHILD_TABLES: Final[tuple[str, ...]] = tuple(
    table for (name, entity), table in RAW_TABLES.items() if entity != REGISTRY[name].cursor_entity
)
"""Raw tables of child entities (``_parent_key`` set) that incremental models read by parent."""

QUARANTINE_COLUMNS: Final[tuple[Column, ...]] = (
    Column("_batch_id", "uuid"),
    Column("_source", "text"),
    Column("_entity", "text"),
    Column("_parent_key", "text", nullable=True),
    Column("_extracted_at", "timestamp with time zone"),
    Column("_dag_run_id", "text"),
    Column("_logical_date", "date"),
    Column("reason", "text"),
    Column("payload", "text"),
    Column("_quarantined_at", "timestamp with time zone", default="now()"),
)
"""Columns of ``raw.quarantine``: the rejected item's text as received and why it was rejected."""

# Serialises concurrent ensure_schema runs (CREATE ... IF NOT EXISTS is not race-free).
_DDL_LOCK_KEY: Final = 7_214_930_001


def _table_ddl(columns: tuple[Column, ...]) -> str:
    body = ",\n    ".join(column.ddl() for column in columns)
    return f"create table if not exists {{table}} (\n    {body}\n)"


_RAW_TABLE_DDL: Final = _table_ddl(RAW_COLUMNS)
_QUARANTINE_DDL: Final = _table_ddl(QUARANTINE_COLUMNS)

_META_DDL: Final[tuple[str, ...]] = (
    """
    create table if not exists {meta}.load_batches (
        batch_id uuid primary key,
        source text not null,
        entity text not null,
        dag_run_id text not null,
        logical_date date not null,
        started_at timestamptz not null,
        committed_at timestamptz not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        entity_counts jsonb not null default '{{}}'::jsonb
    )
    """,
    "create index if not exists load_batches_source_committed_idx "
    "on {meta}.load_batches (source, committed_at)",
    """
    create table if not exists {meta}.cursors (
        source text not null,
        entity text not null,
        cursor_value text not null,
        batch_id uuid not null,
        updated_at timestamptz not null default now(),
        primary key (source, entity)
    )
    """,
    """
    create table if not exists {meta}.pii_key (
        singleton boolean primary key default true check (singleton),
        key text not null check (key <> ''),
        updated_at timestamptz not null default now()
    )
    """,
    """
    create table if not exists {meta}.publications (
        publication_id bigint generated always as identity primary key,
        published_at timestamptz not null default now(),
        dag_run_id text,
        tables text[] not null,
        row_counts jsonb not null
    )
    """,
    # The identity of the published build (webinar_dwh.warehouse.builds): its cut-off and the
    # stamps of its relations. Older publications have neither.
    "alter table {meta}.publications add column if not exists as_of timestamptz",
    "alter table {meta}.publications add column if not exists build jsonb",
    """
    create table if not exists {meta}.migrations (
        name text primary key,
        applied_at timestamptz not null default now(),
        rows_changed bigint not null
    )
    """,
    """
    create table if not exists {meta}.key_collisions (
        batch_id uuid not null,
        source text not null,
        entity text not null,
        record_key text not null,
        payloads int not null,
        detected_at timestamptz not null default now(),
        primary key (batch_id, entity, record_key)
    )
    """,
    """
    create table if not exists {meta}.builds (
        build_key text primary key,
        dag_run_id text not null,
        as_of timestamptz not null,
        stamps jsonb not null,
        validated_at timestamptz not null default now()
    )
    """,
    # One morning digest per reporting date and destination (webinar_dwh.digest): a rerun or a
    # backfill does not send the team the same morning twice.
    """
    create table if not exists {meta}.digest_deliveries (
        digest_date date not null,
        conn_id text not null,
        channel text not null,
        dag_run_id text not null,
        delivered_at timestamptz not null default now(),
        primary key (digest_date, conn_id)
    )
    """,
)


class BootstrapError(RuntimeError):
    """The warehouse cannot be set up as docs/design.md requires; the message says why."""


def raw_table(source: str, entity: str) -> sql.Identifier:
    """The quoted, schema-qualified raw table of a source entity.

    Raises:
        KeyError: no raw table is registered for ``(source, entity)``.
    """
    try:
        return sql.Identifier(RAW_SCHEMA, RAW_TABLES[(source, entity)])
    except KeyError:
        raise KeyError(f"no raw table for source {source!r}, entity {entity!r}") from None


# --------------------------------------------------------------------------- roles (superuser)


def bootstrap_roles(
    superuser_conn: psycopg.Connection,
    *,
    owner_password: str,
    bi_password: str,
    database: str,
    crm_password: str | None = None,
    retries: int = 3,
) -> None:
    """Create or update the LOGIN roles and the database-level set-up (idempotent).

    Runs in one transaction on ``superuser_conn``, which must be a superuser connected to
    ``database`` (extensions are per database). It

    * creates ``dwh_owner``, ``bi_reader`` and ``crm_reader`` if missing, and (re)sets ``LOGIN``
      and their passwords (sent as client-side SCRAM-SHA-256 verifiers, never in clear SQL text);
      ``crm_reader`` without a password given stays as it is (``NOLOGIN`` when new);
    * creates the ``pgcrypto`` extension (the keyed e-mail hash of the marts);
    * revokes ``PUBLIC``'s default ``CONNECT``/``TEMPORARY`` on the database, grants the owner
      ``CONNECT, CREATE, TEMPORARY`` and ``bi_reader`` ``CONNECT`` only;
    * sets ``bi_reader``'s ``search_path`` to ``marts`` in this database (convenience for BI) and
      switches JIT compilation off for ``dwh_owner`` there (it cost more than it saved on the
      pipeline's incremental statements).

    Roles are cluster-wide: running it for a second database only updates passwords and adds
    that database's grants.

    Args:
        superuser_conn: superuser connection to the warehouse database; must not be inside a
            transaction (autocommit or idle).
        owner_password: password for ``dwh_owner`` (from the environment, never hard-coded).
        bi_password: password for ``bi_reader``.
        crm_password: password for ``crm_reader`` (the follow-up lists); ``None`` keeps its
            password, or creates it without login when it does not exist yet.
        database: the warehouse database name; must equal the connection's current database.
        retries: attempts when another session changes the same roles at the same moment
            (PostgreSQL answers "tuple concurrently updated" / a unique violation then).

    Raises:
        ValueError: an empty password or a connection to another database.
        BootstrapError: the connection is not a superuser or is inside a transaction.
    """
    for name, value in (("owner_password", owner_password), ("bi_password", bi_password)):
        if not value:
            raise ValueError(f"{name} must be a non-empty string")
    if crm_password is not None and not crm_password:
        raise ValueError("crm_password must be a non-empty string or None")
    if superuser_conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise BootstrapError("bootstrap_roles needs a connection outside a transaction")
    for attempt in range(1, retries + 1):
        try:
            with superuser_conn.transaction():
                _bootstrap_roles_txn(
                    superuser_conn,
                    passwords={
                        OWNER_ROLE: owner_password,
                        BI_ROLE: bi_password,
                        **({CRM_ROLE: crm_password} if crm_password else {}),
                    },
                    database=database,
                )
            break
        except (errors.UniqueViolation, errors.InternalError_, errors.SerializationFailure) as exc:
            if attempt == retries:
                raise
            log.warning("bootstrap_roles: concurrent role change (%s); retrying", type(exc).__name__)
            time.sleep(0.2 * attempt)
    log.info("roles %s and %s ready in database %s", OWNER_ROLE, BI_ROLE, database)


def _bootstrap_roles_txn(conn: psycopg.Connection, *, passwords: dict[str, str], database: str) -> None:
    row = conn.execute(
        "select current_database(), (select rolsuper from pg_roles where rolname = current_user)"
    ).fetchone()
    assert row is not None
    current_db, is_super = row
    if current_db != database:
        raise ValueError(
            f"bootstrap_roles must run connected to the warehouse database {database!r} "
            f"(connected to {current_db!r}): extensions and grants are per database"
        )
    if not is_super:
        raise BootstrapError("bootstrap_roles needs a superuser connection")

    for role, password in passwords.items():
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
        conn.execute(
            sql.SQL(
                "alter role {} with login nosuperuser nocreatedb nocreaterole noreplication "
                "nobypassrls password {}"
            ).format(sql.Identifier(role), sql.Literal(verifier.decode("ascii")))
        )

    if not conn.execute("select 1 from pg_roles where rolname = %s", (CRM_ROLE,)).fetchone():
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(CRM_ROLE)))

    conn.execute("create extension if not exists pgcrypto")

    db = sql.Identifier(database)
    owner = sql.Identifier(OWNER_ROLE)
    bi = sql.Identifier(BI_ROLE)
    crm = sql.Identifier(CRM_ROLE)
    for stmt in (
        "revoke all on database {db} from public",
        "grant connect, create, temporary on database {db} to {owner}",
        "revoke all on database {db} from {bi}",
        "grant connect on database {db} to {bi}",
        "alter role {bi} in database {db} set search_path = " + MARTS_SCHEMA,
        "revoke all on database {db} from {crm}",
        "grant connect on database {db} to {crm}",
        "alter role {crm} in database {db} set search_path = " + CRM_SCHEMA,
        # The pipeline's statements are many and small (incremental scopes of a few days), but
        # their estimates grow with the tables, and past jit_above_cost PostgreSQL spends up to
        # ~1 s compiling each one (measured at 10 years of history): no JIT for the owner.
        "alter role {owner} in database {db} set jit = off",
    ):
        conn.execute(sql.SQL(stmt).format(db=db, owner=owner, bi=bi, crm=crm))


# --------------------------------------------------------------------------- schema (owner)


def ensure_schema(owner_conn: psycopg.Connection, *, pii_key: str | None) -> None:
    """Create or update schemas, tables, indexes and privileges (idempotent, one transaction).

    Runs as ``dwh_owner``: if the connection is another role that may ``SET ROLE dwh_owner``
    (e.g. a superuser), the work is done under ``SET LOCAL ROLE`` so every object is owned by
    ``dwh_owner``. Existing raw tables are checked against the contract's columns; a drift
    raises instead of being "fixed" silently. Commits before returning.

    What it guarantees afterwards:

    * schemas ``raw``, ``meta``, ``staging``, ``intermediate``, ``marts_build``, ``marts``;
    * every table of :data:`RAW_TABLES` with :data:`RAW_COLUMNS` and b-tree indexes on
      ``(_record_key, _loaded_at, _batch_id, _row_seq)`` (staging's "latest row per key") and
      on ``_loaded_at`` (incremental reads and watermarks); the child entities of
      :data:`RAW_CHILD_TABLES` also on ``(_parent_key, _record_key, _loaded_at, _batch_id,
      _row_seq)`` (incremental reads by parent); ``raw.quarantine``. Creating a missing index
      on a large existing table takes a ``SHARE`` lock (loads wait) for the build, once;
    * ``meta.load_batches``, ``meta.cursors``, ``meta.publications``, ``meta.builds`` (builds the
      quality gate validated), ``meta.digest_deliveries`` (morning digests sent) and the single-row
      ``meta.pii_key(key)``;
    * ``PUBLIC`` and ``bi_reader`` have no privilege on the private schemas or their tables;
      ``bi_reader`` has ``USAGE`` on ``marts``, ``SELECT`` on its tables, and by default
      privileges on the tables ``dwh_owner`` creates there later.

    Args:
        owner_conn: connection as ``dwh_owner`` (or a role allowed to ``SET ROLE`` to it), not
            inside a transaction.
        pii_key: secret for the keyed e-mail hash (``DWH_PII_KEY``). When given it is stored
            (replacing an older key: the marts are rebuilt in full, so person keys change
            consistently); when ``None`` the stored key is kept — a warning is logged if there
            is none, since the marts' ``person_key`` would then be null.

    Raises:
        ValueError: ``pii_key`` is an empty string.
        BootstrapError: roles missing (run :func:`bootstrap_roles` first), a schema owned by
            another role, or a raw table whose columns drifted from the contract.
    """
    if pii_key is not None and not pii_key:
        raise ValueError("pii_key must be a non-empty string or None")
    if owner_conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise BootstrapError("ensure_schema needs a connection outside a transaction")
    with owner_conn.transaction():
        use_owner_role(owner_conn)
        owner_conn.execute("select pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
        _create_schemas(owner_conn)
        _create_tables(owner_conn)
        _check_columns(owner_conn)
        _apply_privileges(owner_conn)
        has_key = _store_pii_key(owner_conn, pii_key)
    if not has_key:
        log.warning("meta.pii_key is empty: set DWH_PII_KEY, or person keys in the marts will be null")
    log.info("warehouse schema ready (%d raw tables)", len(RAW_TABLES))


def use_owner_role(conn: psycopg.Connection) -> None:
    """Act as ``dwh_owner`` for the rest of the current transaction.

    A no-op when connected as ``dwh_owner``; otherwise ``SET LOCAL ROLE dwh_owner`` (allowed for
    superusers and members), so objects created or altered belong to the owner.

    Raises:
        BootstrapError: the roles do not exist, or the session may not become ``dwh_owner``.
    """
    row = conn.execute(
        "select current_user, "
        "exists (select 1 from pg_roles where rolname = %s), "
        "exists (select 1 from pg_roles where rolname = %s)",
        (OWNER_ROLE, BI_ROLE),
    ).fetchone()
    assert row is not None
    current, owner_exists, bi_exists = row
    if not (owner_exists and bi_exists):
        raise BootstrapError(
            f"roles {OWNER_ROLE} and {BI_ROLE} must exist: run bootstrap_roles() as a superuser first"
        )
    if current != OWNER_ROLE:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(OWNER_ROLE)))
        except errors.InsufficientPrivilege:
            raise BootstrapError(
                f"ensure_schema must run as {OWNER_ROLE} (connected as {current!r}, "
                f"which cannot SET ROLE {OWNER_ROLE})"
            ) from None


def _create_schemas(conn: psycopg.Connection) -> None:
    for schema in SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    foreign = conn.execute(
        "select nspname, pg_get_userbyid(nspowner) from pg_namespace "
        "where nspname = any(%s) and pg_get_userbyid(nspowner) <> %s",
        (list(SCHEMAS), OWNER_ROLE),
    ).fetchall()
    if foreign:
        owned = ", ".join(f"{name} (owner {owner})" for name, owner in foreign)
        raise BootstrapError(f"schemas not owned by {OWNER_ROLE}: {owned}; alter their owner first")


def _create_tables(conn: psycopg.Connection) -> None:
    meta = sql.Identifier(META_SCHEMA)
    for ddl in _META_DDL:
        conn.execute(sql.SQL(ddl).format(meta=meta))
    conn.execute(sql.SQL(_QUARANTINE_DDL).format(table=sql.Identifier(RAW_SCHEMA, QUARANTINE_TABLE)))
    for table in RAW_TABLES.values():
        conn.execute(sql.SQL(_RAW_TABLE_DDL).format(table=sql.Identifier(RAW_SCHEMA, table)))
        _create_raw_indexes(conn, table)
    _migrate(conn, "zoom_guest_participant_keys", _rekey_guest_participants)


def _migrate(conn: psycopg.Connection, name: str, step: Callable[[psycopg.Connection], int]) -> None:
    """Run a one-off data migration once in a warehouse's life (recorded in ``meta.migrations``)."""
    done = conn.execute(
        sql.SQL("select 1 from {} where name = %s").format(sql.Identifier(META_SCHEMA, "migrations")), (name,)
    ).fetchone()
    if done:
        return
    changed = step(conn)
    conn.execute(
        sql.SQL("insert into {} (name, rows_changed) values (%s, %s)").format(
            sql.Identifier(META_SCHEMA, "migrations")
        ),
        (name, changed),
    )
    log.info("migration %s: %d row(s) changed", name, changed)


def _rekey_guest_participants(conn: psycopg.Connection) -> int:
    """Zoom participant rows loaded under the old key ``<uuid>::<join_time>`` (a guest without a
    participant id) get the key the extractor derives now (``participant_key``), so a re-pulled
    session lands under the same key and counts once. Only ``_record_key`` changes (it is derived
    from the payload, which stays untouched); two guests who had collided become two keys again."""
    from webinar_dwh.sources.zoom.contracts import participant_key

    table = sql.Identifier(RAW_SCHEMA, RAW_TABLES[("zoom", "participants")])
    rows = conn.execute(
        sql.SQL(
            "select ctid::text, _parent_key, payload from {} "
            "where _record_key = _parent_key || '::' || (payload ->> 'join_time')"
        ).format(table)
    ).fetchall()
    for ctid, parent, payload in rows:
        conn.execute(
            sql.SQL("update {} set _record_key = %s where ctid = %s::tid").format(table),
            (participant_key(parent, payload), ctid),
        )
    return len(rows)


def _create_raw_indexes(conn: psycopg.Connection, table: str) -> None:
    """The b-tree indexes every raw read needs (idempotent; see :func:`ensure_schema`).

    * ``<table>__record_key_idx`` on ``(_record_key, _loaded_at, _batch_id, _row_seq)``:
      staging's "latest row per key", read backwards instead of sorting.
    * ``<table>__loaded_at_idx`` on ``(_loaded_at)``: every incremental dbt build asks each raw
      table for ``max(_loaded_at)`` (its watermark) and for the rows loaded since the last
      build. A b-tree answers both from its ends; the BRIN index older versions created here
      could only serve the range scan (``max()`` read the whole table), so it is dropped.
    * ``<table>_parent_key_idx`` on ``(_parent_key, _record_key, _loaded_at, _batch_id,
      _row_seq)`` of the child entities (:data:`RAW_CHILD_TABLES`): the dedupe of the rows of a
      few parents (the webinars an incremental build re-derives). Named as dbt's former
      ``raw_parent_indexes`` hook named them, so warehouses that ran the hook keep their index.
    """
    ident = sql.Identifier(RAW_SCHEMA, table)
    latest_per_key = ("_record_key", "_loaded_at", "_batch_id", "_row_seq")
    indexes = [(f"{table}__record_key_idx", latest_per_key), (f"{table}__loaded_at_idx", ("_loaded_at",))]
    if table in RAW_CHILD_TABLES:
        indexes.append((f"{table}_parent_key_idx", ("_parent_key", *latest_per_key)))
    for name, columns in indexes:
        conn.execute(
            sql.SQL("create index if not exists {name} on {table} ({columns})").format(
                name=sql.Identifier(name),
                table=ident,
                columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            )
        )
    conn.execute(
        sql.SQL("drop index if exists {}").format(sql.Identifier(RAW_SCHEMA, f"{table}__loaded_at_brin"))
    )


def _check_columns(conn: psycopg.Connection) -> None:
    expected: dict[str, tuple[tuple[str, str], ...]] = {
        t: tuple((c.name, c.type) for c in RAW_COLUMNS) for t in RAW_TABLES.values()
    }
    expected[QUARANTINE_TABLE] = tuple((c.name, c.type) for c in QUARANTINE_COLUMNS)
    rows = conn.execute(
        """
        select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = any(%s) and a.attnum > 0 and not a.attisdropped
        order by c.relname, a.attnum
        """,
        (RAW_SCHEMA, list(expected)),
    ).fetchall()
    actual: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_name in rows:
        actual.setdefault(table, []).append((column, type_name))
    drift = [
        f"raw.{table}: expected {list(cols)}, found {actual.get(table)}"
        for table, cols in expected.items()
        if tuple(actual.get(table, ())) != cols
    ]
    if drift:
        raise BootstrapError("raw tables drifted from docs/design.md: " + "; ".join(drift))


def _apply_privileges(conn: psycopg.Connection) -> None:
    owner = sql.Identifier(OWNER_ROLE)
    bi = sql.Identifier(BI_ROLE)
    crm_role_exists = conn.execute("select 1 from pg_roles where rolname = %s", (CRM_ROLE,)).fetchone()
    crm_schema = sql.Identifier(CRM_SCHEMA)
    for stmt in (
        "revoke all on schema {s} from public, {bi}",
        "revoke all on all tables in schema {s} from public, {bi}",
    ):
        conn.execute(sql.SQL(stmt).format(s=crm_schema, bi=bi))
    if crm_role_exists:
        crm = sql.Identifier(CRM_ROLE)
        for schema in (*PRIVATE_SCHEMAS, MARTS_SCHEMA):
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(sql.Identifier(schema), crm))
        for stmt in (
            "grant usage on schema {s} to {crm}",
            "grant select on all tables in schema {s} to {crm}",
            "alter default privileges for role {owner} in schema {s} grant select on tables to {crm}",
        ):
            conn.execute(sql.SQL(stmt).format(s=crm_schema, crm=crm, owner=owner))
    else:
        log.warning("role %s missing: run bootstrap_roles() to create it (follow-up lists)", CRM_ROLE)
    for schema in PRIVATE_SCHEMAS:
        ident = sql.Identifier(schema)
        for stmt in (
            "revoke all on schema {s} from public, {bi}",
            "revoke all on all tables in schema {s} from public, {bi}",
            "revoke all on all sequences in schema {s} from public, {bi}",
            "revoke all on all functions in schema {s} from public, {bi}",
        ):
            conn.execute(sql.SQL(stmt).format(s=ident, bi=bi))
    marts = sql.Identifier(MARTS_SCHEMA)
    for stmt in (
        "revoke all on schema {s} from public",
        "revoke create on schema {s} from {bi}",
        "grant usage on schema {s} to {bi}",
        "grant select on all tables in schema {s} to {bi}",
        "alter default privileges for role {owner} in schema {s} grant select on tables to {bi}",
    ):
        conn.execute(sql.SQL(stmt).format(s=marts, bi=bi, owner=owner))


def _store_pii_key(conn: psycopg.Connection, pii_key: str | None) -> bool:
    table = sql.Identifier(META_SCHEMA, "pii_key")
    if pii_key is not None:
        # A bind parameter: the secret never appears in SQL text or statement logs of SQL text.
        conn.execute(
            sql.SQL(
                "insert into {t} (singleton, key) values (true, %s) "
                "on conflict (singleton) do update set key = excluded.key, updated_at = now() "
                "where {t}.key is distinct from excluded.key"
            ).format(t=table),
            (pii_key,),
        )
        return True
    return conn.execute(sql.SQL("select exists (select 1 from {})").format(table)).fetchone() == (True,)
