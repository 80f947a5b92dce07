"""The fake BigMarker, Calendly and Zoom APIs as a real HTTP/1.1 server on 127.0.0.1.

This module is the server and its request plumbing (route table, authentication, faults,
stats); each vendor's endpoints live in ``sandbox/api/<vendor>.py`` behind its ``ROUTES``.

Routes (``{base}`` = ``http://127.0.0.1:<port>``):

BigMarker ``{base}/bigmarker/api/v1`` — header ``API-KEY``
    ``GET /conferences?type=all&start_time=<unix s>&page=&per_page=`` (conferences starting at/after
    ``start_time``, ordered by start; ``per_page`` ≤ 1000; a page beyond ``total_pages`` repeats the
    last page), ``GET /conferences/registrations/{id}?page=&per_page=`` (and
    ``/conferences/registrations_with_fields/{id}``),
    ``GET /conferences/{id}/attendees?current_page=&per_page=`` (the page parameter is
    ``current_page``; ``page`` is ignored). Errors ``{"error": ...}``; unknown paths answer an HTML
    404 page.
Calendly ``{base}/calendly`` — ``Authorization: Bearer``
    ``GET /users/me``, ``GET /scheduled_events`` (``organization`` or ``user`` required;
    ``min_start_time`` inclusive, ``max_start_time`` exclusive; ``count`` ≤ 100; ``page_token``),
    ``GET /scheduled_events/{uuid}``, ``GET /scheduled_events/{uuid}/invitees``. ``next_page`` is a full
    URL on this server. Errors ``{"title","message","details"}``.
Zoom ``{base}/zoom/oauth/token`` (Basic auth, ``grant_type=account_credentials``) and ``{base}/zoom/v2``
    ``GET /users/{userId}/webinars``, ``GET /webinars/{id}/registrants?status=approved``,
    ``GET /past_webinars/{id}/instances``, ``GET /report/webinars/{id|uuid}/participants``;
    ``page_size`` (default 30, max 300) + ``next_page_token`` (``""`` on the last page, expires after
    ``zoom_page_token_ttl`` → 400/300). UUIDs with ``/`` must arrive double URL-encoded (the raw path is
    read: single-encoded → 404/3001). A numeric id in the report returns only the last instance.
Admin ``{base}/_sandbox/...`` (never used by production clients)
    ``GET|POST /config``, ``GET /truth``, ``GET /stats``, ``POST /stats/reset``, ``GET /health``.

Faults (see :class:`sandbox.config.Faults`) are applied after authentication: the vendors' rate
limits (``rate_limit``: real 429s in each vendor's format), 429 / 5xx per (request line,
attempt), malformed records per record key, schema drift, 2099 start times. Every vendor request
waits ``latency_ms`` (+ a deterministic jitter) before its answer, and counts in the vendor's peak
request rate (``GET /_sandbox/stats``: ``peak_rps``).
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from sandbox.api import VENDOR_APIS, BigMarkerApi, CalendlyApi, ControlApi, ZoomApi, stats_dict
from sandbox.api.core import (
    HOSTILE_TITLES,
    HTML_404,
    ZOOM_USER_EMAIL,
    ZOOM_USER_ID,
    ApiError,
    Json,
    State,
    VendorApi,
    encode,
)
from sandbox.config import SandboxConfig, apply_changes, parse_datetime
from sandbox.faults import latency_seconds, request_fault
from sandbox.generator import Universe
from sandbox.truth import compute_truth

__all__ = [
    "HOSTILE_TITLES",
    "HTML_404",
    "ZOOM_USER_EMAIL",
    "ZOOM_USER_ID",
    "ApiError",
    "SandboxServer",
    "stats_dict",
]

_VENDORS: dict[str, type[VendorApi]] = {api.NAME: api for api in VENDOR_APIS}


class _Handler(BigMarkerApi, CalendlyApi, ZoomApi, ControlApi, BaseHTTPRequestHandler):
    """One request: the route table of the vendors (``sandbox.api``), their authentication, the
    fault switches, the stats; the answers themselves are the vendor classes' methods."""

    protocol_version = "HTTP/1.1"
    server_version = "SandboxVendorAPI/1.0"
    sys_version = ""
    state: State  # set per server class

    # ------------------------------------------------------------------ plumbing
    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _send(
        self,
        status: int,
        body: Json | list[Any] | bytes,
        headers: dict[str, str] | None = None,
        ctype: str = "text/html; charset=utf-8",
    ) -> None:
        if isinstance(body, bytes):
            data = body
        else:
            data = encode(body)
            ctype = "application/json; charset=utf-8"
        lines = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(data)}",
            f"Date: {formatdate(usegmt=True)}",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        st = self.state
        raw_path, _, query = self.path.partition("?")
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if raw_path.startswith("/_sandbox/"):
            try:
                self._admin(method, raw_path[len("/_sandbox/") :], params)
            except ApiError as err:
                self._send(err.status, err.body, err.headers)
            return
        vendor, endpoint, handler = self._route(method, raw_path)
        headers: dict[str, str] | None = None
        faults = st.config.faults
        if vendor in _VENDORS:
            st.throttle.arrive(vendor, time.monotonic(), faults.peak_window_s)
        try:
            if handler is None:
                raise ApiError(404, HTML_404)
            self._authenticate(vendor, endpoint)
            self._enforce_rate_limit(vendor, endpoint)
            self._inject_fault(vendor, endpoint, method)
            status, body = 200, handler(params)
        except ApiError as err:
            status, body, headers = err.status, err.body, err.headers
        except Exception as exc:  # a sandbox bug must not look like a vendor answer
            status, body = 500, {"sandbox_error": f"{type(exc).__name__}: {exc}"}
        with st.lock:  # counted before answering, so a client that reads the stats next sees this request
            st.stats[(vendor, endpoint, status)] += 1
        if vendor in _VENDORS:
            delay = latency_seconds(
                st.config.seed, f"{method} {self.path}", faults.latency_ms, faults.latency_jitter_ms
            )
            if delay:
                time.sleep(delay)
        self._send(status, body, headers)

    # ------------------------------------------------------------------ routing
    def _route(self, method: str, path: str) -> tuple[str, str, Callable[[dict[str, str]], Json] | None]:
        for api in VENDOR_APIS:
            for r in api.ROUTES:
                if r.method == method and (m := r.pattern.fullmatch(path)):
                    return api.NAME, r.endpoint or m.group(1), partial(r.call, self, m)
            if method == "GET" and path.startswith(api.PREFIX + "/"):
                return api.NAME, "not_found", None
        return "unknown", "not_found", None

    # ------------------------------------------------------------------ auth and faults
    def _authenticate(self, vendor: str, endpoint: str) -> None:
        _VENDORS[vendor].authenticate(self, endpoint)  # type: ignore[attr-defined]

    def _enforce_rate_limit(self, vendor: str, endpoint: str) -> None:
        faults = self.state.config.faults
        if not faults.rate_limit or endpoint == "oauth_token":
            return
        api = _VENDORS[vendor]
        bucket = api.rate_bucket(faults, endpoint)  # type: ignore[attr-defined]
        now = time.time()
        wait = self.state.throttle.admit(vendor, bucket, now)
        if wait is not None:
            # whole seconds in the headers, rounded up: a client that honours them is never early
            raise api.too_many_requests(  # type: ignore[attr-defined]
                max(1, math.ceil(wait)), endpoint, bucket.limit, reset_at=now + wait
            )

    def _inject_fault(self, vendor: str, endpoint: str, method: str) -> None:
        st = self.state
        faults = st.config.faults
        if vendor not in faults.fault_vendors or endpoint == "oauth_token":
            return
        if faults.rate_429 <= 0 and faults.rate_5xx <= 0:
            return
        line = f"{method} {self.path}"
        with st.lock:
            st.attempts[line] += 1
            attempt = st.attempts[line]
        status = request_fault(st.config.seed, line, attempt, faults.rate_429, faults.rate_5xx)
        if status is None:
            return
        wait = max(0, int(faults.retry_after_seconds))
        api = _VENDORS[vendor]
        if status == 429:
            raise api.too_many_requests(wait, endpoint)  # type: ignore[attr-defined]
        if status == 502:
            raise ApiError(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
        text = "Internal Server Error" if status == 500 else "Service Unavailable"
        body = api.server_error(status, text)  # type: ignore[attr-defined]
        raise ApiError(status, body, {"Retry-After": str(wait)} if status == 503 else None)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SandboxServer:
    """The sandbox in a background thread; a context manager.

    Example::

        with SandboxServer(SandboxConfig(seed=7)) as sb:
            requests.get(sb.urls["bigmarker"] + "/conferences", headers={"API-KEY": "sandbox-bigmarker-key"})
    """

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SandboxConfig()
        self._host, self._port = host, port
        self._state = State(self.config)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def universe(self) -> Universe:
        """The generated universe behind the APIs."""
        return self._state.universe

    def start(self) -> SandboxServer:
        """Bind (port 0 → a free port) and serve in a daemon thread; idempotent."""
        if self._httpd is not None:
            return self
        handler = type("SandboxHandler", (_Handler,), {"state": self._state})
        self._httpd = _HTTPServer((self._host, self._port), handler)
        host, port = self._httpd.server_address[:2]
        self._state.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` is called from elsewhere (CLI use)."""
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(0.5)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (only while started)."""
        if not self._state.base_url:
            raise RuntimeError("the sandbox server is not started")
        return self._state.base_url

    @property
    def urls(self) -> dict[str, str]:
        """Base URLs: ``bigmarker``, ``calendly``, ``zoom``, ``zoom_oauth`` (and ``admin``)."""
        base = self.base_url
        return {
            "bigmarker": f"{base}/bigmarker/api/v1",
            "calendly": f"{base}/calendly",
            "zoom": f"{base}/zoom/v2",
            "zoom_oauth": f"{base}/zoom/oauth/token",
            "admin": f"{base}/_sandbox",
        }

    def configure(self, **changes: Any) -> None:
        """Change ``as_of``, ``timezone`` or fault switches at runtime (see ``sandbox.config.Faults``)."""
        with self._state.lock:
            apply_changes(self.config, changes)

    def truth(self, as_of: datetime | str | None = None, timezone: str | None = None, **window: Any) -> Json:
        """Ground truth at ``as_of`` (default: the server's clock) under the current faults."""
        return compute_truth(
            self.universe,
            parse_datetime(as_of) if as_of else self.config.as_of,
            self.config.faults,
            timezone or self.config.timezone,
            **window,
        )

    def stats(self) -> Json:
        """Request counts by vendor / endpoint / status (admin requests excluded)."""
        return stats_dict(self._state)

    def reset_stats(self) -> None:
        """Zero the request counters (and the per-request fault attempt counters)."""
        with self._state.lock:
            self._state.stats.clear()
            self._state.attempts.clear()
        self._state.throttle.reset()
