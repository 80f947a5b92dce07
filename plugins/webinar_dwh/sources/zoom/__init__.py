"""Zoom source (legacy webinars and attendance): webinars, instances, registrants, participants."""

from collections.abc import Callable
from typing import Any

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.zoom.client import ZoomClient, encode_uuid
from webinar_dwh.sources.zoom.settings import DEFAULT_CONN_ID, ZoomSettings
from webinar_dwh.sources.zoom.source import CURSOR_ENTITY, ENTITIES, cursor_of, extract


def _client(conn: Any, overrides: dict[str, Any], sleep: Callable[[float], None]) -> ZoomClient:
    return ZoomClient(ZoomSettings.from_connection(conn, **overrides), sleep=sleep)


SOURCE = VendorSource(
    name="zoom",
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
    "ZoomClient",
    "ZoomSettings",
    "cursor_of",
    "encode_uuid",
    "extract",
]
