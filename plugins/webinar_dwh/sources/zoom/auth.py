"""Zoom Server-to-Server OAuth: an auth hook that fetches, caches and renews the access token."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from webinar_dwh.http import ApiError, ApiSession, AuthError, RefreshableAuth

log = logging.getLogger(__name__)

#: Renew this many seconds before the announced expiry (at most a tenth of the lifetime).
EXPIRY_MARGIN_SECONDS = 60.0


class ZoomOAuth(RefreshableAuth):
    """``Authorization: Bearer <token>`` from ``POST <oauth_url>?grant_type=account_credentials``.

    The token is cached until ``min(60 s, expires_in / 10)`` before its announced expiry and then
    fetched again. :class:`~webinar_dwh.http.ApiSession` calls :meth:`invalidate` once after a 401
    (token revoked or expired early) and retries; a second 401 is an ``AuthError``.

    Args:
        token_session: Session whose base URL is the token endpoint, with Basic auth
            ``client_id:client_secret``.
        account_id: Zoom account id.
        conn_id: Airflow connection id named in errors.
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        token_session: ApiSession,
        *,
        account_id: str,
        conn_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = token_session
        self._account_id = account_id
        self._conn_id = conn_id
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        #: Tokens fetched so far (first one included).
        self.tokens_fetched = 0

    @classmethod
    def for_credentials(
        cls,
        oauth_url: str,
        *,
        client_id: str,
        client_secret: str,
        account_id: str,
        conn_id: str,
        clock: Callable[[], float] = time.monotonic,
        **session_kwargs: Any,
    ) -> ZoomOAuth:
        """An auth hook with its own token session (Basic auth, retries as configured)."""
        token_session = ApiSession(
            oauth_url,
            vendor="Zoom OAuth",
            conn_id=conn_id,
            auth=HTTPBasicAuth(client_id, client_secret),
            secrets=(client_secret,),
            credential_name="the client id/secret",
            **session_kwargs,
        )
        return cls(token_session, account_id=account_id, conn_id=conn_id, clock=clock)

    def __repr__(self) -> str:
        return f"ZoomOAuth(conn_id={self._conn_id!r}, token=<redacted>)"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token()}"
        return r

    def invalidate(self) -> None:
        """Forget the cached token; the next request fetches a new one."""
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def token(self) -> str:
        """The cached access token, fetched anew when missing or about to expire.

        Raises:
            AuthError: the token endpoint rejected the credentials (names the connection).
            ApiError: the token endpoint answered without an ``access_token``.
        """
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        params = {"grant_type": "account_credentials", "account_id": self._account_id}
        try:
            body = self._session.json_of(self._session.request("POST", "", params=params))
        except AuthError:
            raise
        except ApiError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                raise AuthError(
                    f"Zoom OAuth rejected the client credentials or account id (HTTP {exc.status}): "
                    f"check Airflow connection '{self._conn_id}'",
                    vendor="Zoom",
                    status=exc.status,
                    body=exc.body,
                ) from None
            raise
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError(
                f"Zoom OAuth answered without an access_token: check Airflow connection '{self._conn_id}'",
                vendor="Zoom",
            )
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3599.0
        self._token = token
        self._expires_at = self._clock() + lifetime - min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
        self.tokens_fetched += 1
        log.info("Zoom OAuth: new access token (valid %.0f s)", lifetime)
