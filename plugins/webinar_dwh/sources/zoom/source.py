"""Zoom source: webinars with occurrences in a window, their instances, registrants, participants."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from webinar_dwh.concurrency import in_order
from webinar_dwh.records import Item, Record, Rejected
from webinar_dwh.sources._common import (
    WINDOW_PER_WORKER,
    check_window,
    contract_violation,
    in_parent_order,
    iso_utc,
    one,
    parse_timestamp,
    raw_text,
    validated,
)
from webinar_dwh.sources.zoom.client import SkippedError, ZoomClient
from webinar_dwh.sources.zoom.contracts import (
    INSTANCE_FIELDS,
    PARTICIPANT_FIELDS,
    REGISTRANT_FIELDS,
    WEBINAR_FIELDS,
    participant_key,
)

CURSOR_ENTITY = "webinars"
ENTITIES: tuple[str, ...] = ("webinars", "webinar_instances", "registrants", "participants")
#: Zoom webinar type of a single-occurrence webinar (6/9 are recurring series).
SINGLE_OCCURRENCE_TYPE = 5
#: A single-occurrence webinar whose *scheduled* start is this far outside the window is not
#: asked for its instances (its actual start differs from the schedule by less than this).
SCHEDULE_SLACK = timedelta(days=1)


@dataclass
class _Webinar:
    key: str
    payload: dict[str, Any]
    first: datetime
    instances: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)


def extract(client: ZoomClient, window_start: datetime, window_end: datetime) -> Iterator[Item]:
    """Yield webinars with an occurrence starting in ``[window_start, window_end)`` and their data.

    An occurrence is an instance from ``/past_webinars/{id}/instances`` (its ``start_time`` is
    the actual start, UTC); a webinar not held yet counts with its own scheduled ``start_time``.
    The lower bound is inclusive, the upper exclusive. Webinars are yielded in ascending order of
    their first occurrence in the window (ties by id), each as one contiguous group:

    1. the webinar ``Record`` (key = webinar id);
    2. its approved registrant Records (key ``<webinar_id>:<registrant id>``, parent webinar id);
    3. for each of its occurrences in the window, ascending: the instance ``Record`` (key =
       instance uuid, parent webinar id) followed by its participant Records (key
       ``<instance uuid>:<participant session>:<join_time>`` — the participant id, or for a
       guest without one what else identifies the session (``contracts.participant_session``) —
       parent instance uuid; every rejoin is a row).

    Zoom answers 3001 (no such webinar/report) or 3161 (not licensed) for a webinar's registrants
    or participant report: that part is skipped, logged and counted in ``client.skipped``; scope
    errors (4700/4711) raise ``AuthError``. Records breaking their contract are yielded as
    ``Rejected``.

    Memory: the window's webinars and their instance lists are held (to sort them); registrants
    and participants stream page by page — or, with ``concurrency`` > 1, the instance lists and
    then the registrants and participants of the next few webinars are fetched at once by worker
    threads and held until their turn (the order above never changes).

    Args:
        client: A Zoom client.
        window_start: Inclusive lower bound (timezone-aware).
        window_end: Exclusive upper bound (timezone-aware).

    Raises:
        ValueError: naive or empty window.
        webinar_dwh.http.ApiError: auth/scope errors, exhausted retries, broken envelopes.
    """
    start, end = check_window(window_start, window_end)
    webinars: dict[str, _Webinar] = {}
    listed = in_order(
        _listed(client, webinars, start, end),
        concurrency=client.settings.concurrency,
        window=WINDOW_PER_WORKER * client.settings.concurrency,
        limiter=client.session.limiter,
        name="zoom-instances",
    )
    for obj, reason, instances in listed:
        if reason:
            yield Rejected("webinars", None, raw_text(obj), reason)
            continue
        key = str(obj["id"])
        if key in webinars:
            continue
        scheduled = parse_timestamp(obj["start_time"])
        held: list[tuple[datetime, str, dict[str, Any]]] = []
        for inst in instances:
            problem = contract_violation("webinar_instances", inst, INSTANCE_FIELDS)
            if problem:
                yield Rejected("webinar_instances", key, raw_text(inst), problem)
                continue
            held.append((parse_timestamp(inst["start_time"]), inst["uuid"], inst))
        in_window = sorted((i for i in held if start <= i[0] < end), key=lambda i: (i[0], i[1]))
        occurrences = [i[0] for i in in_window]
        if not held and start <= scheduled < end:
            occurrences.append(scheduled)  # not held yet: counts with its schedule
        if occurrences:
            webinars[key] = _Webinar(key, obj, min(occurrences), in_window)
    ordered = sorted(webinars.values(), key=lambda w: (w.first, w.key))
    yield from in_parent_order(client, _units(client, ordered))


_Listed = tuple[Any, str | None, list[Any]]


def _listed(
    client: ZoomClient, webinars: dict[str, _Webinar], start: datetime, end: datetime
) -> Iterator[Callable[[], _Listed]]:
    """Per listed webinar, in page order: a unit answering ``(webinar, contract violation or
    None, its past instances)`` — the instances are fetched only for a contract-valid webinar
    not seen before whose schedule is near the window."""
    for page in client.webinar_pages():
        for obj in page:
            reason = contract_violation("webinars", obj, WEBINAR_FIELDS)
            if reason:
                yield partial(_as_listed, obj, reason)
                continue
            if str(obj["id"]) in webinars:
                continue
            scheduled = parse_timestamp(obj["start_time"])
            if obj.get("type") == SINGLE_OCCURRENCE_TYPE and not (
                start - SCHEDULE_SLACK <= scheduled < end + SCHEDULE_SLACK
            ):
                continue
            yield partial(_with_instances, client, obj)


def _as_listed(obj: Any, reason: str) -> _Listed:
    return obj, reason, []


def _with_instances(client: ZoomClient, obj: dict[str, Any]) -> _Listed:
    return obj, None, client.instances(obj["id"])


def _units(client: ZoomClient, ordered: list[_Webinar]) -> Iterator[Callable[[], Iterable[Item]]]:
    """Per webinar: itself, its registrants, then per occurrence: the instance, its participants."""
    for webinar in ordered:
        yield partial(one, Record("webinars", webinar.key, None, webinar.payload))
        yield partial(_registrants, client, webinar.key)
        for _, uuid, inst in webinar.instances:
            yield partial(one, Record("webinar_instances", uuid, webinar.key, inst))
            yield partial(_participants, client, uuid, webinar.key)


def cursor_of(record: Record) -> str:
    """Cursor value (ISO 8601 UTC, seconds) of a webinar or webinar-instance Record.

    For a webinar it is its ``start_time`` as listed by Zoom (for a recurring series Zoom lists
    one occurrence's time); for an instance, the occurrence's actual start.

    Raises:
        ValueError: another entity, or no parseable ``start_time``.
    """
    if record.entity not in ("webinars", "webinar_instances"):
        raise ValueError(f"cursor_of expects a webinar or webinar instance record, got '{record.entity}'")
    return iso_utc(parse_timestamp(record.payload.get("start_time")))


def _registrants(client: ZoomClient, webinar_key: str) -> Iterator[Item]:
    try:
        for page in client.registrant_pages(webinar_key):
            for obj in page:
                yield validated(
                    "registrants", webinar_key, obj, REGISTRANT_FIELDS, lambda o: f"{webinar_key}:{o['id']}"
                )
    except SkippedError:
        return


def _participants(client: ZoomClient, uuid: str, webinar_key: str) -> Iterator[Item]:
    try:
        for page in client.participant_pages(uuid, webinar_key):
            for obj in page:
                yield validated(
                    "participants", uuid, obj, PARTICIPANT_FIELDS, lambda o: participant_key(uuid, o)
                )
    except SkippedError:
        return
