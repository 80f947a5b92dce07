"""Zoom source (legacy webinars and attendance): webinars, instances, registrants, participants."""

from webinar_dwh.sources.zoom.client import ZoomClient, encode_uuid
from webinar_dwh.sources.zoom.handle import open_source
from webinar_dwh.sources.zoom.settings import ZoomSettings
from webinar_dwh.sources.zoom.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract

__all__ = [
    "CURSOR_ENTITY",
    "ENTITIES",
    "ZoomClient",
    "ZoomSettings",
    "cursor_of",
    "encode_uuid",
    "extract",
    "open_source",
]
