"""Pure helpers of the sources: stop rules of BigMarker paging, UUID handling, contracts, cursors."""

from __future__ import annotations

from typing import Any

import pytest

from webinar_dwh.records import Record
from webinar_dwh.sources import bigmarker, calendly, zoom
from webinar_dwh.sources._common import Field, contract_violation
from webinar_dwh.sources.bigmarker.pagination import page_number_pages

pytestmark = pytest.mark.unit


def pages_of(envelopes: list[dict[str, Any]], per_page: int = 2) -> tuple[list[list[Any]], list[int]]:
    asked: list[int] = []

    def fetch(n: int) -> dict[str, Any]:
        asked.append(n)
        return envelopes[min(n, len(envelopes)) - 1]  # the last page repeats forever

    return list(page_number_pages(fetch, items_key="c", per_page=per_page, what="c")), asked


def test_stops_on_total_pages() -> None:
    env = [
        {"c": [1, 2], "current_page": 1, "total_pages": 2},
        {"c": [3, 4], "current_page": 2, "total_pages": 2},
    ]
    assert pages_of(env) == ([[1, 2], [3, 4]], [1, 2])


def test_stops_on_total_entries() -> None:
    env = [{"c": [1, 2], "total_entries": 4}, {"c": [3, 4], "total_entries": 4}]
    assert pages_of(env) == ([[1, 2], [3, 4]], [1, 2])


def test_stops_on_a_short_page_using_the_servers_per_page() -> None:
    env = [{"c": [1, 2], "per_page": 2}, {"c": [3], "per_page": 2}]
    assert pages_of(env, per_page=500) == ([[1, 2], [3]], [1, 2])


def test_a_repeated_last_page_is_not_yielded_twice() -> None:
    env = [{"c": [1, 2]}, {"c": [3, 4]}]  # full pages, no metadata, the last one repeats
    assert pages_of(env) == ([[1, 2], [3, 4]], [1, 2, 3])


def test_encode_uuid_double_encodes_only_awkward_uuids() -> None:
    assert zoom.encode_uuid("abc+d==") == "abc%2Bd%3D%3D"
    assert zoom.encode_uuid("/abc==") == "%252Fabc%253D%253D"
    assert zoom.encode_uuid("ab//c") == "ab%252F%252Fc"
    assert zoom.encode_uuid("ab/c") == "ab%2Fc"


def test_calendly_uuid_is_the_last_path_segment() -> None:
    assert calendly.uuid_of("https://api.calendly.com/scheduled_events/AAA/invitees/BBB") == "BBB"
    with pytest.raises(ValueError):
        calendly.uuid_of("https://api.calendly.com/")


def test_contract_names_the_field() -> None:
    spec = (Field("id", "id"), Field("start_time", "timestamp"))
    ok_ts = "2025-01-01T00:00:00Z"
    assert contract_violation("x", {"start_time": ok_ts}, spec) == "missing required field 'id'"
    assert "field 'id' must be a string or integer id" in str(
        contract_violation("x", {"id": {"a": 1}, "start_time": "2025-01-01T00:00:00Z"}, spec)
    )
    assert "field 'start_time' is not a parseable timestamp" in str(
        contract_violation("x", {"id": "a", "start_time": "2026-02-30T25:61:00Z"}, spec)
    )
    naive = {"id": "a", "start_time": "2025-01-01T10:00:00"}
    assert "no UTC offset" in str(contract_violation("x", naive, spec))
    assert contract_violation("x", {"id": 7, "start_time": "2025-01-01T00:00:00Z", "new": 1}, spec) is None
    assert contract_violation("x", [1], spec) == "x record is not a JSON object (got list)"


def test_cursor_is_the_parent_start_in_utc() -> None:
    rec = Record("conferences", "a", None, {"start_time": "2025-03-04T10:00:00.9-05:00"})
    assert bigmarker.cursor_of(rec) == "2025-03-04T15:00:00+00:00"
    event = Record("scheduled_events", "u", None, {"start_time": "2025-03-04T15:00:00.000000Z"})
    assert calendly.cursor_of(event) == "2025-03-04T15:00:00+00:00"
    with pytest.raises(ValueError, match="expects a 'conferences' record"):
        bigmarker.cursor_of(Record("attendees", "a:1", "a", {}))
    assert zoom.cursor_of(Record("webinar_instances", "u", "1", {"start_time": "2025-03-04T15:00:00Z"}))


def test_zoom_participant_keys_never_merge_two_guests() -> None:
    from webinar_dwh.sources.zoom.contracts import participant_key

    join = {"join_time": "2026-11-03T16:00:05Z", "duration": 1500}
    signed_in = participant_key("u1", {"id": "p7", "user_id": "16778240", **join})
    assert signed_in == "u1:p7:2026-11-03T16:00:05Z"  # unchanged for signed-in users
    guests = [
        {"id": "", "user_id": "16778241", **join},
        {"id": "", "user_id": "", "registrant_id": "r9", **join},
        {"id": "", "user_id": "", "user_email": " Ann@X.com ", **join},
        {"id": "", "user_id": "", "user_email": "bob@x.com", **join},
        {"id": "", "user_id": "", "user_email": "", "name": "Guest 1", **join},
        {"id": "", "user_email": "", "name": "", "duration": 12, "join_time": join["join_time"]},
        {"id": "", "user_email": "", "name": "", "duration": 13, "join_time": join["join_time"]},
    ]
    keys = [participant_key("u1", g) for g in guests]
    assert len(set(keys)) == len(keys)
    assert keys[2] == "u1:email=ann@x.com:2026-11-03T16:00:05Z"
    # the same session re-pulled keeps its key
    assert participant_key("u1", dict(guests[3])) == keys[3]
