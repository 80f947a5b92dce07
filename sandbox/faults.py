"""Deterministic fault decisions shared by the server (which applies them) and the truth (which knows them).

Every decision is a pure function of the seed and a stable key, never of wall time or request order:

* :func:`malformation` — whether a record is served broken and how. A broken record is something the
  pipeline's contract check must reject (``raw.quarantine``), so the ground truth excludes it. Kinds:

  - ``missing_key``: the key field (``id``, ``email``, ``uri``, ``uuid``…) is absent;
  - ``wrong_type``: the key field holds a JSON object instead of a scalar;
  - ``bad_timestamp``: the record's driving timestamp is an unparsable string.

  Which fields are the key and the timestamp per entity: :data:`MALFORM_FIELDS`. Zoom webinars and
  instances are never malformed (a broken parent would make the pipeline's choice ambiguous).
* :func:`request_fault` — whether a request gets 429 / 5xx, by (request line, attempt number).
* :func:`surprise` — the ``surprises`` switch: which records are served with vendor values the
  pipeline has never seen (unseen categorical values, other spellings, extra nesting, nulls where
  the docs promise nothing, new fields) and which ones. Surprises stay within the record
  contracts (nothing is quarantined); the ground truth knows the served values and buckets them
  with its own rules (``sandbox/truth.py``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

#: entity → (key field, timestamp field) that malformation breaks.
MALFORM_FIELDS: dict[str, tuple[str, str]] = {
    "bigmarker_conferences": ("id", "start_time"),
    "bigmarker_registrations": ("email", "registered_at"),
    "bigmarker_attendees": ("id", "entered_at"),
    "calendly_scheduled_events": ("uri", "start_time"),
    "calendly_invitees": ("uri", "created_at"),
    "zoom_registrants": ("id", "create_time"),
    "zoom_participants": ("user_email", "join_time"),
}
MALFORM_KINDS = ("missing_key", "wrong_type", "bad_timestamp")
BAD_TIMESTAMPS = ("not-a-timestamp", "2026-02-30T25:61:00Z", "yesterday at noon")
DRIFT_FIELD = "sandbox_drift_field"
DRIFT_VALUE = {"added_in": "v2.1", "note": "a field the pipeline has never seen"}


#: Share of the records of each entity the ``surprises`` switch serves with a surprise.
SURPRISE_SHARE = 0.2
#: A new field every surprised record carries (nested, with a null inside).
SURPRISE_FIELD = "sandbox_surprise"
SURPRISE_VALUE: dict[str, Any] = {"since": "v3", "nested": {"deeper": [1, None, {"flag": True}]}}
#: entity → variants; a variant maps fields to the value served instead (``None`` = JSON null).
SURPRISES: dict[str, tuple[dict[str, Any], ...]] = {
    "bigmarker_conferences": (
        {"language": "ru", "type": "hybrid_summit", "time_zone": "Atlantis Standard Time"},
        {"language": " EN-us ", "type": None, "time_zone": None},
        {
            "language": {"code": "FR", "name": "Français"},
            "type": " Webcast ",
            "webinar_stats": {"registrants": {"count": 3}, "total_attendees": "n/a"},
        },
        {"language": None, "channel_id": None},
    ),
    "bigmarker_registrations": (
        {"country": "Atlantis", "custom_fields": {"answers": {"nested": ["deeper"]}}},
        {"time_zone": None, "country": None},
    ),
    "bigmarker_attendees": ({"country": "Atlantis", "device_name": {"os": "VisionOS", "version": 2}},),
    "calendly_scheduled_events": ({"status": "tentative"}, {"status": " ACTIVE "}),
    "calendly_invitees": ({"timezone": "Mars/Olympus_Mons", "tracking": None}, {"timezone": None}),
    "zoom_webinars": (
        {"type": "webinar_v2", "timezone": "Moon/Tranquility_Base"},
        {"type": None, "timezone": None},
    ),
    "zoom_registrants": ({"status": "on_hold"}, {"status": None}),
    "zoom_participants": ({"status": "in_breakout_room", "attentiveness_score": None}, {"status": None}),
}
#: Calendly invitee statuses served instead of the real one (by the real one): an unseen status
#: only on active invitees (the business rule: an unseen status is no cancellation), spellings
#: on both.
INVITEE_STATUS_SURPRISES: dict[str, tuple[str, ...]] = {
    "active": ("awaiting_payment", " Active "),
    "canceled": ("CANCELED", "cancelled"),
}


def unit_hash(*parts: object) -> float:
    """A uniform number in ``[0, 1)`` derived from ``parts`` (stable across processes)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def malformation(seed: int, entity: str, key: str, rate: float) -> str | None:
    """The malformation kind of one record, or ``None`` when it is served intact."""
    if rate <= 0 or entity not in MALFORM_FIELDS:
        return None
    u = unit_hash(seed, "malformed", entity, key)
    if u >= rate:
        return None
    return MALFORM_KINDS[int(u / rate * len(MALFORM_KINDS)) % len(MALFORM_KINDS)]


