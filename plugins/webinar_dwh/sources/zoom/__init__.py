"""Zoom source (legacy webinars and attendance): webinars, instances, registrants, participants."""

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.zoom.client import ZoomClient, encode_uuid
from webinar_dwh.sources.zoom.settings import DEFAULT_CONN_ID, ZoomSettings
from webinar_dwh.sources.zoom.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract

SOURCE = VendorSource(
    "zoom", DEFAULT_CONN_ID, ENTITIES, CURSOR_ENTITY, ZoomClient, ZoomSettings, extract, cursor_of
)

__all__ = [
    "CURSOR_ENTITY",
    "ENTITIES",
    "SOURCE",
    "ZoomClient",
    "ZoomSettings",
    "cursor_of",
    "encode_uuid",
    "extract",
]
