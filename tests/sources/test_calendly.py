"""Calendly client and source against the sandbox: cursor paging, window, statuses, 429, auth."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox import SandboxServer
from tests.sources.conftest import Sleeps, connection
from webinar_dwh.http import AuthError
from webinar_dwh.records import Record, Rejected
from webinar_dwh.sources.calendly import CalendlyClient, CalendlySettings, cursor_of, extract, uuid_of

pytestmark = pytest.mark.sandbox

START, END = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)


def client_for(sb: SandboxServer, sleeps: Sleeps, page_size: int = 100, **conn: object) -> CalendlyClient:
    settings = CalendlySettings.from_connection(connection(sb, "calendly", **conn), page_size=page_size)
    return CalendlyClient(settings, sleep=sleeps)


def test_events_ascending_each_followed_by_invitees_of_every_status(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    items = list(extract(client_for(sb, sleeps), START, END))
    assert all(isinstance(i, Record) for i in items)
    events = [i for i in items if i.entity == "scheduled_events"]
    assert len(events) > 3
    assert [cursor_of(e) for e in events] == sorted(cursor_of(e) for e in events)
    current = None
    for item in items:
        if item.entity == "scheduled_events":
            current = item.key
            assert item.key == uuid_of(item.payload["uri"])
        else:
            assert item.parent_key == current and item.key == uuid_of(item.payload["uri"])
    statuses = {i.payload["status"] for i in items if i.entity == "invitees"}
    assert statuses == {"active", "canceled"}


def test_small_pages_follow_next_page_links_to_the_same_result(sb: SandboxServer, sleeps: Sleeps) -> None:
    small = client_for(sb, sleeps, page_size=7)
    assert list(extract(small, START, END)) == list(extract(client_for(sb, sleeps), START, END))
    assert small.session.stats.requests > 20


def test_window_is_half_open_on_event_start(sb: SandboxServer, sleeps: Sleeps) -> None:
    events = [i for i in extract(client_for(sb, sleeps), START, END) if i.entity == "scheduled_events"]
    second, third = (datetime.fromisoformat(cursor_of(e)) for e in events[1:3])
    inside = [i.key for i in extract(client_for(sb, sleeps), second, third) if i.entity == "scheduled_events"]
    assert inside == [events[1].key]


def test_429_waits_for_x_ratelimit_reset(sb: SandboxServer, sleeps: Sleeps) -> None:
    clean = list(extract(client_for(sb, sleeps, page_size=50), START, END))
    sb.configure(rate_429=0.3, retry_after_seconds=4)
    client = client_for(sb, sleeps, page_size=50)
    assert list(extract(client, START, END)) == clean
    assert client.session.stats.retries_by_cause["429"] > 0 and set(sleeps) == {4.0}


def test_5xx_is_retried(sb: SandboxServer, sleeps: Sleeps) -> None:
    clean = list(extract(client_for(sb, sleeps, page_size=50), START, END))
    sb.configure(rate_5xx=0.3, retry_after_seconds=0)
    client = client_for(sb, sleeps, page_size=50)
    assert list(extract(client, START, END)) == clean
    assert client.session.stats.retries_by_cause["5xx"] > 0


def test_invalid_token_fails_fast_naming_the_connection(sb: SandboxServer, sleeps: Sleeps) -> None:
    client = client_for(sb, sleeps, password="wrong-token-xyz")
    with pytest.raises(AuthError) as info:
        list(extract(client, START, END))
    message = str(info.value)
    assert "HTTP 401" in message and "check Airflow connection 'calendly_default'" in message
    assert "wrong-token-xyz" not in message and client.session.stats.requests == 1


def test_malformed_records_are_rejected_naming_the_field(sb: SandboxServer, sleeps: Sleeps) -> None:
    sb.configure(malformed_rate=0.1)
    items = list(extract(client_for(sb, sleeps), START, END))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert rejected and {r.entity for r in rejected} <= {"scheduled_events", "invitees"}
    for r in rejected:
        assert (
            "field 'uri'" in r.reason or "field 'start_time'" in r.reason or "field 'created_at'" in r.reason
        )
        assert r.entity == "scheduled_events" or r.parent_key
