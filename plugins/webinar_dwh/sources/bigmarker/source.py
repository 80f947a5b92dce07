"""BigMarker source: conferences in a window, each followed by its registrations and attendees."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from webinar_dwh.http import NotFoundError
from webinar_dwh.records import Item, Record, Rejected
from webinar_dwh.sources._common import (
    Field,
    check_window,
    contract_violation,
    count_skip,
    in_parent_order,
    iso_utc,
    one,
    parse_timestamp,
    raw_text,
    validated,
)
from webinar_dwh.sources.bigmarker.client import BigMarkerClient
from webinar_dwh.sources.bigmarker.contracts import (
    ATTENDEE_FIELDS,
    CONFERENCE_FIELDS,
    ON_DEMAND_FIELDS,
    REGISTRATION_FIELDS,
)

log = logging.getLogger(__name__)

CURSOR_ENTITY = "conferences"
ENTITIES: tuple[str, ...] = ("conferences", "registrations", "attendees", "on_demand_attendees")


def extract(client: BigMarkerClient, window_start: datetime, window_end: datetime) -> Iterator[Item]:
    """Yield conferences starting in ``[window_start, window_end)``, each followed by its children.

    The window is driven by the conference ``start_time`` (converted to UTC); the lower bound is
    inclusive, the upper bound exclusive. Conferences are yielded in ascending ``(start_time,
    id)`` order; right after each conference ``Record`` come all its registration Records and
    then all its attendee Records, then the viewers of its recording (children are always
    re-pulled in full, so late registrations, attendance and recording views of older
    conferences are picked up by re-running an earlier window: the lookback).

    Memory: only the conferences of the window are held (to sort them); children stream page by
    page — or, with ``concurrency`` > 1, the registrations and the attendees of the next few
    conferences are fetched at once by worker threads and held until their turn
    (:func:`webinar_dwh.sources._common.in_parent_order`), so the order above never changes.

    Keys (docs/design.md): conference ``id``; registration ``<conference_id>:<bmid or
    lower(trim(email))>``; attendee and on-demand viewer ``<conference_id>:<id>``; children's
    ``parent_key`` is the conference id.

    Records that break the contract are yielded as ``Rejected`` naming the field. A conference
    whose ``start_time`` cannot be parsed is rejected (it cannot be placed in or out of the
    window); a child endpoint answering 404 for a listed conference is logged, counted in
    ``client.skipped`` and contributes no children.

    Args:
        client: A BigMarker client.
        window_start: Inclusive lower bound (timezone-aware).
        window_end: Exclusive upper bound (timezone-aware).

    Raises:
        ValueError: naive or empty window.
        webinar_dwh.http.ApiError: on errors the client does not absorb (auth, exhausted retries).
    """
    start, end = check_window(window_start, window_end)
    parents: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for page in client.conference_pages(start):
        for obj in page:
            moment = _start_of(obj)
            if moment is not None and not start <= moment < end:
                continue
            reason = contract_violation("conferences", obj, CONFERENCE_FIELDS)
            if reason or moment is None:
                yield Rejected("conferences", None, raw_text(obj), reason or "field 'start_time' is invalid")
                continue
            parents[str(obj["id"])] = (moment, obj)
    ordered = sorted(parents.items(), key=lambda kv: (kv[1][0], kv[0]))
    yield from in_parent_order(client, _units(client, ordered))


def _units(
    client: BigMarkerClient, ordered: list[tuple[str, tuple[datetime, dict[str, Any]]]]
) -> Iterator[Callable[[], Iterable[Item]]]:
    """Per conference: itself, its registrations, its attendees, its recording's viewers (three
    listings fetched apart)."""
    for conference_id, (_, obj) in ordered:
        yield partial(one, Record("conferences", conference_id, None, obj))
        yield partial(_registrations, client, conference_id)
        yield partial(_attendees, client, conference_id)
        yield partial(_on_demand, client, conference_id)


def cursor_of(record: Record) -> str:
    """Cursor value of a conference Record: its ``start_time`` as ISO 8601 UTC (seconds).

    Raises:
        ValueError: ``record`` is not a conference or has no parseable ``start_time``.
    """
    if record.entity != CURSOR_ENTITY:
        raise ValueError(f"cursor_of expects a '{CURSOR_ENTITY}' record, got '{record.entity}'")
    return iso_utc(parse_timestamp(record.payload.get("start_time")))


def _start_of(obj: Any) -> datetime | None:
    if not isinstance(obj, dict):
        return None
    try:
        return parse_timestamp(obj.get("start_time"))
    except ValueError:
        return None


def _children(
    client: BigMarkerClient,
    conference_id: str,
    entity: str,
    pages: Iterator[list[Any]],
    fields: tuple[Field, ...],
    person: Callable[[Any], str],
) -> Iterator[Item]:
    """One child listing of a conference, validated; keys ``<conference_id>:<person(obj)>``. A
    listing answering 404 (e.g. the conference was deleted mid-run) is skipped and counted."""
    try:
        for page in pages:
            for obj in page:
                yield validated(entity, conference_id, obj, fields, lambda o: f"{conference_id}:{person(o)}")
    except NotFoundError as exc:
        _skip(client, entity, conference_id, exc)


def _registrations(client: BigMarkerClient, conference_id: str) -> Iterator[Item]:
    return _children(
        client, conference_id, "registrations", client.registration_pages(conference_id),
        REGISTRATION_FIELDS, _registrant,
    )


def _registrant(obj: Any) -> str:
    """A registration's person: its ``bmid``, else its e-mail (trimmed, lower-case)."""
    bmid = obj.get("bmid")
    person = str(bmid) if bmid not in (None, "") else obj["email"].strip().lower()
    if not person:
        raise ValueError("registration has neither 'bmid' nor a non-empty 'email'")
    return person


def _attendees(client: BigMarkerClient, conference_id: str) -> Iterator[Item]:
    return _children(
        client, conference_id, "attendees", client.attendee_pages(conference_id), ATTENDEE_FIELDS,
        lambda o: o["id"],
    )


def _on_demand(client: BigMarkerClient, conference_id: str) -> Iterator[Item]:
    """Viewers of the recording (re-pulled with the conference: views arrive for days after it)."""
    return _children(
        client, conference_id, "on_demand_attendees", client.on_demand_pages(conference_id),
        ON_DEMAND_FIELDS, lambda o: o["id"],
    )


def _skip(client: BigMarkerClient, entity: str, conference_id: str, exc: NotFoundError) -> None:
    count_skip(client, f"{entity}:not_found")
    log.warning("BigMarker %s of conference %s skipped: %s", entity, conference_id, exc)
