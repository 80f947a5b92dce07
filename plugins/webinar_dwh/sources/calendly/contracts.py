"""What a Calendly record must carry to be loaded (else it is quarantined with the reason)."""

from __future__ import annotations

from webinar_dwh.sources._common import Field

EVENT_FIELDS: tuple[Field, ...] = (
    Field("uri", "str"),
    Field("name", "str", nullable=True),
    Field("status", "str"),
    Field("start_time", "timestamp"),
    Field("end_time", "timestamp", required=False),
)

INVITEE_FIELDS: tuple[Field, ...] = (
    Field("uri", "str"),
    Field("email", "str"),
    Field("status", "str"),
    Field("created_at", "timestamp"),
)
