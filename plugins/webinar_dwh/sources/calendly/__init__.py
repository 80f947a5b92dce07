"""Calendly source (legacy registrations): scheduled events with their invitees."""

from collections.abc import Callable
from typing import Any

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.calendly.client import CalendlyClient
from webinar_dwh.sources.calendly.settings import DEFAULT_CONN_ID, CalendlySettings
from webinar_dwh.sources.calendly.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract, uuid_of


def _client(conn: Any, overrides: dict[str, Any], sleep: Callable[[float], None]) -> CalendlyClient:
    return CalendlyClient(CalendlySettings.from_connection(conn, **overrides), sleep=sleep)


SOURCE = VendorSource(
    name="calendly",
    default_conn_id=DEFAULT_CONN_ID,
    entities=ENTITIES,
    cursor_entity=CURSOR_ENTITY,
    make_client=_client,
    extract=extract,
    cursor_of=cursor_of,
)

__all__ = [
    "CURSOR_ENTITY",
    "ENTITIES",
    "SOURCE",
    "CalendlyClient",
    "CalendlySettings",
    "cursor_of",
    "extract",
    "uuid_of",
]
