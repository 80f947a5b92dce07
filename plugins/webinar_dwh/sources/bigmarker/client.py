"""BigMarker REST client: generators over the pages of conferences, registrations, attendees."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from webinar_dwh.http import HeaderAuth, RetryPolicy
from webinar_dwh.sources.bigmarker.pagination import page_number_pages
from webinar_dwh.sources.bigmarker.settings import BigMarkerSettings


class BigMarkerClient:
    """Thin client over BigMarker's REST API (``API-KEY`` header auth).

    Every method is a generator of pages (lists of raw vendor objects); nothing is buffered
    beyond one page.

    Args:
        settings: Connection and paging settings.
        sleep: Sleep function for retry waits (tests inject a recorder).
        retry: Retry policy; defaults to ``settings.max_attempts`` attempts.
    """

    vendor = "BigMarker"

    def __init__(
        self,
        settings: BigMarkerSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.session = settings.session(
            vendor=self.vendor,
            auth=HeaderAuth("API-KEY", settings.api_key),
            secrets=(settings.api_key,),
            sleep=sleep,
            retry=retry,
        )
        #: Child listings skipped, by ``"<entity>:<reason>"`` (e.g. a conference deleted mid-run).
        self.skipped: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"BigMarkerClient({self.settings!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def conference_pages(self, start_time: datetime) -> Iterator[list[Any]]:
        """Pages of ``GET /conferences?type=all&start_time=<unix s>``.

        Args:
            start_time: Lower bound passed to BigMarker (conferences starting at/after it, as
                Unix seconds, floored). The caller still filters by its own window: the API's
                filter is coarse and undocumented.
        """
        per_page = self.settings.page_size
        unix = int(start_time.timestamp() // 1)

        def fetch(page: int) -> Any:
            params = {"type": "all", "start_time": unix, "page": page, "per_page": per_page}
            return self.session.get_json("conferences", params=params)

        yield from page_number_pages(fetch, items_key="conferences", per_page=per_page, what="conferences")

    def registration_pages(self, conference_id: str) -> Iterator[list[Any]]:
        """Pages of ``GET /conferences/registrations/{conference_id}?page=&per_page=``."""
        per_page = self.settings.page_size
        path = f"conferences/registrations/{quote(conference_id, safe='')}"

        def fetch(page: int) -> Any:
            return self.session.get_json(path, params={"page": page, "per_page": per_page})

        yield from page_number_pages(
            fetch, items_key="registrations", per_page=per_page, what=f"registrations of {conference_id}"
        )

    def attendee_pages(self, conference_id: str) -> Iterator[list[Any]]:
        """Pages of ``GET /conferences/{conference_id}/attendees?current_page=&per_page=``.

        Note the page parameter is ``current_page`` on this endpoint (``page`` is ignored).
        """
        per_page = self.settings.page_size
        path = f"conferences/{quote(conference_id, safe='')}/attendees"

        def fetch(page: int) -> Any:
            return self.session.get_json(path, params={"current_page": page, "per_page": per_page})

        yield from page_number_pages(
            fetch, items_key="attendees", per_page=per_page, what=f"attendees of {conference_id}"
        )

    def on_demand_pages(self, conference_id: str) -> Iterator[list[Any]]:
        """Pages of ``GET /reporting/conferences/on_demand_attendees/{conference_id}?current_page=``
        (envelope ``attendees``; the reporting endpoints page with ``current_page`` like the
        attendee listing)."""
        per_page = self.settings.page_size
        path = f"reporting/conferences/on_demand_attendees/{quote(conference_id, safe='')}"

        def fetch(page: int) -> Any:
            return self.session.get_json(path, params={"current_page": page, "per_page": per_page})

        yield from page_number_pages(
            fetch, items_key="attendees", per_page=per_page, what=f"on-demand viewers of {conference_id}"
        )
