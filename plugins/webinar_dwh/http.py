"""Shared HTTP session for the vendor clients: timeouts, bounded retries, clear errors.

Every vendor client (``webinar_dwh.sources.<vendor>``) talks HTTP through :class:`ApiSession`, so
retry, back-off and error semantics are implemented exactly once:

* **Retried** (bounded by :attr:`RetryPolicy.max_attempts`, default 6 attempts in total): HTTP 429,
  every 5xx, connection errors and timeouts.
* **Wait before a retry**: the server's wait wins — ``Retry-After`` (seconds, an HTTP date, an ISO
  8601 timestamp or a Unix timestamp) or ``X-RateLimit-Reset`` (seconds until the window resets,
  Calendly; a Unix timestamp is also understood). Without one: exponential back-off
  ``base * 2**(retry-1)`` seconds with jitter in ``[50 %, 100 %]`` of that value. Every single wait
  is capped at :attr:`RetryPolicy.max_wait` seconds.
* **Fail fast**: 401/403 raise :class:`AuthError` naming the Airflow connection to fix; 404 raises
  :class:`NotFoundError` carrying the parsed vendor error body; other 4xx raise
  :class:`ClientError`; a non-JSON answer raises :class:`ApiError` saying the base URL is probably
  wrong.

Secrets never appear in log lines or exception messages: the session knows the secrets it was
given (``secrets=``) and redacts them from any vendor text it quotes.

**Threads**: one :class:`ApiSession` may be used by several worker threads at once
(:mod:`webinar_dwh.concurrency`): each thread gets its own ``requests.Session`` (keep-alive
connections per worker, no shared connection pool — ``requests`` does not promise that a session
is thread-safe), the counters are updated under a lock, and an optional
:class:`~webinar_dwh.concurrency.AdaptiveLimiter` shared by every thread gates each attempt (rate,
requests in flight) and turns a 429 into a pause of every worker.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from webinar_dwh.concurrency import AdaptiveLimiter

log = logging.getLogger(__name__)

#: Unix timestamps are larger than this; smaller numbers in a wait header are seconds.
_EPOCH_THRESHOLD = 1_000_000_000
_BODY_QUOTE_CHARS = 200


class ApiError(Exception):
    """An HTTP call to a vendor failed for good.

    Attributes:
        vendor: Vendor display name, e.g. ``"BigMarker"``.
        status: HTTP status, or ``None`` when no answer arrived (connection error).
        body: The parsed JSON error body when the vendor sent one, else ``None``.
        path: Request path (no host, no query string) for orientation.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        status: int | None = None,
        body: Any = None,
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status
        self.body = body
        self.path = path

    @property
    def vendor_code(self) -> int | str | None:
        """The vendor's own error code from the body (Zoom ``code``), if any."""
        if isinstance(self.body, Mapping):
            code = self.body.get("code")
            if isinstance(code, int | str):
                return code
        return None


class AuthError(ApiError):
    """Credentials were rejected (HTTP 401/403 or a vendor scope error): fix the named connection."""


class NotFoundError(ApiError):
    """HTTP 404; :attr:`body` holds the vendor's parsed error (e.g. ``conference_not_found``)."""


class ClientError(ApiError):
    """Any other 4xx answer (bad request, unprocessable entity, vendor-specific refusals)."""


class NotJsonError(ApiError):
    """A non-5xx answer that is not JSON (an HTML page): the base URL is wrong, not a transient fault."""


class RetryExhaustedError(ApiError):
    """429/5xx/connection errors persisted through every allowed attempt."""


class ConfigurationError(ValueError):
    """A vendor connection lacks a field or has an invalid one; the message names the connection."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_attempts: Attempts per request in total (first try included); ``1`` disables retries.
        backoff_base: Seconds of the first back-off step when the server gives no wait.
        backoff_max: Upper bound (seconds) of the exponential back-off before jitter.
        max_wait: Cap (seconds) on any single wait, including a server-requested one.
    """

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")


