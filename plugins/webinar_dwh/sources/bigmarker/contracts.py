"""What a BigMarker record must carry to be loaded (else it is quarantined with the reason).

Only fields the warehouse relies on are checked; unknown extra fields are accepted (schema drift
is kept in the raw JSON).
"""

from __future__ import annotations

from webinar_dwh.sources._common import Field

CONFERENCE_FIELDS: tuple[Field, ...] = (
    Field("id", "id"),
    Field("title", "str", nullable=True),
    Field("start_time", "timestamp"),
    Field("end_time", "timestamp", required=False),
)

REGISTRATION_FIELDS: tuple[Field, ...] = (
    Field("email", "str"),
    Field("bmid", "id", required=False),
    Field("registered_at", "timestamp"),
)

ATTENDEE_FIELDS: tuple[Field, ...] = (
    Field("id", "id"),
    Field("email", "str", nullable=True),
    Field("entered_at", "timestamp"),
    Field("leaved_at", "timestamp", required=False),
    Field("total_duration", "number", required=False),
)

#: ``/reporting/conferences/on_demand_attendees/{id}``: viewers of the recording. The reporting
#: API sends numbers as strings (``on_demand_duration``: seconds — unverified, parsed leniently
#: in staging) and spells ``BMID`` in capitals.
ON_DEMAND_FIELDS: tuple[Field, ...] = (
    Field("id", "id"),
    Field("email", "str", nullable=True),
    Field("enter_time", "timestamp", required=False, nullable=True),
)
