"""Calendly API v2 client: the current organization, scheduled events and their invitees."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from webinar_dwh.http import ApiError, HeaderAuth, RetryPolicy
from webinar_dwh.sources.calendly.pagination import collection_pages
from webinar_dwh.sources.calendly.settings import CalendlySettings


def calendly_time(moment: datetime) -> str:
    """Calendly's timestamp format: UTC, microseconds, ``Z`` (``2025-03-04T20:00:00.000000Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CalendlyClient:
    """Client over Calendly API v2 (``Authorization: Bearer <token>``).

    Args:
        settings: Connection and paging settings.
        sleep: Sleep function for retry waits (tests inject a recorder).
        retry: Retry policy; defaults to ``settings.max_attempts`` attempts.
    """

    vendor = "Calendly"

    def __init__(
        self,
        settings: CalendlySettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.session = settings.session(
            vendor=self.vendor,
            auth=HeaderAuth("Authorization", f"Bearer {settings.token}"),
            secrets=(settings.token,),
            sleep=sleep,
            retry=retry,
            credential_name="the personal access token",
        )
        self._organization: str | None = None

    def __repr__(self) -> str:
        return f"CalendlyClient({self.settings!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def organization_uri(self) -> str:
        """The token owner's organization URI from ``GET /users/me`` (cached per client).

        Raises:
            ApiError: the answer lacks ``resource.current_organization``.
        """
        if self._organization is None:
            body = self.session.get_json("users/me")
            resource = body.get("resource") if isinstance(body, Mapping) else None
            org = resource.get("current_organization") if isinstance(resource, Mapping) else None
            if not isinstance(org, str) or not org:
                raise ApiError("Calendly /users/me has no resource.current_organization", vendor=self.vendor)
            self._organization = org
        return self._organization

    def event_pages(self, min_start: datetime, max_start: datetime) -> Iterator[list[Any]]:
        """Pages of the organization's scheduled events (all statuses) with start in the range.

        ``GET /scheduled_events?organization=&min_start_time=&max_start_time=&sort=start_time:asc``;
        Calendly treats ``max_start_time`` as exclusive, callers filter again anyway.
        """
        params = {
            "organization": self.organization_uri(),
            "min_start_time": calendly_time(min_start),
            "max_start_time": calendly_time(max_start),
            "sort": "start_time:asc",
            "count": self.settings.page_size,
        }
        yield from collection_pages(self.session, "scheduled_events", params, what="scheduled_events")

    def invitee_pages(self, event_uuid: str) -> Iterator[list[Any]]:
        """Pages of ``GET /scheduled_events/{uuid}/invitees`` — every status (active and canceled)."""
        path = f"scheduled_events/{quote(event_uuid, safe='')}/invitees"
        params = {"count": self.settings.page_size}
        yield from collection_pages(self.session, path, params, what=f"invitees of {event_uuid}")