@dataclass(slots=True)
class SessionStats:
    """Counters of one :class:`ApiSession`, for logs and metrics.

    Attributes:
        requests: HTTP attempts sent (retries included).
        retries: Attempts that were retried.
        retries_by_cause: Retries per cause: ``"429"``, ``"5xx"``, ``"connection"``, ``"auth-refresh"``.
        waited_seconds: Total seconds slept before retries.
    """

    requests: int = 0
    retries: int = 0
    retries_by_cause: Counter[str] = field(default_factory=Counter)
    waited_seconds: float = 0.0


class RefreshableAuth(AuthBase):
    """An auth hook whose credential can be renewed once after a 401 (e.g. an OAuth token)."""

    def invalidate(self) -> None:  # pragma: no cover - interface
        """Forget the cached credential so the next request obtains a new one."""
        raise NotImplementedError


class HeaderAuth(AuthBase):
    """Sets one header to a fixed secret value (``API-KEY: <key>``, ``Authorization: Bearer <t>``).

    The secret is not part of ``repr``.
    """

    def __init__(self, header: str, value: str) -> None:
        self._header = header
        self._value = value

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[self._header] = self._value
        return r

    def __repr__(self) -> str:
        return f"HeaderAuth({self._header!r}, <redacted>)"


def parse_wait_header(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After``/``X-RateLimit-Reset`` header value.

    Args:
        value: Header value: delay in seconds (``"3"``, ``"1.5"``), a Unix timestamp in seconds,
            an HTTP date (``"Wed, 21 Oct 2015 07:28:00 GMT"``) or an ISO 8601 timestamp.
        now: Current Unix time in seconds (injectable for tests); defaults to ``time.time()``.

    Returns:
        Seconds to wait (never negative), or ``None`` when the value is absent or unparseable.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    current = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number != number:  # NaN
            return None
        if number > _EPOCH_THRESHOLD:
            return max(0.0, number - current)
        return max(0.0, number)
    moment: datetime | None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - current)


