"""BigMarker settings, built from the Airflow connection ``bigmarker_default``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webinar_dwh.sources._common import base_url_of, connection_field

DEFAULT_CONN_ID = "bigmarker_default"
DEFAULT_BASE_URL = "https://www.bigmarker.com/api/v1"
#: Page size asked for; BigMarker may answer with a smaller ``per_page``, which then governs.
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class BigMarkerSettings:
    """Connection and paging settings for the BigMarker client.

    Attributes:
        base_url: API base incl. scheme and ``/api/v1`` (connection ``host``).
        api_key: The ``API-KEY`` header value (connection ``password``); never in ``repr``.
        conn_id: Airflow connection id, named in error messages.
        page_size: ``per_page`` asked of list endpoints.
        max_attempts: HTTP attempts per request (first try included).
        timeout: ``(connect, read)`` timeouts in seconds.
        backoff_cap: Upper bound (seconds) of the exponential back-off between retries
            (a server-requested ``Retry-After`` is honoured separately).
    """

    base_url: str
    api_key: str = field(repr=False)
    conn_id: str = DEFAULT_CONN_ID
    page_size: int = DEFAULT_PAGE_SIZE
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
    ) -> BigMarkerSettings:
        """Build settings from any object with Airflow ``Connection`` attributes.

        Args:
            conn: Object with ``host`` (base URL) and ``password`` (API key); ``conn_id`` is read
                from it when present.
            conn_id: Overrides the connection id used in messages.
            page_size: Overrides :data:`DEFAULT_PAGE_SIZE`.
            max_attempts: Overrides the HTTP attempts per request.
            backoff_cap: Overrides the back-off cap (seconds).

        Raises:
            webinar_dwh.http.ConfigurationError: host or password missing.
        """
        cid = conn_id or getattr(conn, "conn_id", None) or DEFAULT_CONN_ID
        return cls(
            base_url=base_url_of(conn, cid, f"base URL, e.g. {DEFAULT_BASE_URL}"),
            api_key=connection_field(conn, "password", cid, "the BigMarker API key"),
            conn_id=cid,
            page_size=page_size or DEFAULT_PAGE_SIZE,
            max_attempts=max_attempts or 6,
            backoff_cap=30.0 if backoff_cap is None else backoff_cap,
        )
