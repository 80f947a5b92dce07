"""Concurrent extraction against the sandbox over real HTTP: the same items in the same order as
the sequential client, under 429 storms and rate limits, never above the configured rate, and a
failing worker fails the extract cleanly after every earlier parent (nothing later leaks)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox import SandboxServer
from tests.sources.conftest import Sleeps, connection
from webinar_dwh.http import ApiError
from webinar_dwh.records import Record
from webinar_dwh.sources.bigmarker import BigMarkerClient, BigMarkerSettings
from webinar_dwh.sources.bigmarker import extract as bm_extract
from webinar_dwh.sources.calendly import CalendlyClient, CalendlySettings
from webinar_dwh.sources.calendly import extract as cal_extract
from webinar_dwh.sources.zoom import ZoomClient, ZoomSettings
from webinar_dwh.sources.zoom import extract as zoom_extract

pytestmark = pytest.mark.sandbox

START, END = datetime(2000, 1, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
VENDORS: dict[str, tuple[Any, Any, Any]] = {
    "bigmarker": (BigMarkerSettings, BigMarkerClient, bm_extract),
    "calendly": (CalendlySettings, CalendlyClient, cal_extract),
    "zoom": (ZoomSettings, ZoomClient, zoom_extract),
}


def client_for(sb: SandboxServer, vendor: str, sleeps: Sleeps | None = None, **settings: Any) -> Any:
    settings_type, client_type, _ = VENDORS[vendor]
    settings.setdefault("page_size", 20)
    conf = settings_type.from_connection(connection(sb, vendor), **settings)
    return client_type(conf, sleep=sleeps if sleeps is not None else Sleeps())


def run(sb: SandboxServer, vendor: str, **settings: Any) -> list[Any]:
    client = client_for(sb, vendor, **settings)
    try:
        return list(VENDORS[vendor][2](client, START, END))
    finally:
        client.close()


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_concurrent_extract_yields_the_sequential_items_in_the_same_order(
    sb: SandboxServer, vendor: str
) -> None:
    sequential = run(sb, vendor)
    assert sum(isinstance(i, Record) for i in sequential) > 20
    assert run(sb, vendor, concurrency=6) == sequential


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_429_storm_still_lands_every_row_equal_to_the_no_fault_result(
    sb: SandboxServer, vendor: str
) -> None:
    clean = run(sb, vendor)
    sb.configure(rate_429=0.3, retry_after_seconds=0)
    client = client_for(sb, vendor, concurrency=6, max_attempts=12)
    assert list(VENDORS[vendor][2](client, START, END)) == clean
    assert client.session.stats.retries_by_cause["429"] > 0
    assert client.session.limiter.stats.throttled == client.session.stats.retries_by_cause["429"]
    client.close()


def test_the_client_never_exceeds_its_configured_rate(sb: SandboxServer) -> None:
    clean = run(sb, "bigmarker", page_size=100)
    sb.configure(latency_ms=15, latency_jitter_ms=10)
    sb.reset_stats()
    items = run(sb, "bigmarker", concurrency=8, max_rps=40, page_size=100)
    stats = sb.stats()
    assert stats["by_vendor"]["bigmarker"] > 50  # long enough to span more than one window
    assert 0 < stats["peak_requests"]["bigmarker"] <= 40, stats["peak_requests"]
    assert items == clean


def test_retry_after_seen_by_one_worker_pauses_all_and_reduces_concurrency(sb: SandboxServer) -> None:
    clean = run(sb, "calendly")
    sb.configure(rate_limit=True, calendly_rate_limit=15, calendly_rate_window_s=1, latency_ms=10)
    sb.reset_stats()
    client = client_for(sb, "calendly", concurrency=8, max_attempts=20)
    assert list(cal_extract(client, START, END)) == clean
    limiter = client.session.limiter
    refused = sb.stats()["rate_limited"].get("calendly", 0)
    assert limiter.stats.throttled == refused > 0
    assert limiter.stats.pauses_s >= 0.5  # the workers waited for X-RateLimit-Reset together
    assert limiter.stats.min_in_flight_limit < 8
    # a pause shared by all: far fewer refusals than requests sent while over the limit
    assert refused < client.session.stats.requests / 2
    client.close()


def test_a_worker_failing_mid_extract_fails_it_after_every_earlier_parent(sb: SandboxServer) -> None:
    sequential = run(sb, "bigmarker")
    parents = [i.key for i in sequential if isinstance(i, Record) and i.entity == "conferences"]
    failing = parents[len(parents) // 2]
    client = client_for(sb, "bigmarker", concurrency=6)
    real = client.attendee_pages

    def attendee_pages(conference_id: str) -> Any:
        if conference_id == failing:
            raise ApiError("boom: the vendor went away", vendor="BigMarker", status=503)
        return real(conference_id)

    client.attendee_pages = attendee_pages  # type: ignore[method-assign]
    got: list[Any] = []
    with pytest.raises(ApiError, match="boom"):
        for item in bm_extract(client, START, END):
            got.append(item)
    cut = sequential.index(next(i for i in sequential if isinstance(i, Record) and i.key == failing))
    # everything before the failing parent's attendees, in order; nothing of a later parent
    assert got == sequential[: len(got)] and len(got) >= cut + 1
    assert not any(
        (i.parent_key if i.entity != "conferences" else i.key) in parents[parents.index(failing) + 1 :]
        for i in got
    )
    assert not [t for t in threading.enumerate() if t.name.startswith("bigmarker-fetch")]  # joined
    client.close()
    assert run(sb, "bigmarker", concurrency=6) == sequential  # the rerun completes
