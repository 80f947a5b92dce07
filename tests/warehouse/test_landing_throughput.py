"""Landing throughput vs a plain COPY of the same rows into an identical table.

The default size is a quick smoke check; set ``DWH_LANDING_BENCH_ROWS=300000`` for the real
measurement (the benchmark target is a ratio >= 0.5). Prints rows/s and the ratio (``-s``).
"""

from __future__ import annotations

import json
import os
import time
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

ROWS = int(os.environ.get("DWH_LANDING_BENCH_ROWS", "30000"))
MIN_RATIO = float(os.environ.get("DWH_LANDING_MIN_RATIO", "0.35"))  # loose: small runs are noisy


def registrations(n: int) -> Iterator[Record]:
    """Small BigMarker-like registrations, 60 per conference."""
    for i in range(n):
        cid = f"conf{i // 60:05d}"
        yield Record("registrations", f"{cid}:bm{i}", cid, {
            "bmid": f"bm{i}", "email": f"person{i}@example.com", "first_name": "Ann",
            "last_name": "O'Neil", "registered_at": "2025-03-01T10:00:00Z", "time_zone": "Europe/Berlin",
            "country": "DE", "custom_fields": {"course": "Data 101", "language": "de"},
        })


def plain_copy(conn: psycopg.Connection, n: int) -> float:
    """Seconds for a plain text COPY of the same rows, pre-rendered in memory, into a twin table."""
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
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for i in range(0, len(data), 1 << 20):
            copy.write(data[i:i + (1 << 20)])
    conn.commit()
    return time.perf_counter() - started


def test_landing_keeps_up_with_a_plain_copy(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        baseline = plain_copy(conn, ROWS)
        started = time.perf_counter()
        result = land_batch(conn, source="bigmarker", items=registrations(ROWS),
                            dag_run_id="bench", logical_date=date(2025, 3, 2))
        landed = time.perf_counter() - started
    assert result.rows_by_entity == {"registrations": ROWS}
    ratio = baseline / landed
    print(f"\nlanding {ROWS / landed:,.0f} rows/s, plain COPY {ROWS / baseline:,.0f} rows/s, "
          f"ratio {ratio:.2f}")
    assert ratio >= MIN_RATIO
