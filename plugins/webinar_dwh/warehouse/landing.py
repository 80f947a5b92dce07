"""Land one batch of source items into the raw layer, atomically, with its cursor.

A *batch* is whatever a caller chooses to make atomic — typically a few parents of one source
with all their children (conferences + their registrations + attendees). :func:`land_batch`
writes it in **one transaction**:

1. every :class:`~webinar_dwh.records.Record` goes to its raw table (``raw.<source>_<entity>``)
   through binary ``COPY … FROM STDIN``; the payload is serialised to JSON exactly once;
2. every :class:`~webinar_dwh.records.Rejected` item — and every record that cannot be stored
   (payload not valid JSON for PostgreSQL, NUL characters, empty key) — goes to ``raw.quarantine``
   with a reason;
3. one ``meta.load_batches`` row with the counts;
4. the ``meta.cursors`` row of the given cursor, only when a cursor is given.

If anything fails — the item iterator raises, the server rejects a row, the process is killed —
the transaction rolls back: no raw row, no quarantine row, no batch row, the cursor unmoved. A
rerun of the same window is harmless because raw is append-only and staging keeps the latest
row per ``_record_key`` by ``(_loaded_at, _batch_id, _row_seq)``.

Memory: items are consumed lazily; rows are buffered per entity in bounded chunks
(``flush_rows``) and streamed to the server chunk by chunk (one ``COPY`` statement per chunk),
so a batch of any size runs in constant memory. Chunking is needed because one connection can
run only one ``COPY`` at a time while a batch interleaves entities.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types.json import Jsonb

from webinar_dwh.records import Item, Record, Rejected
from webinar_dwh.warehouse.bootstrap import (
    META_SCHEMA,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    RAW_COLUMNS,
    RAW_SCHEMA,
    RAW_TABLES,
    SOURCES,
)

log = logging.getLogger(__name__)

DEFAULT_FLUSH_ROWS: Final = 5_000
"""Rows buffered per entity before they are sent with one ``COPY`` (memory bound per entity)."""

RAW_COPY_COLUMNS: Final = tuple(c.name for c in RAW_COLUMNS if c.written)
"""What landing writes into a raw table, in COPY order (``_loaded_at`` is the column default,
the load transaction's start); the benchmark's plain-COPY baseline copies the same columns."""
_RAW_COPY_TYPES: Final = [c.type for c in RAW_COLUMNS if c.written]
_QUARANTINE_COPY_COLUMNS: Final = tuple(c.name for c in QUARANTINE_COLUMNS if c.written)
_QUARANTINE_COPY_TYPES: Final = [c.type for c in QUARANTINE_COLUMNS if c.written]

# PostgreSQL's jsonb rejects the escape \u0000; an escaped backslash followed by "u0000" is fine.
_JSON_NUL: Final = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_STDLIB_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _reject_non_finite(payload: Any) -> None:
    """Raise ``ValueError`` if a float in ``payload`` is NaN or ±Infinity (msgspec writes them as
    ``null``, so the encoded text cannot tell). A walk over the containers only: ~4x cheaper than
    encoding the payload again with the stdlib just to find out."""
    stack = [payload]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            stack.extend(value.values())
        elif kind is list or kind is tuple:
            stack.extend(value)
        elif kind is float and not math.isfinite(value):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
_MAX_QUARANTINE_REASON: Final = 2_000


try:  # msgspec (pinned in requirements.txt via Airflow) encodes ~10x faster than the stdlib
    import msgspec

    _FAST_ENCODE: Callable[[Any], bytes] | None = msgspec.json.Encoder().encode
except ImportError:  # pragma: no cover - the stdlib path is complete on its own
    _FAST_ENCODE = None


def encode_payload(payload: Any) -> bytes:
    """Serialise a payload to compact UTF-8 JSON, exactly once, refusing what JSON cannot hold.

    Raises:
        ValueError: NaN/Infinity (not JSON), a lone surrogate (not UTF-8), or a type JSON has no
            representation for (``TypeError`` is also possible from the stdlib path).
    """
    if _FAST_ENCODE is None:
        return _STDLIB_ENCODE(payload).encode()
    try:
        body = _FAST_ENCODE(payload)
    except (TypeError, UnicodeEncodeError, OverflowError, msgspec.EncodeError) as exc:
        raise ValueError(str(exc)) from None
    if b"null" in body:
        _reject_non_finite(payload)  # msgspec wrote NaN/Infinity as null
    return body


class LandingError(RuntimeError):
    """The batch cannot be landed as asked (programming or set-up error); nothing was written."""


@dataclass(frozen=True, slots=True)
class LandingResult:
    """What one committed batch wrote (small: fit for XCom via :meth:`as_dict`).

    Attributes:
        batch_id: the batch's uuid (``_batch_id`` of its rows, ``meta.load_batches.batch_id``).
        source: the source system.
        rows_by_entity: raw rows written per entity.
        quarantined_by_entity: quarantined items per entity.
        quarantined: total quarantined items.
        cursor_moved: whether ``meta.cursors`` was written.
        seconds: wall time of the batch, including the time spent pulling items.
        key_collisions: per entity, record keys that arrived with two or more *different*
            payloads in this batch (both rows land; each key is listed in ``meta.key_collisions``):
            a key that cannot tell two records apart, never silently deduplicated.
    """

    batch_id: str
    source: str
    rows_by_entity: dict[str, int]
    quarantined_by_entity: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    cursor_moved: bool = False
    seconds: float = 0.0
    key_collisions: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        """Total raw rows written by the batch."""
        return sum(self.rows_by_entity.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the result."""
        return asdict(self)


class _JsonbBytesDumper(Dumper):
    """Binary jsonb from already serialised UTF-8 JSON (the payload is encoded once, by us)."""

    format = Format.BINARY
    oid = psycopg.postgres.types["jsonb"].oid

    def dump(self, obj: bytes) -> bytes:
        return b"\x01" + obj  # jsonb binary format version 1, then the JSON text


def land_batch(
    conn: psycopg.Connection,
    *,
    source: str,
    items: Iterable[Item],
    dag_run_id: str,
    logical_date: date,
    cursor: tuple[str, str] | tuple[str, str, str] | None = None,
    batch_id: uuid.UUID | None = None,
    flush_rows: int = DEFAULT_FLUSH_ROWS,
) -> LandingResult:
    """Land one batch of one source in a single transaction and commit it.

    Args:
        conn: warehouse connection as ``dwh_owner``; must not be inside a transaction (idle, in
            autocommit or not). It is idle again when the function returns or raises.
        source: ``"bigmarker"``, ``"calendly"`` or ``"zoom"``.
        items: ``Record`` / ``Rejected`` items of any entities of ``source``, consumed once,
            lazily. Records go to ``raw.<source>_<entity>``; rejected ones to ``raw.quarantine``.
        dag_run_id: Airflow run id (``manual__…`` outside Airflow), stored on every row.
        logical_date: the run's logical date (a ``datetime`` is reduced to its date).
        cursor: ``(entity, value)`` — or ``(source, entity, value)`` — to store in
            ``meta.cursors`` in the same transaction; ``None`` leaves the cursor untouched. The
            value is stored as given (callers keep it monotonic; a backfill may move it back).
        batch_id: the batch's id (default: a new uuid4). Supplying one that was already
            committed fails with a unique violation, so an exact replay cannot double-count.
        flush_rows: rows buffered per entity before one ``COPY`` sends them.

    Returns:
        Counts per entity, quarantined items, whether the cursor moved.

    Raises:
        LandingError: unknown source, a record of an entity without a raw table, a bad cursor
            or a connection inside a transaction. Nothing is written.
        Exception: whatever the item iterator or the server raises; the batch is rolled back.

    Column semantics (docs/design.md "Raw layer"): ``_row_seq`` is the item's 1-based position
    in ``items`` (rejected items take a position too, so gaps are possible);
    ``_extracted_at`` is when this function received the item from the iterator — sources are
    generators that yield a page's records as soon as the page arrives, so it is the page's
    receive time up to the streaming delay; ``_loaded_at`` is the transaction's start time.
    """
    started = time.perf_counter()
    if source not in SOURCES:
        raise LandingError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if flush_rows < 1:
        raise ValueError("flush_rows must be >= 1")
    if not dag_run_id or "\x00" in dag_run_id:
        raise LandingError("dag_run_id must be a non-empty string without NUL characters")
    cursor_update = _normalise_cursor(source, cursor)
    if isinstance(logical_date, datetime):
        logical_date = logical_date.date()
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise LandingError(
            "land_batch needs a connection outside a transaction: it commits the batch itself"
        )
    batch_id = batch_id or uuid.uuid4()

    with conn.transaction():
        # One batch per source at a time: concurrent runs cannot interleave cursor moves.
        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"webinar_dwh.land:{source}",))
        writer = _BatchWriter(
            conn,
            source=source,
            batch_id=batch_id,
            dag_run_id=dag_run_id,
            logical_date=logical_date,
            flush_rows=flush_rows,
        )
        for item in items:
            writer.add(item)
        writer.flush_all()
        _record_batch(conn, writer, cursor_update)
        if cursor_update is not None:
            conn.execute(
                sql.SQL(
                    "insert into {t} (source, entity, cursor_value, batch_id, updated_at) "
                    "values (%s, %s, %s, %s, now()) "
                    "on conflict (source, entity) do update set cursor_value = excluded.cursor_value, "
                    "batch_id = excluded.batch_id, updated_at = excluded.updated_at"
                ).format(t=sql.Identifier(META_SCHEMA, "cursors")),
                (source, cursor_update[0], cursor_update[1], batch_id),
            )

    result = LandingResult(
        batch_id=str(batch_id),
        source=source,
        rows_by_entity=dict(writer.loaded),
        quarantined_by_entity=dict(writer.quarantined),
        quarantined=sum(writer.quarantined.values()),
        cursor_moved=cursor_update is not None,
        key_collisions={entity: len(keys) for entity, keys in writer.collisions.items()},
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "landed batch %s of %s: rows %s, quarantined %d, cursor %s, %.2fs",
        result.batch_id,
        source,
        result.rows_by_entity,
        result.quarantined,
        "moved" if result.cursor_moved else "unchanged",
        result.seconds,
    )
    return result


