"""A batch bigger than the landing's write buffers stores exactly what a plain COPY of it stores.

How fast landing is against a plain COPY is measured by ``make bench`` ("landing / plain COPY"),
not here: this checks the binary COPY path's contents on a batch of many 1 MiB writes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from psycopg import sql
from wh_support import Warehouse

from webinar_dwh.records import Record
from webinar_dwh.warehouse.landing import land_batch

pytestmark = pytest.mark.warehouse

ROWS = 30_000


def registrations(n: int) -> Iterator[Record]:
    """Small BigMarker-like registrations, 60 per conference."""
    for i in range(n):
        cid = f"conf{i // 60:05d}"
        yield Record("registrations", f"{cid}:bm{i}", cid, {
            "bmid": f"bm{i}", "email": f"person{i}@example.com", "first_name": "Ann",
            "last_name": "O'Neil", "registered_at": "2025-03-01T10:00:00Z", "time_zone": "Europe/Berlin",
            "country": "DE", "custom_fields": {"course": "Data 101", "language": "de"},
        })


def plain_copy(conn: psycopg.Connection, n: int) -> None:
    """A plain text COPY of the same rows, pre-rendered in memory, into a twin table."""
    conn.execute("create table raw.bench_twin (like raw.bigmarker_registrations including all)")
    conn.commit()
    batch, now, day = uuid.uuid4(), datetime.now(UTC).isoformat(), date(2025, 3, 2).isoformat()
    data = "".join(
        f"{batch}\t{seq}\t{r.key}\t{r.parent_key}\t{now}\tbench\t{day}\t"
        + json.dumps(r.payload).replace("\\", "\\\\") + "\n"
        for seq, r in enumerate(registrations(n), 1)
    ).encode()
    stmt = sql.SQL("copy {} (_batch_id, _row_seq, _record_key, _parent_key, _extracted_at, _dag_run_id, "
                   "_logical_date, payload) from stdin").format(sql.Identifier("raw", "bench_twin"))
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for i in range(0, len(data), 1 << 20):
            copy.write(data[i:i + (1 << 20)])
    conn.commit()


def test_a_large_batch_lands_the_same_rows_as_a_plain_copy(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        plain_copy(conn, ROWS)
        result = land_batch(conn, source="bigmarker", items=registrations(ROWS),
                            dag_run_id="bench", logical_date=date(2025, 3, 2))
        assert result.rows_by_entity == {"registrations": ROWS}
        differ = """
            select count(*) from (
              (select _row_seq, _record_key, _parent_key, _logical_date, payload from {a}
               except select _row_seq, _record_key, _parent_key, _logical_date, payload from {b})
              union all
              (select _row_seq, _record_key, _parent_key, _logical_date, payload from {b}
               except select _row_seq, _record_key, _parent_key, _logical_date, payload from {a})
            ) d"""
        landed = sql.Identifier("raw", "bigmarker_registrations")
        twin = sql.Identifier("raw", "bench_twin")
        assert conn.execute(sql.SQL("select count(*) from {}").format(landed)).fetchone() == (ROWS,)
        assert conn.execute(sql.SQL(differ).format(a=landed, b=twin)).fetchone() == (0,)
