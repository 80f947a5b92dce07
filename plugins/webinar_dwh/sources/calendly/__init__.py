"""Calendly source (legacy registrations): scheduled events with their invitees."""

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.calendly.client import CalendlyClient
from webinar_dwh.sources.calendly.settings import DEFAULT_CONN_ID, CalendlySettings
from webinar_dwh.sources.calendly.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract, uuid_of

SOURCE = VendorSource(
    "calendly", DEFAULT_CONN_ID, ENTITIES, CURSOR_ENTITY, CalendlyClient, CalendlySettings, extract, cursor_of
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
