"""BigMarker source (the main one): conferences with their registrations, attendees and on-demand
viewers."""

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.bigmarker.client import BigMarkerClient
from webinar_dwh.sources.bigmarker.settings import DEFAULT_CONN_ID, BigMarkerSettings
from webinar_dwh.sources.bigmarker.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract

SOURCE = VendorSource(
    "bigmarker",
    DEFAULT_CONN_ID,
    ENTITIES,
    CURSOR_ENTITY,
    BigMarkerClient,
    BigMarkerSettings,
    extract,
    cursor_of,
)

__all__ = [
    "CURSOR_ENTITY",
    "ENTITIES",
    "SOURCE",
    "BigMarkerClient",
    "BigMarkerSettings",
    "cursor_of",
    "extract",
]
