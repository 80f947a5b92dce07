"""BigMarker source (the main one): conferences with their registrations and attendees."""

from collections.abc import Callable
from typing import Any

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.bigmarker.client import BigMarkerClient
from webinar_dwh.sources.bigmarker.settings import DEFAULT_CONN_ID, BigMarkerSettings
from webinar_dwh.sources.bigmarker.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract


def _client(conn: Any, overrides: dict[str, Any], sleep: Callable[[float], None]) -> BigMarkerClient:
    return BigMarkerClient(BigMarkerSettings.from_connection(conn, **overrides), sleep=sleep)


SOURCE = VendorSource(
    name="bigmarker",
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
    "BigMarkerClient",
    "BigMarkerSettings",
    "cursor_of",
    "extract",
]
