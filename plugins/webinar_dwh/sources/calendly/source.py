"""Calendly source: scheduled events in a window, each followed by all its invitees."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from webinar_dwh.records import Item, Record, Rejected
from webinar_dwh.sources._common import (
    check_window,
    contract_violation,
    in_parent_order,
    iso_utc,
    one,
    parse_timestamp,
    raw_text,
    validated,
)
from webinar_dwh.sources.calendly.client import CalendlyClient
from webinar_dwh.sources.calendly.contracts import EVENT_FIELDS, INVITEE_FIELDS

CURSOR_ENTITY = "scheduled_events"
ENTITIES: tuple[str, ...] = ("scheduled_events", "invitees")


def uuid_of(uri: str) -> str:
    """The UUID of a Calendly resource: the last path segment of its URI.

    Raises:
        ValueError: the URI has no path segment.
    """
    segment = urlsplit(uri).path.rstrip("/").rsplit("/", 1)[-1]
    if not segment:
        raise ValueError(f"no UUID in URI {uri[:80]!r}")
    return segment


def extract(client: CalendlyClient, window_start: datetime, window_end: datetime) -> Iterator[Item]:
    """Yield scheduled events starting in ``[window_start, window_end)``, each followed by its invitees.

    The window is driven by the event ``start_time`` (UTC): inclusive lower bound, exclusive
    upper bound — the API is asked with ``min_start_time``/``max_start_time`` and the result is
    filtered again client-side. Events of every status (active and canceled) are yielded in
    ascending ``(start_time, uuid)`` order; right after each event ``Record`` come all its
    invitee Records of every status (canceled invitees are needed to net out reschedules).
    Calendly's only date filter is the event start: late bookings and cancellations of older
    events are picked up by re-running an earlier window (lookback).

    Memory: only the events of the window are held (to sort them); invitees stream page by page
    — or, with ``concurrency`` > 1, the invitees of the next few events are fetched at once by
    worker threads and held until their turn (the order above never changes).

    Keys (docs/design.md): event UUID; invitee UUID with ``parent_key`` = event UUID (UUIDs are
    the last path segment of ``uri``).

    Args:
        client: A Calendly client.
        window_start: Inclusive lower bound (timezone-aware).
        window_end: Exclusive upper bound (timezone-aware).

    Raises:
        ValueError: naive or empty window.
        webinar_dwh.http.ApiError: auth errors, exhausted retries, broken envelopes.
    """
    start, end = check_window(window_start, window_end)
    events: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for page in client.event_pages(start, end):
        for obj in page:
            reason = contract_violation("scheduled_events", obj, EVENT_FIELDS)
            if reason:
                yield Rejected("scheduled_events", None, raw_text(obj), reason)
                continue
            moment = parse_timestamp(obj["start_time"])
            if not start <= moment < end:
                continue
            try:
                events[uuid_of(obj["uri"])] = (moment, obj)
            except ValueError as exc:
                yield Rejected("scheduled_events", None, raw_text(obj), f"field 'uri' {exc}")
    ordered = sorted(events.items(), key=lambda kv: (kv[1][0], kv[0]))
    yield from in_parent_order(client, _units(client, ordered))


def _units(
    client: CalendlyClient, ordered: list[tuple[str, tuple[datetime, dict[str, Any]]]]
) -> Iterator[Callable[[], Iterable[Item]]]:
    """Per event: itself, then its invitees."""
    for event_uuid, (_, obj) in ordered:
        yield partial(one, Record("scheduled_events", event_uuid, None, obj))
        yield partial(_invitees, client, event_uuid)


def _invitees(client: CalendlyClient, event_uuid: str) -> Iterator[Item]:
    for page in client.invitee_pages(event_uuid):
        for invitee in page:
            yield validated("invitees", event_uuid, invitee, INVITEE_FIELDS, _uri_key)


def _uri_key(obj: Any) -> str:
    try:
        return uuid_of(obj["uri"])
    except ValueError as exc:
        raise ValueError(f"field 'uri' {exc}") from None


def cursor_of(record: Record) -> str:
    """Cursor value of a scheduled-event Record: its ``start_time`` as ISO 8601 UTC (seconds).

    Raises:
        ValueError: ``record`` is not a scheduled event or has no parseable ``start_time``.
    """
    if record.entity != CURSOR_ENTITY:
        raise ValueError(f"cursor_of expects a '{CURSOR_ENTITY}' record, got '{record.entity}'")
    return iso_utc(parse_timestamp(record.payload.get("start_time")))