def get_cursor(conn: psycopg.Connection, source: str, entity: str) -> str | None:
    """The stored cursor value of ``(source, entity)``, or ``None`` if never set.

    Leaves the connection as it found it: idle connections are idle again afterwards (the read
    runs in its own short transaction), so :func:`land_batch` can follow on the same connection.
    """
    with conn.transaction():
        row = conn.execute(
            sql.SQL("select cursor_value from {} where source = %s and entity = %s").format(
                sql.Identifier(META_SCHEMA, "cursors")
            ),
            (source, entity),
        ).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- internals


def _normalise_cursor(
    source: str, cursor: tuple[str, str] | tuple[str, str, str] | None
) -> tuple[str, str] | None:
    if cursor is None:
        return None
    if len(cursor) == 3:
        cursor_source, entity, value = cursor
        if cursor_source != source:
            raise LandingError(f"cursor of source {cursor_source!r} given to a batch of {source!r}")
    elif len(cursor) == 2:
        entity, value = cursor
    else:
        raise LandingError("cursor must be (entity, value) or (source, entity, value)")
    if not entity or not isinstance(value, str) or not value:
        raise LandingError("cursor entity and value must be non-empty strings")
    return entity, value


def _text_problem(text: str | None, what: str) -> str | None:
    """Why ``text`` cannot be stored in a PostgreSQL text column, or ``None`` if it can."""
    if text is None or (text.isascii() and "\x00" not in text):
        return None
    if "\x00" in text:
        return f"{what} contains NUL characters"
    try:
        text.encode()
    except UnicodeEncodeError:
        return f"{what} is not valid Unicode (lone surrogate)"
    return None


