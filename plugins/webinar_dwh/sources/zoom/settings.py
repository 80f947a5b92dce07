"""Zoom settings, built from the Airflow connection ``zoom_default`` (Server-to-Server OAuth app)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webinar_dwh.http import ConfigurationError
from webinar_dwh.sources._common import HttpSettings, base_url_of, connection_field, extra_of

DEFAULT_CONN_ID = "zoom_default"
DEFAULT_BASE_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
DEFAULT_USER_ID = "me"
#: Zoom's maximum ``page_size``.
MAX_PAGE_SIZE = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoomSettings(HttpSettings):
    """Zoom API v2 settings of a Server-to-Server OAuth app (shared HTTP fields:
    :class:`HttpSettings`; ``page_size`` capped at :data:`MAX_PAGE_SIZE`).

    Attributes:
        base_url: API base (connection ``host``), e.g. ``https://api.zoom.us/v2``.
        client_id: OAuth client id (connection ``login``); not in ``repr``.
        client_secret: OAuth client secret (connection ``password``); never in ``repr``.
        account_id: Zoom account id (``extra.account_id``).
        oauth_url: Token endpoint (``extra.oauth_url``, default :data:`DEFAULT_OAUTH_URL`).
        user_id: Owner of the webinars listed (``extra.user_id``, default ``me``).
    """

    base_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    account_id: str
    oauth_url: str = DEFAULT_OAUTH_URL
    user_id: str = DEFAULT_USER_ID
    conn_id: str = DEFAULT_CONN_ID
    page_size: int = MAX_PAGE_SIZE

    @classmethod
    def from_connection(cls, conn: Any, **overrides: Any) -> ZoomSettings:
        """Build settings from any object with Airflow ``Connection`` attributes.

        Args:
            conn: Object with ``host``, ``login`` (client id), ``password`` (client secret) and
                ``extra_dejson`` (``account_id`` required; ``oauth_url``, ``user_id`` optional).
            overrides: ``conn_id``, ``page_size`` (capped at 300), ``max_attempts``,
                ``backoff_cap``, ``concurrency``, ``max_rps`` (:meth:`HttpSettings.common`; ``None``
                keeps the default).

        Raises:
            webinar_dwh.http.ConfigurationError: a required field is missing.
        """
        common = HttpSettings.common(
            conn,
            default_conn_id=DEFAULT_CONN_ID,
            default_page_size=MAX_PAGE_SIZE,
            max_page_size=MAX_PAGE_SIZE,
            **overrides,
        )
        cid = common["conn_id"]
        extra = extra_of(conn)
        account_id = extra.get("account_id")
        if not isinstance(account_id, str) or not account_id.strip():
            raise ConfigurationError(f"Airflow connection '{cid}' has no extra.account_id (Zoom account id)")
        oauth_url = str(extra.get("oauth_url") or DEFAULT_OAUTH_URL).strip()
        if not oauth_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"Airflow connection '{cid}': extra.oauth_url must be an http(s) URL")
        return cls(
            base_url=base_url_of(conn, cid, f"API base, e.g. {DEFAULT_BASE_URL}"),
            client_id=connection_field(conn, "login", cid, "the Zoom OAuth client id"),
            client_secret=connection_field(conn, "password", cid, "the Zoom OAuth client secret"),
            account_id=account_id.strip(),
            oauth_url=oauth_url,
            user_id=str(extra.get("user_id") or DEFAULT_USER_ID),
            **common,
        )