class ApiSession:
    """A ``requests.Session`` bound to one vendor base URL, with retries and vendor-aware errors.

    Args:
        base_url: Base URL incl. scheme and path prefix (``https://www.bigmarker.com/api/v1``).
            Relative paths are appended to it; absolute URLs (next-page links) are used as given
            but only if they share the base URL's scheme and host, so credentials never leave it.
        vendor: Display name used in messages (``"BigMarker"``).
        conn_id: Airflow connection id named in configuration/auth errors.
        auth: Auth hook applied to every request (``HeaderAuth``, an OAuth hook, ``HTTPBasicAuth``).
            A :class:`RefreshableAuth` gets one ``invalidate()`` + retry after a 401.
        timeout: ``(connect, read)`` timeouts in seconds.
        retry: Retry policy.
        sleep: Sleep function (seconds); tests inject a recorder.
        rng: Random source for the jitter.
        secrets: Values to redact from any text the session quotes in errors or logs.
        credential_name: How a 401 message names the credential (``"the API key"``).
        session: An existing ``requests.Session`` to use in the creating thread (else a new
            one); every other thread that sends through this object gets a session of its own.
        limiter: Shared gate of every request (pacing, requests in flight, pause after a 429);
            ``None``: requests go out as soon as they are made (the sequential default).
    """

    def __init__(
        self,
        base_url: str,
        *,
        vendor: str,
        conn_id: str,
        auth: AuthBase | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        secrets: Iterable[str | None] = (),
        credential_name: str = "the API key",
        session: requests.Session | None = None,
        limiter: AdaptiveLimiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.vendor = vendor
        self.conn_id = conn_id
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.stats = SessionStats()
        self._auth = auth
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._secrets = tuple(s for s in secrets if s)
        self._credential_name = credential_name
        self.limiter = limiter
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._session = self._adopt(session or requests.Session())
        self._local.session = self._session
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.netloc)

    def __repr__(self) -> str:
        return f"ApiSession(vendor={self.vendor!r}, base_url={self.base_url!r}, conn_id={self.conn_id!r})"

    def __enter__(self) -> ApiSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections (of every thread's session)."""
        with self._lock:
            sessions, self._sessions = self._sessions, [self._session]
        for session in sessions:
            session.close()

    def _adopt(self, session: requests.Session) -> requests.Session:
        session.headers.update({"Accept": "application/json", "User-Agent": "webinar-dwh/0.1"})
        with self._lock:
            self._sessions.append(session)
        return session

    def _http(self) -> requests.Session:
        """This thread's ``requests.Session`` (created on its first request)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._adopt(requests.Session())
        return session

    def _count(self, *, requests_sent: int = 0, cause: str | None = None, waited: float = 0.0) -> None:
        with self._lock:
            self.stats.requests += requests_sent
            if cause is not None:
                self.stats.retries += 1
                self.stats.retries_by_cause[cause] += 1
            self.stats.waited_seconds += waited

    # -- public calls ---------------------------------------------------------------------------

    def url_for(self, path_or_url: str) -> str:
        """Absolute URL for a path relative to the base URL (or a same-origin absolute URL).

        Raises:
            ApiError: an absolute URL points to another scheme/host than the base URL.
        """
        if not path_or_url:
            return self.base_url
        if "://" not in path_or_url:
            return f"{self.base_url}/{path_or_url.lstrip('/')}"
        parts = urlsplit(path_or_url)
        if (parts.scheme, parts.netloc) != self._origin:
            raise ApiError(
                f"{self.vendor} returned a link to another host ({parts.scheme}://{parts.netloc}); "
                f"refusing to send credentials there (check Airflow connection '{self.conn_id}')",
                vendor=self.vendor,
            )
        return path_or_url

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode a JSON answer (retrying per the policy).

        Raises:
            AuthError, NotFoundError, ClientError, RetryExhaustedError, ApiError: see module doc.
        """
        return self.json_of(self.request("GET", path_or_url, params=params))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send a request with retries; return the successful (2xx/3xx) response.

        Raises:
            AuthError: 401/403 (after one credential refresh for a :class:`RefreshableAuth`).
            NotFoundError: 404 with a JSON body.
            ClientError: other 4xx with a JSON body.
            RetryExhaustedError: 429/5xx/connection errors on every attempt.
            ApiError: an error answer that is not JSON (wrong base URL).
        """
        url = self.url_for(path_or_url)
        path = urlsplit(url).path
        refreshed = False
        attempt = 0
        limiter = self.limiter
        while True:
            attempt += 1
            if limiter is not None:
                limiter.acquire()
            self._count(requests_sent=1)
            try:
                response = self._http().request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=dict(headers or {}),
                    auth=self._auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if limiter is not None:
                    limiter.release(success=False)
                cause, status, wait = "connection", None, None
                detail = type(exc).__name__
            except BaseException:
                if limiter is not None:
                    limiter.release(success=False)
                raise
            else:
                status = response.status_code
                if limiter is not None:
                    limiter.release(success=status < 400)
                if status < 400:
                    return response
                if status == 401 and isinstance(self._auth, RefreshableAuth) and not refreshed:
                    refreshed = True
                    self._auth.invalidate()
                    self._count(cause="auth-refresh")
                    log.info("%s %s %s: HTTP 401, refreshing the token once", self.vendor, method, path)
                    attempt -= 1  # a token refresh does not use up a retry attempt
                    continue
                if status in (401, 403):
                    raise self._auth_error(response, path)
                if status == 429:
                    cause, wait = "429", self._server_wait(response)
                elif status >= 500:
                    cause, wait = "5xx", self._server_wait(response)
                else:
                    raise self._client_error(response, path)
                detail = f"HTTP {status}"
            if attempt >= self.retry.max_attempts:
                raise RetryExhaustedError(
                    f"{self.vendor} {method} {path} failed after {attempt} attempts (last: {detail})",
                    vendor=self.vendor,
                    status=status,
                    path=path,
                )
            delay = self._delay(attempt, wait)
            self._count(cause=cause, waited=delay)
            if limiter is not None and cause == "429":
                limiter.throttle(delay)  # every worker pauses, fewer requests in flight
            log.warning(
                "%s %s %s: %s, retry %d/%d in %.2f s (%s)",
                self.vendor,
                method,
                path,
                detail,
                attempt,
                self.retry.max_attempts - 1,
                delay,
                "server wait" if wait is not None else "backoff",
            )
            self._sleep(delay)

    def json_of(self, response: requests.Response) -> Any:
        """Decode a response body as JSON, or raise an :class:`ApiError` blaming the base URL."""
        try:
            return response.json()
        except ValueError:
            raise self._not_json(response, urlsplit(response.url).path) from None

    # -- helpers ----------------------------------------------------------------------------------

    def _delay(self, attempt: int, server_wait: float | None) -> float:
        if server_wait is not None:
            return min(server_wait, self.retry.max_wait)
        step = min(self.retry.backoff_max, self.retry.backoff_base * 2 ** (attempt - 1))
        return min(step * (0.5 + self._rng.random() / 2), self.retry.max_wait)

    @staticmethod
    def _server_wait(response: requests.Response) -> float | None:
        wait = parse_wait_header(response.headers.get("Retry-After"))
        if wait is None and response.status_code == 429:
            wait = parse_wait_header(response.headers.get("X-RateLimit-Reset"))
        return wait

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``<redacted>``."""
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def _body(self, response: requests.Response) -> tuple[Any, bool]:
        try:
            return response.json(), True
        except ValueError:
            return None, False

    def _vendor_message(self, body: Any) -> str:
        if isinstance(body, Mapping):
            parts = [str(body[k]) for k in ("code", "error", "title", "message", "reason") if body.get(k)]
            text = ": ".join(parts)
        else:
            text = str(body) if body is not None else ""
        return self.redact(text[:_BODY_QUOTE_CHARS])

    def _auth_error(self, response: requests.Response, path: str) -> AuthError:
        body, _ = self._body(response)
        what = self._credential_name if response.status_code == 401 else "access"
        vendor_msg = self._vendor_message(body)
        return AuthError(
            f"{self.vendor} rejected {what} (HTTP {response.status_code}"
            + (f", {vendor_msg}" if vendor_msg else "")
            + f") on {path}: check Airflow connection '{self.conn_id}'",
            vendor=self.vendor,
            status=response.status_code,
            body=body,
            path=path,
        )

    def _client_error(self, response: requests.Response, path: str) -> ApiError:
        body, is_json = self._body(response)
        if not is_json:
            return self._not_json(response, path)
        kind = NotFoundError if response.status_code == 404 else ClientError
        return kind(
            f"{self.vendor} answered HTTP {response.status_code} on {path}: {self._vendor_message(body)}",
            vendor=self.vendor,
            status=response.status_code,
            body=body,
            path=path,
        )

    def _not_json(self, response: requests.Response, path: str) -> ApiError:
        ctype = response.headers.get("Content-Type", "unknown content type").split(";")[0]
        # an HTML 5xx is a proxy in trouble (transient); any other HTML answer, a wrong base URL
        error_type = ApiError if response.status_code >= 500 else NotJsonError
        return error_type(
            f"{self.vendor} answered HTTP {response.status_code} with {ctype}, not JSON, on {path}: "
            f"the base URL is probably wrong (check the host of Airflow connection '{self.conn_id}', "
            f"now {self.base_url})",
            vendor=self.vendor,
            status=response.status_code,
            path=path,
        )