def _safe_text(text: Any) -> str:
    """Best-effort storable text for quarantine: bytes decoded, NULs and surrogates escaped."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "backslashreplace")
    elif not isinstance(text, str):
        text = repr(text)
    text = text.replace("\x00", "\\u0000")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _payload_text(payload: Any) -> str:
    try:
        return json.dumps(payload, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(payload)


class _BatchWriter:
    """Routes items of one batch into bounded per-table buffers and flushes them with COPY."""

    def __init__(
        self,
        conn: psycopg.Connection,
        *,
        source: str,
        batch_id: uuid.UUID,
        dag_run_id: str,
        logical_date: date,
        flush_rows: int,
    ) -> None:
        self.conn = conn
        self.source = source
        self.batch_id = batch_id
        self.dag_run_id = dag_run_id
        self.logical_date = logical_date
        self.flush_rows = flush_rows
        self.seq = 0
        self.loaded: dict[str, int] = {}
        self.quarantined: dict[str, int] = {}
        self._buffers: dict[str, list[tuple[Any, ...]]] = {}
        self._tables: dict[str, sql.Composed] = {}
        self._quarantine: list[tuple[Any, ...]] = []
        # record key -> hash of its payload, per entity: two different payloads under one key
        # in one pull are a collision (the same payload twice is a repeated page, harmless)
        self._seen: dict[str, dict[str, int]] = {}
        self.collisions: dict[str, dict[str, int]] = {}

    def add(self, item: Item) -> None:
        self.seq += 1
        extracted_at = datetime.now(UTC)
        if type(item) is Record or isinstance(item, Record):
            entity = item.entity
            buf = self._buffers.get(entity)
            if buf is None:
                buf = self._open_entity(entity)
            try:
                body = encode_payload(item.payload)
            except (TypeError, ValueError) as exc:  # NaN/Infinity, non-JSON types, surrogates
                self._reject(item.entity, item.parent_key, _payload_text(item.payload),
                             f"payload cannot be stored as JSON: {exc}", extracted_at)
                return
            problem = (
                ("record key is empty" if not item.key else _text_problem(item.key, "record key"))
                or _text_problem(item.parent_key, "parent key")
                or (
                    "payload contains \\u0000 (PostgreSQL jsonb cannot store NUL characters)"
                    if b"\\u0000" in body and _JSON_NUL.search(body.decode())
                    else None
                )
            )
            if problem:
                self._reject(item.entity, item.parent_key, body.decode(), problem, extracted_at)
                return
            seen = self._seen.setdefault(entity, {})
            digest = hash(body)
            earlier = seen.setdefault(item.key, digest)
            if earlier != digest:
                keys = self.collisions.setdefault(entity, {})
                keys[item.key] = keys.get(item.key, 1) + 1
            buf.append((
                self.batch_id, self.seq, item.key, item.parent_key, extracted_at,
                self.dag_run_id, self.logical_date, body,
            ))
            if len(buf) >= self.flush_rows:
                self._flush_entity(entity)
        elif isinstance(item, Rejected):
            self._reject(item.entity, item.parent_key, item.payload, item.reason, extracted_at)
        else:
            raise LandingError(f"expected Record or Rejected items, got {type(item).__name__}")

    def _open_entity(self, entity: str) -> list[tuple[Any, ...]]:
        table = RAW_TABLES.get((self.source, entity))
        if table is None:
            known = sorted(e for s, e in RAW_TABLES if s == self.source)
            raise LandingError(
                f"no raw table for {self.source} entity {entity!r}; known: {', '.join(known)}"
            )
        self._tables[entity] = sql.SQL("copy {} ({}) from stdin (format binary)").format(
            sql.Identifier(RAW_SCHEMA, table),
            sql.SQL(", ").join(map(sql.Identifier, RAW_COPY_COLUMNS)),
        )
        self.loaded[entity] = 0
        buf: list[tuple[Any, ...]] = []
        self._buffers[entity] = buf
        return buf

    def _reject(
        self, entity: str, parent_key: str | None, payload: Any, reason: str, extracted_at: datetime
    ) -> None:
        self._quarantine.append((
            self.batch_id,
            self.source,
            _safe_text(entity),
            None if parent_key is None else _safe_text(parent_key),
            extracted_at,
            self.dag_run_id,
            self.logical_date,
            _safe_text(reason)[:_MAX_QUARANTINE_REASON] or "(no reason given)",
            _safe_text(payload),
        ))
        self.quarantined[entity] = self.quarantined.get(entity, 0) + 1
        if len(self._quarantine) >= self.flush_rows:
            self._flush_quarantine()

    def _flush_entity(self, entity: str) -> None:
        rows = self._buffers[entity]
        if not rows:
            return
        with self.conn.cursor() as cur:
            cur.adapters.register_dumper(None, _JsonbBytesDumper)
            with cur.copy(self._tables[entity]) as copy:
                copy.set_types(_RAW_COPY_TYPES)
                write = copy.write_row
                for row in rows:
                    write(row)
        self.loaded[entity] += len(rows)
        rows.clear()

    def _flush_quarantine(self) -> None:
        if not self._quarantine:
            return
        stmt = sql.SQL("copy {} ({}) from stdin (format binary)").format(
            sql.Identifier(RAW_SCHEMA, QUARANTINE_TABLE),
            sql.SQL(", ").join(map(sql.Identifier, _QUARANTINE_COPY_COLUMNS)),
        )
        with self.conn.cursor() as cur, cur.copy(stmt) as copy:
            copy.set_types(_QUARANTINE_COPY_TYPES)
            for row in self._quarantine:
                copy.write_row(row)
        self._quarantine.clear()

    def flush_all(self) -> None:
        for entity in self._buffers:
            self._flush_entity(entity)
        self._flush_quarantine()


def _record_batch(
    conn: psycopg.Connection, writer: _BatchWriter, cursor_update: tuple[str, str] | None
) -> None:
    entities = set(writer.loaded) | set(writer.quarantined)
    if cursor_update is not None:
        entities.add(cursor_update[0])
    counts: dict[str, dict[str, int]] = {
        e: {"loaded": writer.loaded.get(e, 0), "quarantined": writer.quarantined.get(e, 0)}
        for e in sorted(entities)
    }
    for entity, keys in writer.collisions.items():
        counts[entity]["key_collisions"] = len(keys)
        log.warning(
            "%s %s: %d record key(s) arrived with different payloads in one pull (all rows kept, "
            "listed in %s.key_collisions), e.g. %s",
            writer.source, entity, len(keys), META_SCHEMA, ", ".join(sorted(keys)[:3]),
        )
        with conn.cursor().copy(
            sql.SQL("copy {} (batch_id, source, entity, record_key, payloads) from stdin").format(
                sql.Identifier(META_SCHEMA, "key_collisions")
            )
        ) as copy:
            for key, payloads in keys.items():
                copy.write_row((writer.batch_id, writer.source, entity, key, payloads))
    conn.execute(
        sql.SQL(
            "insert into {t} (batch_id, source, entity, dag_run_id, logical_date, started_at, "
            "committed_at, rows_loaded, rows_quarantined, entity_counts) "
            "values (%s, %s, %s, %s, %s, now(), clock_timestamp(), %s, %s, %s)"
        ).format(t=sql.Identifier(META_SCHEMA, "load_batches")),
        (
            writer.batch_id,
            writer.source,
            ",".join(sorted(entities)),
            writer.dag_run_id,
            writer.logical_date,
            sum(writer.loaded.values()),
            sum(writer.quarantined.values()),
            Jsonb(counts),
        ),
    )
