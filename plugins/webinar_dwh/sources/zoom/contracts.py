"""What a Zoom record must carry to be loaded (else it is quarantined with the reason)."""

from __future__ import annotations

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
    Field("id", "str"),
    Field("join_time", "timestamp"),
    Field("leave_time", "timestamp", required=False),
    Field("duration", "number"),
    Field("user_email", "str", nullable=True),
)
