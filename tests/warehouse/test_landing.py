"""Landing: one transaction per batch, raw append-only, quarantine, cursor with the data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime

import psycopg
import pytest
from psycopg import sql
from wh_support import Warehouse

from webinar_dwh.records import Item, Record, Rejected
from webinar_dwh.warehouse.landing import LandingError, get_cursor, land_batch

pytestmark = pytest.mark.warehouse

RUN = {"dag_run_id": "scheduled__2025-03-02T06:00:00+00:00", "logical_date": date(2025, 3, 2)}


class Boom(RuntimeError):
    """Raised by a failing item iterator."""


def conference(cid: str, **extra: object) -> Record:
    return Record("conferences", cid, None, {"id": cid, "title": f"Webinar {cid}", **extra})


def registration(cid: str, n: int) -> Record:
    return Record("registrations", f"{cid}:bm{n}", cid, {"bmid": f"bm{n}", "email": f"p{n}@example.com"})


def one_conference(cid: str, registrations: int = 3) -> list[Item]:
    return [conference(cid)] + [registration(cid, n) for n in range(registrations)]


def failing_after(items: list[Item], n: int) -> Iterator[Item]:
    yield from items[:n]
    raise Boom("source died half-way")


def counts(conn: psycopg.Connection) -> dict[str, int]:
    with conn.transaction():
        return {
            f"{schema}.{table}": conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
            ).fetchone()[0]
            for schema, table in (
                ("raw", "bigmarker_conferences"), ("raw", "bigmarker_registrations"),
                ("raw", "quarantine"), ("meta", "load_batches"), ("meta", "cursors"),
            )
        }


def test_lands_records_of_several_entities_in_one_batch(owner_conn: psycopg.Connection) -> None:
    result = land_batch(
        owner_conn, source="bigmarker", items=iter(one_conference("c1", 3) + one_conference("c2", 2)),
        cursor=("conferences", "2025-03-01T10:00:00+00:00"), **RUN,
    )
    assert result.rows_by_entity == {"conferences": 2, "registrations": 5}
    assert result.quarantined == 0 and result.cursor_moved
    rows = owner_conn.execute(
        "select _batch_id::text, _row_seq, _record_key, _parent_key, _dag_run_id, _logical_date, "
        "payload, _loaded_at is not null, _extracted_at <= now() + interval '1 minute' "
        "from raw.bigmarker_registrations order by _row_seq"
    ).fetchall()
    assert [r[2] for r in rows] == ["c1:bm0", "c1:bm1", "c1:bm2", "c2:bm0", "c2:bm1"]
    assert [r[1] for r in rows] == [2, 3, 4, 6, 7]  # position in the batch's item stream
    assert {(r[0], r[4], r[5], r[7], r[8]) for r in rows} == {
        (result.batch_id, RUN["dag_run_id"], RUN["logical_date"], True, True)
    }
    assert rows[0][3] == "c1" and rows[0][6] == {"bmid": "bm0", "email": "p0@example.com"}
    batch = owner_conn.execute(
        "select source, entity, dag_run_id, rows_loaded, rows_quarantined, committed_at >= started_at "
        "from meta.load_batches"
    ).fetchall()
    assert batch == [("bigmarker", "conferences,registrations", RUN["dag_run_id"], 7, 0, True)]
    assert get_cursor(owner_conn, "bigmarker", "conferences") == "2025-03-01T10:00:00+00:00"


def test_quarantines_rejected_and_unstorable_items_with_reasons(owner_conn: psycopg.Connection) -> None:
    items: list[Item] = [
        conference("c1"),
        Rejected("registrations", "c1", '{"email": 42', "email: expected a string, got 42"),
        Record("registrations", "c1:nan", "c1", {"score": float("nan")}),
        Record("registrations", "c1:nul", "c1", {"name": "a\x00b"}),
        Record("registrations", "", "c1", {"email": "x@y.z"}),
        Rejected("attendees", None, "<html>502 Bad Gateway</html>", "page is not JSON"),
        Rejected("attendees", "c1", "nul\x00inside", "bad bytes"),
        registration("c1", 1),
    ]
    result = land_batch(owner_conn, source="bigmarker", items=items, **RUN)
    assert result.rows_by_entity == {"conferences": 1, "registrations": 1}
    assert result.quarantined_by_entity == {"registrations": 4, "attendees": 2}
    assert result.quarantined == 6
    rows = owner_conn.execute(
        "select _source, _entity, _parent_key, reason, payload, _batch_id::text from raw.quarantine "
        "order by _extracted_at"
    ).fetchall()
    assert {r[5] for r in rows} == {result.batch_id}
    assert rows[0][:5] == (
        "bigmarker", "registrations", "c1", "email: expected a string, got 42", '{"email": 42'
    )
    assert "JSON" in rows[1][3] and "NaN" in rows[1][4]
    assert "\\u0000" in rows[2][3]
    assert rows[3][3] == "record key is empty"
    assert rows[4][1:5] == ("attendees", None, "page is not JSON", "<html>502 Bad Gateway</html>")
    assert rows[5][4] == "nul\\u0000inside"
    assert owner_conn.execute("select rows_quarantined from meta.load_batches").fetchone() == (6,)


def test_failure_mid_batch_leaves_nothing_and_keeps_the_cursor(owner_conn: psycopg.Connection) -> None:
    land_batch(owner_conn, source="bigmarker", items=one_conference("c1"),
               cursor=("conferences", "2025-03-01"), **RUN)
    before = counts(owner_conn)
    items = [*one_conference("c2", 5), Rejected("registrations", "c2", "?", "bad")]
    with pytest.raises(Boom):
        land_batch(owner_conn, source="bigmarker", items=failing_after(items, 5),
                   cursor=("conferences", "2025-03-02"), flush_rows=2, **RUN)
    assert owner_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert counts(owner_conn) == before
    assert get_cursor(owner_conn, "bigmarker", "conferences") == "2025-03-01"


def test_server_side_failure_during_copy_rolls_back(owner_conn: psycopg.Connection) -> None:
    land_batch(owner_conn, source="bigmarker", items=one_conference("c1"),
               cursor=("conferences", "2025-03-01"), **RUN)
    owner_conn.execute(
        "alter table raw.bigmarker_registrations add constraint refuse_one check (_record_key <> 'c2:bm3')"
    )
    owner_conn.commit()
    before = counts(owner_conn)
    with pytest.raises(psycopg.errors.CheckViolation):
        land_batch(owner_conn, source="bigmarker", items=one_conference("c2", 6),
                   cursor=("conferences", "2025-03-02"), flush_rows=2, **RUN)
    assert counts(owner_conn) == before
    assert get_cursor(owner_conn, "bigmarker", "conferences") == "2025-03-01"


def test_unknown_entity_fails_the_batch_and_unencodable_text_is_quarantined(
    owner_conn: psycopg.Connection,
) -> None:
    items = [*one_conference("c1"), Record("registrations", "c1:x", "c1", {"s": "\ud800"})]
    assert land_batch(owner_conn, source="bigmarker", items=items, **RUN).quarantined == 1
    before = counts(owner_conn)
    with pytest.raises(LandingError, match="no raw table"):
        land_batch(owner_conn, source="bigmarker",
                   items=[*one_conference("c2"), Record("webinars", "w1", None, {})], **RUN)
    assert counts(owner_conn) == before


def test_rerun_after_failure_between_batches_loses_nothing(owner_conn: psycopg.Connection) -> None:
    """Two batches start from the same cursor; the second fails; the rerun from the cursor recovers."""
    start = get_cursor(owner_conn, "bigmarker", "conferences")
    assert start is None
    first = one_conference("c1", 2)
    second = one_conference("c2", 2)
    land_batch(owner_conn, source="bigmarker", items=first, cursor=("conferences", "2025-03-01"), **RUN)
    with pytest.raises(Boom):
        land_batch(owner_conn, source="bigmarker", items=failing_after(second, 2),
                   cursor=("conferences", "2025-03-02"), **RUN)
    cursor = get_cursor(owner_conn, "bigmarker", "conferences")
    assert cursor == "2025-03-01"
    # the rerun re-extracts from the stored cursor (>=, lookback): c1 again, then c2
    rerun = {"dag_run_id": RUN["dag_run_id"] + "_try2", "logical_date": RUN["logical_date"]}
    land_batch(owner_conn, source="bigmarker", items=first, cursor=("conferences", "2025-03-01"), **rerun)
    land_batch(owner_conn, source="bigmarker", items=second, cursor=("conferences", "2025-03-02"), **rerun)
    keys = owner_conn.execute(
        "select distinct _record_key from raw.bigmarker_registrations order by 1"
    ).fetchall()
    assert [k for (k,) in keys] == ["c1:bm0", "c1:bm1", "c2:bm0", "c2:bm1"]
    assert get_cursor(owner_conn, "bigmarker", "conferences") == "2025-03-02"


def test_raw_is_append_only_and_latest_row_per_key_wins(owner_conn: psycopg.Connection) -> None:
    first = land_batch(owner_conn, source="bigmarker", items=[conference("c1", title="Old")], **RUN)
    second = land_batch(owner_conn, source="bigmarker", items=[conference("c1", title="New")], **RUN)
    rows = owner_conn.execute(
        "select _batch_id::text, payload->>'title' from raw.bigmarker_conferences order by _loaded_at"
    ).fetchall()
    assert rows == [(first.batch_id, "Old"), (second.batch_id, "New")]
    latest = owner_conn.execute(
        "select distinct on (_record_key) payload->>'title' from raw.bigmarker_conferences "
        "order by _record_key, _loaded_at desc, _batch_id desc, _row_seq desc"
    ).fetchone()
    assert latest == ("New",)


def test_hostile_payload_text_round_trips_unchanged(owner_conn: psycopg.Connection) -> None:
    payload = {
        "id": "c'1",
        "title": "'); drop table raw.bigmarker_conferences; --",
        "notes": 'tab\there\nnewline \\ backslash "quotes" \\N \\u0000-as-text ünïcødé 🎓',
        "nested": {"list": [1, 2.5, None, True, "\r\n"], "empty": {}},
    }
    land_batch(owner_conn, source="bigmarker",
               items=[Record("conferences", "c'1\t\\N", "p\nq", payload)], **RUN)
    key, parent, stored, text = owner_conn.execute(
        "select _record_key, _parent_key, payload, payload::text from raw.bigmarker_conferences"
    ).fetchone()
    assert (key, parent, stored) == ("c'1\t\\N", "p\nq", payload)
    assert json.loads(text) == payload
    assert owner_conn.execute("select count(*) from raw.bigmarker_conferences").fetchone() == (1,)


def test_an_empty_batch_can_still_move_the_cursor(owner_conn: psycopg.Connection) -> None:
    result = land_batch(owner_conn, source="zoom", items=[], cursor=("zoom", "webinars", "2025-03-01"), **RUN)
    assert result.rows_by_entity == {} and result.cursor_moved
    assert get_cursor(owner_conn, "zoom", "webinars") == "2025-03-01"
    assert owner_conn.execute("select entity, rows_loaded from meta.load_batches").fetchall() == [
        ("webinars", 0)
    ]


def test_datetime_logical_date_is_reduced_to_its_date(owner_conn: psycopg.Connection) -> None:
    land_batch(owner_conn, source="calendly", dag_run_id="manual__x",
               logical_date=datetime(2025, 3, 2, 6, 0), items=[Record("invitees", "i1", "e1", {})])
    stored = owner_conn.execute("select _logical_date from raw.calendly_invitees").fetchone()
    assert stored == (date(2025, 3, 2),)


def test_refuses_bad_calls_before_writing(owner_conn: psycopg.Connection) -> None:
    with pytest.raises(LandingError, match="unknown source"):
        land_batch(owner_conn, source="teams", items=[], **RUN)
    with pytest.raises(LandingError, match="cursor of source"):
        land_batch(owner_conn, source="zoom", items=[], cursor=("calendly", "x", "1"), **RUN)
    owner_conn.execute("select 1")  # leaves a transaction open
    with pytest.raises(LandingError, match="outside a transaction"):
        land_batch(owner_conn, source="zoom", items=[], **RUN)
    owner_conn.rollback()
    with pytest.raises(LandingError, match="Record or Rejected"):
        land_batch(owner_conn, source="zoom", items=[{"id": 1}], **RUN)  # type: ignore[list-item]
    assert counts(owner_conn)["meta.load_batches"] == 0


def test_replaying_a_committed_batch_id_fails(owner_conn: psycopg.Connection) -> None:
    result = land_batch(owner_conn, source="bigmarker", items=one_conference("c1"), **RUN)
    with pytest.raises(psycopg.errors.UniqueViolation):
        land_batch(owner_conn, source="bigmarker", items=one_conference("c1"),
                   batch_id=uuid.UUID(result.batch_id), **RUN)
    assert counts(owner_conn)["raw.bigmarker_registrations"] == 3


def test_get_cursor_leaves_an_idle_connection_idle(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_dsn) as conn:
        assert get_cursor(conn, "bigmarker", "conferences") is None
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


# --------------------------------------------------------------------------- record keys


def test_two_payloads_under_one_key_land_both_and_are_reported(owner_conn: psycopg.Connection) -> None:
    guest = {"id": "", "join_time": "2026-11-03T16:00:05Z", "duration": 1500}
    items = [
        Record("participants", "u1::2026-11-03T16:00:05Z", "u1", {**guest, "user_email": "ann@x.com"}),
        Record("participants", "u1::2026-11-03T16:00:05Z", "u1", {**guest, "user_email": "bob@x.com"}),
        # the same payload twice (a repeated page) is harmless: not a collision
        Record("participants", "u1:p7:2026-11-03T16:01:00Z", "u1", {"id": "p7", "duration": 60}),
        Record("participants", "u1:p7:2026-11-03T16:01:00Z", "u1", {"id": "p7", "duration": 60}),
    ]
    result = land_batch(owner_conn, source="zoom", items=iter(items), **RUN)

    assert result.key_collisions == {"participants": 1}
    assert result.rows_by_entity == {"participants": 4}  # nothing dropped: raw keeps every row
    assert owner_conn.execute(
        "select source, entity, record_key, payloads from meta.key_collisions where batch_id = %s",
        (result.batch_id,),
    ).fetchall() == [("zoom", "participants", "u1::2026-11-03T16:00:05Z", 2)]
    (counts_json,) = owner_conn.execute(
        "select entity_counts from meta.load_batches where batch_id = %s", (result.batch_id,)
    ).fetchone()
    assert counts_json["participants"]["key_collisions"] == 1


def test_guest_participant_rows_of_older_loads_are_rekeyed_once(warehouse: Warehouse) -> None:
    from wh_support import PII_KEY

    from webinar_dwh.warehouse.bootstrap import ensure_schema

    old_key = "u1::2026-11-03T16:00:05Z"
    with psycopg.connect(warehouse.owner_dsn) as conn:
        conn.execute("delete from meta.migrations")  # a warehouse from before the key change
        for email in ("ann@x.com", "bob@x.com"):
            payload = {"id": "", "user_email": email, "join_time": "2026-11-03T16:00:05Z", "duration": 1}
            conn.execute(
                "insert into raw.zoom_participants (_batch_id, _row_seq, _record_key, _parent_key, "
                "_extracted_at, _dag_run_id, _logical_date, payload) "
                "values (gen_random_uuid(), 1, %s, 'u1', now(), 'r', current_date, %s::jsonb)",
                (old_key, json.dumps(payload)),
            )
        conn.commit()
        ensure_schema(conn, pii_key=PII_KEY)
        keys = [k for (k,) in conn.execute("select _record_key from raw.zoom_participants order by 1")]
        assert keys == [
            "u1:email=ann@x.com:2026-11-03T16:00:05Z",
            "u1:email=bob@x.com:2026-11-03T16:00:05Z",
        ]
        assert conn.execute(
            "select rows_changed from meta.migrations where name = 'zoom_guest_participant_keys'"
        ).fetchone() == (2,)
