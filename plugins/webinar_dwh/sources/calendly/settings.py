"""Calendly settings, built from the Airflow connection ``calendly_default``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webinar_dwh.sources._common import HttpSettings, base_url_of, connection_field

DEFAULT_CONN_ID = "calendly_default"
DEFAULT_BASE_URL = "https://api.calendly.com"
#: Calendly's maximum ``count`` per page.
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendlySettings(HttpSettings):
    """Calendly API v2 connection settings (shared HTTP fields: :class:`HttpSettings`;
    ``page_size`` is Calendly's ``count``, capped at :data:`MAX_PAGE_SIZE`).

    Attributes:
        base_url: API base (connection ``host``), e.g. ``https://api.calendly.com``.
        token: Personal access token (connection ``password``); never in ``repr``.
    """

    base_url: str
    token: str = field(repr=False)
    conn_id: str = DEFAULT_CONN_ID
    page_size: int = MAX_PAGE_SIZE

    @classmethod
    def from_connection(cls, conn: Any, **overrides: Any) -> CalendlySettings:
        """Build settings from any object with Airflow ``Connection`` attributes.

        Args:
            conn: Object with ``host`` (base URL) and ``password`` (token).
            overrides: ``conn_id``, ``page_size`` (capped at 100), ``max_attempts``,
                ``backoff_cap``, ``concurrency``, ``max_rps`` (:meth:`HttpSettings.common`; ``None``
                keeps the default).

        Raises:
            webinar_dwh.http.ConfigurationError: host or password missing.
        """
        common = HttpSettings.common(
            conn,
            default_conn_id=DEFAULT_CONN_ID,
            default_page_size=MAX_PAGE_SIZE,
            max_page_size=MAX_PAGE_SIZE,
            **overrides,
        )
        cid = common["conn_id"]
        return cls(
            base_url=base_url_of(conn, cid, f"base URL, e.g. {DEFAULT_BASE_URL}"),
            token=connection_field(conn, "password", cid, "the Calendly personal access token"),
            **common,
        )
