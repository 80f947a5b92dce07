"""Zoom API v2 client: webinars, their past instances, registrants and participant reports."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from webinar_dwh.http import ApiError, ApiSession, AuthError, RetryPolicy
from webinar_dwh.sources._common import count_skip
from webinar_dwh.sources.zoom.auth import ZoomOAuth
from webinar_dwh.sources.zoom.pagination import token_pages
from webinar_dwh.sources.zoom.settings import ZoomSettings

log = logging.getLogger(__name__)

#: Zoom error codes meaning "skip this webinar's data": 3001 no such webinar/report, 3161 not licensed.
SKIP_CODES: frozenset[int] = frozenset({3001, 3161})
#: Zoom error codes meaning the app lacks scopes: fail, naming the connection.
SCOPE_CODES: frozenset[int] = frozenset({4700, 4711})


class SkippedError(Exception):
    """Zoom answered a skip code (3001/3161) for a webinar; already logged and counted."""


def encode_uuid(uuid: str) -> str:
    """Encode a webinar instance UUID for use in a URL path.

    Zoom requires UUIDs that start with ``/`` or contain ``//`` to be URL-encoded twice; all
    others are encoded once (``/``, ``+``, ``=`` included).
    """
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def _code(exc: ApiError) -> int | None:
    code = exc.vendor_code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return code if isinstance(code, int) else None


class ZoomClient:
    """Client over Zoom API v2 with Server-to-Server OAuth.

    Args:
        settings: Connection and paging settings.
        sleep: Sleep function for retry waits (tests inject a recorder).
        retry: Retry policy; defaults to ``settings.max_attempts`` attempts.
        clock: Monotonic clock (seconds) deciding token expiry; tests inject a fake one.

    Attributes:
        skipped: Webinar-level skips by ``"<endpoint>:<code>"`` (e.g. ``"participants:3161"``).
    """

    vendor = "Zoom"

    def __init__(
        self,
        settings: ZoomSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        policy = retry or RetryPolicy(max_attempts=settings.max_attempts, backoff_max=settings.backoff_cap)
        self.auth = ZoomOAuth.for_credentials(
            settings.oauth_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            account_id=settings.account_id,
            conn_id=settings.conn_id,
            clock=clock,
            timeout=settings.timeout,
            retry=policy,
            sleep=sleep,
        )
        self.session = ApiSession(
            settings.base_url,
            vendor=self.vendor,
            conn_id=settings.conn_id,
            auth=self.auth,
            timeout=settings.timeout,
            retry=policy,
            sleep=sleep,
            secrets=(settings.client_secret,),
            credential_name="the access token",
            limiter=settings.limiter(),
        )
        self.skipped: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"ZoomClient({self.settings!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def webinar_pages(self) -> Iterator[list[Any]]:
        """Pages of ``GET /users/{user_id}/webinars`` (``webinars``)."""
        path = f"users/{quote(self.settings.user_id, safe='')}/webinars"
        yield from self._pages(path, {}, "webinars", "webinars")

    def instances(self, webinar_id: int | str) -> list[Any]:
        """Past occurrences of a webinar: ``GET /past_webinars/{id}/instances`` (``webinars``).

        Each entry (``uuid``, ``start_time``) is one held occurrence. A webinar that has not
        been held yet answers 3001; that is returned as an empty list (not counted as a skip).
        """
        try:
            body = self._call(f"past_webinars/{quote(str(webinar_id), safe='')}/instances")
        except SkippedError:
            return []
        items = body.get("webinars", []) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ApiError(f"Zoom instances of {webinar_id}: 'webinars' is not a list", vendor="Zoom")
        return items

    def registrant_pages(self, webinar_id: int | str) -> Iterator[list[Any]]:
        """Pages of ``GET /webinars/{id}/registrants?status=approved`` (``registrants``).

        Raises:
            SkippedError: Zoom answered 3001/3161 (logged, counted in :attr:`skipped`).
        """
        path = f"webinars/{quote(str(webinar_id), safe='')}/registrants"
        yield from self._pages(path, {"status": "approved"}, "registrants", "registrants", webinar_id)

    def participant_pages(self, instance_uuid: str, webinar_id: int | str) -> Iterator[list[Any]]:
        """Pages of ``GET /report/webinars/{uuid}/participants`` for one occurrence.

        Every rejoin is a separate participant row. The UUID is encoded by :func:`encode_uuid`.

        Raises:
            SkippedError: Zoom answered 3001/3161 (logged, counted in :attr:`skipped`).
        """
        path = f"report/webinars/{encode_uuid(instance_uuid)}/participants"
        yield from self._pages(path, {}, "participants", "participants", webinar_id)

    # -- helpers ------------------------------------------------------------------------------------

    def _pages(
        self, path: str, params: dict[str, Any], items_key: str, endpoint: str, webinar_id: Any = None
    ) -> Iterator[list[Any]]:
        query = {**params, "page_size": self.settings.page_size}
        try:
            yield from token_pages(self.session, path, query, items_key=items_key, what=endpoint)
        except ApiError as exc:
            raise self._classify(exc, endpoint, webinar_id) from None

    def _call(self, path: str) -> Any:
        try:
            return self.session.get_json(path)
        except ApiError as exc:
            raise self._classify(exc, "instances", None, count=False) from None

    def _classify(self, exc: ApiError, endpoint: str, webinar_id: Any, *, count: bool = True) -> Exception:
        code = _code(exc)
        if isinstance(exc, AuthError):
            return exc
        if code in SCOPE_CODES:
            return AuthError(
                f"Zoom app lacks a scope for {endpoint} (code {code}): add the scope to the app of "
                f"Airflow connection '{self.settings.conn_id}'",
                vendor="Zoom",
                status=exc.status,
                body=exc.body,
                path=exc.path,
            )
        if code in SKIP_CODES:
            if count:
                count_skip(self, f"{endpoint}:{code}")
                log.warning("Zoom %s of webinar %s skipped: %s", endpoint, webinar_id, exc)
            return SkippedError(str(exc))
        return exc
