"""Calendly settings, built from the Airflow connection ``calendly_default``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webinar_dwh.sources._common import base_url_of, connection_field

DEFAULT_CONN_ID = "calendly_default"
DEFAULT_BASE_URL = "https://api.calendly.com"
#: Calendly's maximum ``count`` per page.
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class CalendlySettings:
    """Connection and paging settings for the Calendly API v2 client.

    Attributes:
        base_url: API base (connection ``host``), e.g. ``https://api.calendly.com``.
        token: Personal access token (connection ``password``); never in ``repr``.
        conn_id: Airflow connection id, named in error messages.
        page_size: ``count`` per page, capped at :data:`MAX_PAGE_SIZE`.
        max_attempts: HTTP attempts per request (first try included).
        timeout: ``(connect, read)`` timeouts in seconds.
        backoff_cap: Upper bound (seconds) of the exponential back-off between retries
            (a server-requested ``Retry-After`` is honoured separately).
    """

    base_url: str
    token: str = field(repr=False)
    conn_id: str = DEFAULT_CONN_ID
    page_size: int = MAX_PAGE_SIZE
    max_attempts: int = 6
    timeout: tuple[float, float] = (10.0, 60.0)
    backoff_cap: float = 30.0

    @classmethod
    def from_connection(
        cls,
        conn: Any,
        *,
        conn_id: str | None = None,
        page_size: int | None = None,
        max_attempts: int | None = None,
        backoff_cap: float | None = None,
    ) -> CalendlySettings:
        """Build settings from any object with Airflow ``Connection`` attributes.

        Args:
            conn: Object with ``host`` (base URL) and ``password`` (token).
            conn_id: Overrides the connection id used in messages.
            page_size: Page size (capped at 100).
            max_attempts: Overrides the HTTP attempts per request.
            backoff_cap: Overrides the back-off cap (seconds).

        Raises:
            webinar_dwh.http.ConfigurationError: host or password missing.
        """
        cid = conn_id or getattr(conn, "conn_id", None) or DEFAULT_CONN_ID
        return cls(
            base_url=base_url_of(conn, cid, f"base URL, e.g. {DEFAULT_BASE_URL}"),
            token=connection_field(conn, "password", cid, "the Calendly personal access token"),
            conn_id=cid,
            page_size=min(page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE),
            max_attempts=max_attempts or 6,
            backoff_cap=30.0 if backoff_cap is None else backoff_cap,
        )
