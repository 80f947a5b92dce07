"""BigMarker source (the main one): conferences with their registrations and attendees."""

from webinar_dwh.sources.bigmarker.client import BigMarkerClient
from webinar_dwh.sources.bigmarker.handle import open_source
from webinar_dwh.sources.bigmarker.settings import BigMarkerSettings
from webinar_dwh.sources.bigmarker.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract

__all__ = [
    "CURSOR_ENTITY",
    "ENTITIES",
    "BigMarkerClient",
    "BigMarkerSettings",
    "cursor_of",
    "extract",
    "open_source",
]