def malform(payload: dict[str, Any], entity: str, kind: str) -> dict[str, Any]:
    """A broken copy of ``payload``."""
    key_field, ts_field = MALFORM_FIELDS[entity]
    broken = dict(payload)
    if kind == "missing_key":
        broken.pop(key_field, None)
    elif kind == "wrong_type":
        broken[key_field] = {"unexpected": "object", "value": str(payload.get(key_field))}
    else:
        broken[ts_field] = BAD_TIMESTAMPS[len(str(payload.get(key_field))) % len(BAD_TIMESTAMPS)]
    return broken


def surprise(seed: int, entity: str, key: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The fields the ``surprises`` switch serves differently for one record (``{}``: none).

    Args:
        seed: Universe seed.
        entity: Raw entity name (``bigmarker_conferences``, ``calendly_invitees``…).
        key: The record's key (as for :func:`malformation`).
        payload: The record as it would be served (the invitee status variant depends on it).

    Returns:
        Field → served value, including :data:`SURPRISE_FIELD`; apply with ``{**payload, **patch}``.
    """
    variants = SURPRISES.get(entity)
    if not variants or unit_hash(seed, "surprise", entity, key) >= SURPRISE_SHARE:
        return {}
    patch = dict(variants[int(unit_hash(seed, "surprise-kind", entity, key) * len(variants))])
    statuses = INVITEE_STATUS_SURPRISES.get(payload.get("status")) if entity == "calendly_invitees" else None
    if statuses:
        patch["status"] = statuses[int(unit_hash(seed, "surprise-status", key) * len(statuses))]
    patch[SURPRISE_FIELD] = SURPRISE_VALUE
    return patch


def request_fault(seed: int, request_line: str, attempt: int, rate_429: float, rate_5xx: float) -> int | None:
    """HTTP status of an injected fault for this attempt of a request, or ``None``."""
    if rate_429 <= 0 and rate_5xx <= 0:
        return None
    u = unit_hash(seed, "request", request_line, attempt)
    if u < rate_429:
        return 429
    if u < rate_429 + rate_5xx:
        return (500, 502, 503)[int(unit_hash(seed, "5xx", request_line, attempt) * 3)]
    return None


def bad_date_ids(seed: int, conference_ids: list[str], k: int = 3) -> frozenset[str]:
    """The conferences ``bad_webinar_dates`` serves in year 2099 (the ``k`` lowest hashes)."""
    return frozenset(sorted(conference_ids, key=lambda cid: unit_hash(seed, "bad_date", cid))[:k])


def shift_to_2099(ts: int) -> int:
    """The same UTC wall-clock moment in year 2099 (29 February → 28 February)."""
    dt = datetime.fromtimestamp(ts, UTC)
    day = 28 if (dt.month, dt.day) == (2, 29) else dt.day
    return int(dt.replace(year=2099, day=day).timestamp())


def latency_seconds(seed: int, request_line: str, fixed_ms: float, jitter_ms: float) -> float:
    """How long a request waits before its answer: ``fixed_ms`` plus a jitter in
    ``[0, jitter_ms)`` that is a pure function of the seed and the request line (the same request
    always takes as long; two runs issuing the same requests wait the same)."""
    if fixed_ms <= 0 and jitter_ms <= 0:
        return 0.0
    jitter = unit_hash(seed, "latency", request_line) * jitter_ms if jitter_ms > 0 else 0.0
    return max(0.0, fixed_ms + jitter) / 1000.0
