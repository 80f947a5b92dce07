"""What a Zoom record must carry to be loaded (else it is quarantined with the reason)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from webinar_dwh.sources._common import Field

WEBINAR_FIELDS: tuple[Field, ...] = (
    Field("id", "int"),
    Field("topic", "str", nullable=True),
    Field("start_time", "timestamp"),
    Field("duration", "number", required=False),
)

INSTANCE_FIELDS: tuple[Field, ...] = (
    Field("uuid", "str"),
    Field("start_time", "timestamp"),
)

REGISTRANT_FIELDS: tuple[Field, ...] = (
    Field("id", "id"),
    Field("email", "str"),
    Field("create_time", "timestamp"),
)

PARTICIPANT_FIELDS: tuple[Field, ...] = (
    # blank for guests who are not signed in: the record key then uses participant_session()
    Field("id", "str", nullable=True, required=False),
    Field("join_time", "timestamp"),
    Field("leave_time", "timestamp", required=False),
    Field("duration", "number"),
    Field("user_email", "str", nullable=True),
)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else (str(value) if isinstance(value, int) else "")


def participant_session(obj: Mapping[str, Any]) -> str:
    """Who a participant row is within its occurrence: the middle part of its record key.

    Zoom's participant ``id`` identifies a signed-in user and is blank for guests who are not
    signed in, so two guests joining in the same second would share ``<uuid>::<join_time>`` and
    one of them would vanish in staging's latest-row-per-key. The first non-empty of these
    identifies the session instead, each a value that stays the same when the report is
    re-pulled (rejoins differ by ``join_time``):

    1. ``id`` (as is: keys of signed-in users are unchanged);
    2. ``user_id=<user_id>`` — the participant id Zoom assigns per meeting session;
    3. ``registrant_id=<registrant_id>``;
    4. ``email=<lower(trim(user_email))>``;
    5. ``name=<name>``;
    6. ``record=<sha256 of the record>`` — last resort; a participant report is final once the
       webinar ended, so it is stable, and two different records never share it.
    """
    identity = _text(obj.get("id"))
    if identity:
        return identity
    for field in ("user_id", "registrant_id"):
        value = _text(obj.get(field))
        if value:
            return f"{field}={value}"
    email = _text(obj.get("user_email")).lower()
    if email:
        return f"email={email}"
    name = _text(obj.get("name"))
    if name:
        return f"name={name}"
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f"record={digest}"


def participant_key(uuid: str, obj: Mapping[str, Any]) -> str:
    """``<instance uuid>:<participant_session(obj)>:<join_time>`` (docs/design.md, raw keys)."""
    return f"{uuid}:{participant_session(obj)}:{obj['join_time']}"
