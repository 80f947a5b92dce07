"""BigMarker client and source against the sandbox: paging, window, order, faults, contracts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox import SandboxServer
from tests.sources.conftest import Sleeps, connection
from webinar_dwh.http import ApiError, AuthError, NotFoundError
from webinar_dwh.records import Record, Rejected
from webinar_dwh.sources.bigmarker import BigMarkerClient, BigMarkerSettings, cursor_of, extract

pytestmark = pytest.mark.sandbox

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def client_for(sb: SandboxServer, sleeps: Sleeps, page_size: int = 40, **conn: object) -> BigMarkerClient:
    settings = BigMarkerSettings.from_connection(connection(sb, "bigmarker", **conn), page_size=page_size)
    return BigMarkerClient(settings, sleep=sleeps)


def starts(sb: SandboxServer, sleeps: Sleeps) -> list[datetime]:
    client = client_for(sb, sleeps, page_size=1000)
    return sorted(
        datetime.fromisoformat(c["start_time"]) for page in client.conference_pages(EPOCH) for c in page
    )


def small_window(sb: SandboxServer, sleeps: Sleeps, first: int = 3, n: int = 3) -> tuple[datetime, datetime]:
    """A window holding exactly the ``n`` held conferences from index ``first``."""
    moments = starts(sb, sleeps)
    return moments[first], moments[first + n]


def test_listing_follows_total_pages_and_ignores_the_repeated_last_page(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    client = client_for(sb, sleeps, page_size=7)
    pages = list(client.conference_pages(EPOCH))
    ids = [c["id"] for page in pages for c in page]
    assert len(ids) == len(set(ids)) > 7
    assert client.session.stats.requests == len(pages)  # no request past total_pages
    # The quirk the stop rules exist for: past the end, the API serves the last page again.
    beyond = client.session.get_json("conferences", {"type": "all", "page": len(pages) + 5, "per_page": 7})
    assert beyond["conferences"] == pages[-1]


def test_extract_yields_window_in_ascending_order_with_children_after_their_parent(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    start, end = small_window(sb, sleeps)
    items = list(extract(client_for(sb, sleeps), start, end))
    assert all(isinstance(i, Record) for i in items)
    parents = [i for i in items if i.entity == "conferences"]
    assert len(parents) == 3
    moments = [datetime.fromisoformat(cursor_of(p)) for p in parents]
    assert moments == sorted(moments) and start <= moments[0] and moments[-1] < end
    current = None
    order = {"registrations": 0, "attendees": 1, "on_demand_attendees": 2}
    last = 0
    for item in items:
        if item.entity == "conferences":
            current, last = item.key, 0
            continue
        assert item.parent_key == current
        assert order[item.entity] >= last, "registrations, then attendees, then recording viewers"
        last = order[item.entity]
        if item.entity == "registrations":
            assert item.key == f"{current}:{item.payload['bmid']}"
        else:
            assert item.key == f"{current}:{item.payload['id']}"
    assert {i.entity for i in items} == {"conferences", *order}
    keys = [i.key for i in items]
    assert len(keys) == len(set(keys))


def test_window_end_is_exclusive_and_start_inclusive(sb: SandboxServer, sleeps: Sleeps) -> None:
    moments = starts(sb, sleeps)
    client = client_for(sb, sleeps)
    only_first = [i for i in extract(client, moments[2], moments[3]) if i.entity == "conferences"]
    assert [datetime.fromisoformat(cursor_of(r)) for r in only_first] == [moments[2]]


def test_attendees_are_paged_with_current_page(sb: SandboxServer, sleeps: Sleeps) -> None:
    start, end = small_window(sb, sleeps, first=2, n=1)
    conference = next(i for i in extract(client_for(sb, sleeps), start, end) if i.entity == "conferences")
    small = [a["id"] for p in client_for(sb, sleeps, page_size=3).attendee_pages(conference.key) for a in p]
    large = [
        a["id"] for p in client_for(sb, sleeps, page_size=1000).attendee_pages(conference.key) for a in p
    ]
    assert small == large and len(small) > 3 and len(set(small)) == len(small)


def test_429_with_retry_after_seconds_is_retried_to_the_same_result(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    start, end = small_window(sb, sleeps)
    clean = list(extract(client_for(sb, sleeps), start, end))
    sb.configure(rate_429=0.3, retry_after_seconds=2)
    client = client_for(sb, sleeps)
    assert list(extract(client, start, end)) == clean
    assert client.session.stats.retries_by_cause["429"] > 0
    assert set(sleeps) == {2.0}


def test_5xx_answers_are_retried_with_backoff(sb: SandboxServer, sleeps: Sleeps) -> None:
    start, end = small_window(sb, sleeps)
    clean = list(extract(client_for(sb, sleeps), start, end))
    sb.configure(rate_5xx=0.25, retry_after_seconds=0)
    client = client_for(sb, sleeps)
    assert list(extract(client, start, end)) == clean
    assert client.session.stats.retries_by_cause["5xx"] > 0


def test_wrong_api_key_fails_fast_naming_the_connection(sb: SandboxServer, sleeps: Sleeps) -> None:
    client = client_for(sb, sleeps, password="not-the-key-123")
    with pytest.raises(AuthError) as info:
        list(extract(client, EPOCH, datetime(2100, 1, 1, tzinfo=UTC)))
    message = str(info.value)
    assert message.startswith("BigMarker rejected the API key (HTTP 401")
    assert "check Airflow connection 'bigmarker_default'" in message and "not-the-key-123" not in message
    assert sleeps == [] and client.session.stats.requests == 1


def test_wrong_base_url_answering_html_gives_a_clear_error(sb: SandboxServer, sleeps: Sleeps) -> None:
    client = client_for(sb, sleeps, host=sb.base_url + "/bigmarker")  # missing /api/v1
    with pytest.raises(ApiError, match="base URL is probably wrong") as info:
        list(client.conference_pages(EPOCH))
    assert "text/html" in str(info.value) and sb.config.credentials.bigmarker_api_key not in str(info.value)


def test_unknown_conference_is_a_not_found_error_with_the_vendor_body(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    with pytest.raises(NotFoundError) as info:
        list(client_for(sb, sleeps).attendee_pages("nosuchconf"))
    assert info.value.body == {"error": "conference_not_found"}


def test_malformed_records_are_rejected_naming_the_field(sb: SandboxServer, sleeps: Sleeps) -> None:
    start, end = small_window(sb, sleeps, first=0, n=len(starts(sb, sleeps)) - 1)
    clean = list(extract(client_for(sb, sleeps, page_size=100), start, end))
    sb.configure(malformed_rate=0.05)
    items = list(extract(client_for(sb, sleeps, page_size=100), start, end))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert {r.entity for r in rejected} == {"conferences", "registrations", "attendees"}
    # Every record arrives, as a Record or as a Rejected; a conference with an unparsable
    # start_time cannot be placed outside the window, so it is quarantined even if it was outside.
    # A quarantined conference's registrations and attendees are not asked for (it has no
    # trustworthy id or start): they arrive with it once the vendor serves it well again.
    bad_parents = {json.loads(r.payload).get("id") for r in rejected if r.entity == "conferences"}
    waiting = [i for i in clean if isinstance(i, Record) and i.parent_key in bad_parents]
    assert len(items) >= len(clean) - len(waiting)
    assert {i.key for i in items if isinstance(i, Record)} < {i.key for i in clean}
    for r in rejected:
        fields = ("id", "email", "start_time", "registered_at", "entered_at")
        assert any(f"field '{field}'" in r.reason for field in fields), r.reason
        assert r.payload.startswith("{")
        assert r.entity == "conferences" or r.parent_key is not None


def test_unknown_new_fields_are_kept_in_the_payload(sb: SandboxServer, sleeps: Sleeps) -> None:
    start, end = small_window(sb, sleeps, n=1)
    sb.configure(drift_new_field=True)
    items = list(extract(client_for(sb, sleeps), start, end))
    assert items and all(isinstance(i, Record) and "sandbox_drift_field" in i.payload for i in items)


def test_conferences_moved_to_2099_fall_outside_the_window(sb: SandboxServer, sleeps: Sleeps) -> None:
    sb.configure(bad_webinar_dates=True)
    end = datetime(2030, 1, 1, tzinfo=UTC)
    items = extract(client_for(sb, sleeps, page_size=100), EPOCH, end)
    moments = [datetime.fromisoformat(cursor_of(i)) for i in items if i.entity == "conferences"]
    assert moments and moments == sorted(moments) and moments[-1].year < 2030
    assert len(moments) == len(starts(sb, sleeps)) - 3  # the sandbox moves three to 2099


def test_naive_window_is_refused(sb: SandboxServer, sleeps: Sleeps) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(extract(client_for(sb, sleeps), datetime(2025, 1, 1), datetime.now(UTC) + timedelta(days=1)))


def test_raw_http_check_of_the_auth_header(sb: SandboxServer) -> None:
    # Documents what the client relies on: the key travels in the API-KEY header.
    answer = requests.get(sb.urls["bigmarker"] + "/conferences", headers={"API-KEY": "x"}, timeout=5)
    assert answer.status_code == 401
