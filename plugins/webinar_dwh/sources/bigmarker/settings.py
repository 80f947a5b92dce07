"""BigMarker settings, built from the Airflow connection ``bigmarker_default``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webinar_dwh.sources._common import HttpSettings, base_url_of, connection_field

DEFAULT_CONN_ID = "bigmarker_default"
DEFAULT_BASE_URL = "https://www.bigmarker.com/api/v1"
#: Page size asked for; BigMarker may answer with a smaller ``per_page``, which then governs.
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class BigMarkerSettings(HttpSettings):
    """BigMarker's connection settings (shared HTTP fields: :class:`HttpSettings`).

    Attributes:
        base_url: API base incl. scheme and ``/api/v1`` (connection ``host``).
        api_key: The ``API-KEY`` header value (connection ``password``); never in ``repr``.
    """

    base_url: str
    api_key: str = field(repr=False)
    conn_id: str = DEFAULT_CONN_ID
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_connection(cls, conn: Any, **overrides: Any) -> BigMarkerSettings:
        """Build settings from any object with Airflow ``Connection`` attributes.

        Args:
            conn: Object with ``host`` (base URL) and ``password`` (API key); ``conn_id`` is read
                from it when present.
            overrides: ``conn_id``, ``page_size``, ``max_attempts``, ``backoff_cap``,
                ``concurrency``, ``max_rps``
                (:meth:`HttpSettings.common`; ``None`` keeps the default).

        Raises:
            webinar_dwh.http.ConfigurationError: host or password missing.
        """
        common = HttpSettings.common(
            conn, default_conn_id=DEFAULT_CONN_ID, default_page_size=DEFAULT_PAGE_SIZE, **overrides
        )
        cid = common["conn_id"]
        return cls(
            base_url=base_url_of(conn, cid, f"base URL, e.g. {DEFAULT_BASE_URL}"),
            api_key=connection_field(conn, "password", cid, "the BigMarker API key"),
            **common,
        )
