"""Calendly source (legacy registrations): scheduled events with their invitees."""

from webinar_dwh.sources.calendly.client import CalendlyClient
from webinar_dwh.sources.calendly.handle import open_source
from webinar_dwh.sources.calendly.settings import CalendlySettings
from webinar_dwh.sources.calendly.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract, uuid_of

__all__ = [
    "CURSOR_ENTITY",
    "ENTITIES",
    "CalendlyClient",
    "CalendlySettings",
    "cursor_of",
    "extract",
    "open_source",
    "uuid_of",
]
