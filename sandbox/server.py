"""The fake BigMarker, Calendly and Zoom APIs as a real HTTP/1.1 server on 127.0.0.1.

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

Faults (see :class:`sandbox.config.Faults`) are applied after authentication: 429 / 5xx per
(request line, attempt), malformed records per record key, schema drift, 2099 start times.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from sandbox.config import SandboxConfig, apply_changes, parse_datetime
from sandbox.faults import (
    DRIFT_FIELD,
    DRIFT_VALUE,
    malform,
    malformation,
    request_fault,
    shift_to_2099,
    surprise,
)
from sandbox.generator import (
    LANGUAGE_NAMES,
    LRU,
    CalendlyEvent,
    Conference,
    Invitee,
    Universe,
    iso_local,
    iso_micro_z,
    iso_z,
    zoom_uuid,
)
from sandbox.truth import compute_truth, truth_csv_text

Json = dict[str, Any]

try:  # msgspec is already in the pinned environment (an Airflow dependency) and encodes ~10x faster
    import msgspec

    _encode: Callable[[Any], bytes] = msgspec.json.Encoder().encode
except ImportError:  # pragma: no cover - stdlib fallback

    def _encode(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# Titles a vendor will one day send: SQL and shell metacharacters, quotes, emoji, RTL text, NUL-free.
HOSTILE_TITLES: tuple[str, ...] = (
    "'); drop table x; --",
    'Robert"); DELETE FROM marts.webinar_attendance; -- \\ $(rm -rf /) `id` 🎓',
    "وبینار — Ünïcödé \u2018quotes\u2019 %s %(name)s {{ jinja }}",
)


ZOOM_USER_ID = "sbxZoomHostUser01"
ZOOM_USER_EMAIL = "webinars@sandbox.example"
HTML_404 = (
    b"<!DOCTYPE html><html><head><title>The page you were looking for doesn't exist (404)</title>"
    b"</head><body><h1>404 Not Found</h1><p>The page you were looking for doesn't exist.</p></body></html>"
)


class ApiError(Exception):
    """An error answer: status, JSON body and extra headers."""

    def __init__(self, status: int, body: Json | bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _int(params: dict[str, str], name: str, default: int) -> int:
    try:
        return int(float(params.get(name, default)))
    except ValueError:
        return default


class _State:
    """Mutable server state shared by the handler threads."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.universe = Universe(config.seed, config.scale, config.anchor or config.as_of)
        self.lock = threading.Lock()
        self.stats: Counter[tuple[str, str, int]] = Counter()
        self.attempts: Counter[str] = Counter()
        self.zoom_tokens: dict[str, float] = {}
        self.zoom_token_rng = random.Random(f"{config.seed}:zoom-tokens")
        self.page_tokens: dict[str, tuple[str, int, float]] = {}
        self.visible_cache: LRU[tuple[Any, ...], list[Conference]] = LRU(32)
        self.base_url = ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SandboxVendorAPI/1.0"
    sys_version = ""
    state: _State  # set per server class

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
            data = _encode(body)
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
        try:
            if handler is None:
                raise ApiError(404, HTML_404)
            self._authenticate(vendor, endpoint)
            self._inject_fault(vendor, endpoint, method)
            status, body = 200, handler(params)
        except ApiError as err:
            status, body, headers = err.status, err.body, err.headers
        except Exception as exc:  # a sandbox bug must not look like a vendor answer
            status, body = 500, {"sandbox_error": f"{type(exc).__name__}: {exc}"}
        with st.lock:  # counted before answering, so a client that reads the stats next sees this request
            st.stats[(vendor, endpoint, status)] += 1
        self._send(status, body, headers)

    # ------------------------------------------------------------------ routing
    _BM = "/bigmarker/api/v1"

    def _route(self, method: str, path: str) -> tuple[str, str, Callable[[dict[str, str]], Json] | None]:
        bm, cal, zoom = self._BM, "/calendly", "/zoom/v2"
        if path.startswith(bm + "/") and method == "GET":
            rest = path[len(bm) :]
            if rest == "/conferences":
                return "bigmarker", "conferences", self._bm_conferences
            if m := re.fullmatch(r"/conferences/(registrations|registrations_with_fields)/([^/]+)", rest):
                return "bigmarker", m.group(1), lambda p: self._bm_registrations(unquote(m.group(2)), p)
            if m := re.fullmatch(r"/conferences/([^/]+)/attendees", rest):
                return "bigmarker", "attendees", lambda p: self._bm_attendees(unquote(m.group(1)), p)
            return "bigmarker", "not_found", None
        if path.startswith(cal + "/") and method == "GET":
            rest = path[len(cal) :]
            if rest == "/users/me":
                return "calendly", "users_me", self._cal_me
            if rest == "/scheduled_events":
                return "calendly", "scheduled_events", self._cal_events
            if m := re.fullmatch(r"/scheduled_events/([^/]+)", rest):
                return "calendly", "scheduled_event", lambda p: self._cal_event(m.group(1))
            if m := re.fullmatch(r"/scheduled_events/([^/]+)/invitees", rest):
                return "calendly", "invitees", lambda p: self._cal_invitees(m.group(1), p)
            return "calendly", "not_found", None
        if path == "/zoom/oauth/token" and method == "POST":
            return "zoom", "oauth_token", self._zoom_oauth
        if path.startswith(zoom + "/") and method == "GET":
            rest = path[len(zoom) :]
            if m := re.fullmatch(r"/users/([^/]+)/webinars", rest):
                return "zoom", "webinars", lambda p: self._zoom_webinars(unquote(m.group(1)), p)
            if m := re.fullmatch(r"/webinars/([^/]+)/registrants", rest):
                return "zoom", "registrants", lambda p: self._zoom_registrants(m.group(1), p)
            if m := re.fullmatch(r"/past_webinars/([^/]+)/instances", rest):
                return "zoom", "instances", lambda p: self._zoom_instances(m.group(1))
            if m := re.fullmatch(r"/report/webinars/(.+)/participants", rest):
                return "zoom", "participants", lambda p: self._zoom_participants(m.group(1), p)
            return "zoom", "not_found", None
        return "unknown", "not_found", None

    # ------------------------------------------------------------------ auth and faults
    def _authenticate(self, vendor: str, endpoint: str) -> None:
        creds = self.state.config.credentials
        if vendor == "bigmarker":
            if self.headers.get("API-KEY") != creds.bigmarker_api_key:
                raise ApiError(401, {"error": "Unauthorized"})
        elif vendor == "calendly":
            if self.headers.get("Authorization") != f"Bearer {creds.calendly_token}":
                raise ApiError(
                    401, {"title": "Unauthenticated", "message": "The access token is invalid", "details": []}
                )
        elif vendor == "zoom" and endpoint != "oauth_token":
            header = self.headers.get("Authorization") or ""
            token = header[7:] if header.startswith("Bearer ") else ""
            with self.state.lock:
                expires = self.state.zoom_tokens.get(token)
            if expires is None or expires <= time.monotonic():
                raise ApiError(401, {"code": 124, "message": "Invalid access token."})

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
        if status == 429:
            if vendor == "bigmarker":
                raise ApiError(429, {"error": "Too Many Requests"}, {"Retry-After": str(wait)})
            if vendor == "calendly":
                raise ApiError(
                    429,
                    {
                        "title": "Too Many Requests",
                        "message": "You have exceeded the rate limit.",
                        "details": [],
                    },
                    {
                        "X-RateLimit-Limit": "500",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": str(wait),
                    },
                )
            raise ApiError(
                429,
                {
                    "code": 429,
                    "message": "You have reached the maximum per-second rate limit "
                    "for this API. Try again later.",
                },
                {
                    "Retry-After": formatdate(time.time() + wait, usegmt=True),
                    "X-RateLimit-Category": "Heavy" if endpoint == "participants" else "Medium",
                    "X-RateLimit-Type": "QPS",
                },
            )
        if status == 502:
            raise ApiError(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
        text = "Internal Server Error" if status == 500 else "Service Unavailable"
        body: Json = (
            {"error": text}
            if vendor == "bigmarker"
            else {"title": text, "message": "Please try again later.", "details": []}
            if vendor == "calendly"
            else {"code": status, "message": text}
        )
        raise ApiError(status, body, {"Retry-After": str(wait)} if status == 503 else None)

    def _record(self, entity: str, key: str, payload: Json) -> Json:
        faults = self.state.config.faults
        if faults.surprises:
            patch = surprise(self.state.config.seed, entity, key, payload)
            if patch:
                payload = {**payload, **patch}
        if faults.malformed_rate > 0:
            kind = malformation(self.state.config.seed, entity, key, faults.malformed_rate)
            if kind:
                payload = malform(payload, entity, kind)
        if faults.drift_new_field:
            payload = {**payload, DRIFT_FIELD: DRIFT_VALUE}
        return payload

    @property
    def _now(self) -> int:
        return int(self.state.config.as_of.timestamp())

    # ------------------------------------------------------------------ BigMarker
    def _bm_times(self, conf: Conference) -> tuple[int, int]:
        if self.state.config.faults.bad_webinar_dates and conf.id in self.state.universe.bad_date_ids:
            return shift_to_2099(conf.start_ts), shift_to_2099(conf.end_ts)
        return conf.start_ts, conf.end_ts

    def _bm_conference(self, conf_id: str) -> Conference:
        conf = self.state.universe.conference_by_id.get(conf_id)
        if conf is None or conf.created_ts > self._now:
            raise ApiError(404, {"error": "conference_not_found"})
        return conf

    @staticmethod
    def _bm_page(items: list[Any], page: int, per_page: int) -> tuple[list[Any], int, int]:
        per_page = max(1, min(per_page, 1000))
        total_pages = math.ceil(len(items) / per_page)
        eff = min(max(page, 1), max(total_pages, 1))  # beyond the end: the last page again
        return items[(eff - 1) * per_page : eff * per_page], per_page, total_pages

    def _bm_conferences(self, params: dict[str, str]) -> Json:
        st, now = self.state, self._now
        start = _int(params, "start_time", 0)
        ctype = params.get("type", "all")
        bad = st.config.faults.bad_webinar_dates

        def visible() -> list[Conference]:
            rows = [
                c
                for c in st.universe.conferences
                if c.created_ts <= now
                and (ctype == "all" or c.type == ctype)
                and self._bm_times(c)[0] >= start
            ]
            return sorted(rows, key=lambda c: (self._bm_times(c)[0], c.id))

        confs = st.visible_cache.get((now, start, ctype, bad), visible)
        page = _int(params, "page", 1)
        chunk, per_page, total_pages = self._bm_page(confs, page, _int(params, "per_page", 25))
        return {
            "conferences": [
                self._record("bigmarker_conferences", c.id, self._bm_conference_payload(c)) for c in chunk
            ],
            "current_page": page,
            "per_page": per_page,
            "total_pages": total_pages,
            "total_entries": len(confs),
        }

    def _bm_title(self, c: Conference) -> str:
        """The served title; ``hostile_titles`` swaps in hostile strings for the bad-date trio."""
        if self.state.config.faults.hostile_titles and c.id in self.state.universe.bad_date_ids:
            return HOSTILE_TITLES[sorted(self.state.universe.bad_date_ids).index(c.id) % len(HOSTILE_TITLES)]
        return c.title

    def _bm_conference_payload(self, c: Conference) -> Json:
        start, end = self._bm_times(c)
        ended = c.end_ts <= self._now
        return {
            "id": c.id,
            "title": self._bm_title(c),
            "type": c.type,
            "language": c.language,
            "start_time": iso_local(start, c.rails_zone),
            "end_time": iso_local(end, c.rails_zone),
            "duration": c.duration_min,
            "time_zone": c.rails_zone,
            "channel_id": c.channel_id,
            "master_webinar_id": c.master_webinar_id,
            "tags": [],
            "privacy": "public",
            "conference_address": f"https://www.bigmarker.com/sandbox/{c.id}",
            "webinar_stats": {
                "registrants": c.n_regs,
                "total_attendees": round(c.n_regs * c.show_rate) if ended else 0,
            },
            "created_at": iso_z(c.created_ts),
        }

    def _bm_registrations(self, conf_id: str, params: dict[str, str]) -> Json:
        conf, now = self._bm_conference(conf_id), self._now
        children = self.state.universe.bigmarker_children(conf)
        regs = [r for r, ts in zip(children.registrations, children.registered_ts, strict=True) if ts <= now]
        page = _int(params, "page", 1)
        chunk, per_page, total_pages = self._bm_page(regs, page, _int(params, "per_page", 25))
        return {
            "registrations": [
                self._record("bigmarker_registrations", f"{conf.id}:{r['bmid']}", r) for r in chunk
            ],
            "current_page": page,
            "per_page": per_page,
            "total_pages": total_pages,
            "total_entries": len(regs),
        }

    def _latest_held_ids(self, k: int = 3) -> frozenset[str]:
        """The ``k`` conferences that ended last before the clock (inside any lookback window)."""
        now = self._now
        held = [c for c in self.state.universe.conferences if self._bm_times(c)[1] <= now]
        return frozenset(c.id for c in sorted(held, key=lambda c: c.end_ts)[-k:])

    def _bm_attendees(self, conf_id: str, params: dict[str, str]) -> Json:
        conf = self._bm_conference(conf_id)
        atts = (
            self.state.universe.bigmarker_children(conf).attendees
            if self._bm_times(conf)[1] <= self._now
            else []
        )
        if self.state.config.faults.absurd_durations and conf.id in self._latest_held_ids():
            # a vendor glitch that is valid JSON and passes the contract: hours become days
            atts = [{**a, "total_duration": a["total_duration"] * 1000} for a in atts]
        page = _int(params, "current_page", 1)
        chunk, per_page, total_pages = self._bm_page(atts, page, _int(params, "per_page", 25))
        return {
            "attendees": [self._record("bigmarker_attendees", f"{conf.id}:{a['id']}", a) for a in chunk],
            "current_page": page,
            "per_page": per_page,
            "total_pages": total_pages,
            "total_entries": len(atts),
        }

    # ------------------------------------------------------------------ Calendly
    @property
    def _cal_base(self) -> str:
        return self.state.base_url + "/calendly"

    def _cal_user(self) -> tuple[str, str]:
        seed = self.state.config.seed
        return (
            f"{self._cal_base}/users/{zoom_uuid(seed, 'cal-user')[:16].upper()}",
            f"{self._cal_base}/organizations/{zoom_uuid(seed, 'cal-org')[:16].upper()}",
        )

    @staticmethod
    def _cal_error(status: int, title: str, message: str, details: list[Json] | None = None) -> ApiError:
        return ApiError(status, {"title": title, "message": message, "details": details or []})

    def _cal_me(self, params: dict[str, str]) -> Json:
        user, org = self._cal_user()
        return {
            "resource": {
                "uri": user,
                "name": "Sandbox Admissions",
                "slug": "sandbox-admissions",
                "email": "admissions@sandbox.example",
                "timezone": "Europe/Berlin",
                "scheduling_url": "https://calendly.com/sandbox-admissions",
                "current_organization": org,
                "created_at": "2023-01-10T09:00:00.000000Z",
                "updated_at": "2025-06-01T09:00:00.000000Z",
            }
        }

    def _cal_token(self, offset: int) -> str:
        raw = f"{offset}:{self.state.config.seed}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _cal_offset(self, token: str | None) -> int:
        if not token:
            return 0
        try:
            offset, seed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
            if int(seed) == self.state.config.seed and int(offset) >= 0:
                return int(offset)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            pass
        raise self._cal_error(
            400,
            "Invalid Argument",
            "The supplied parameters are invalid.",
            [{"parameter": "page_token", "message": "is invalid"}],
        )

    def _cal_page(
        self, items: list[Any], params: dict[str, str], path: str, render: Callable[[Any], Json]
    ) -> Json:
        count = _int(params, "count", 20)
        if not 1 <= count <= 100:
            raise self._cal_error(
                400,
                "Invalid Argument",
                "The supplied parameters are invalid.",
                [{"parameter": "count", "message": "must be between 1 and 100"}],
            )
        offset = self._cal_offset(params.get("page_token"))
        chunk = items[offset : offset + count]

        def link(off: int | None) -> tuple[str | None, str | None]:
            if off is None:
                return None, None
            token = self._cal_token(off)
            query = {k: v for k, v in params.items() if k != "page_token"} | {"page_token": token}
            return f"{self._cal_base}{path}?{urlencode(query)}", token

        nxt = link(offset + count if offset + count < len(items) else None)
        prev = link(max(0, offset - count) if offset > 0 else None)
        return {
            "collection": [render(x) for x in chunk],
            "pagination": {
                "count": len(chunk),
                "next_page": nxt[0],
                "previous_page": prev[0],
                "next_page_token": nxt[1],
                "previous_page_token": prev[1],
            },
        }

    def _cal_visible_event(self, event_uuid: str) -> CalendlyEvent:
        ev = self.state.universe.calendly_event_by_uuid.get(event_uuid)
        if ev is None or ev.created_ts > self._now:
            raise self._cal_error(
                404, "Resource Not Found", "The server could not find the requested resource."
            )
        return ev

    def _cal_event_payload(self, ev: CalendlyEvent) -> Json:
        now = self._now
        invitees = [i for i in self.state.universe.calendly_invitees(ev) if i.created_ts <= now]
        active = sum(1 for i in invitees if i.canceled_ts is None or i.canceled_ts > now)
        user, _org = self._cal_user()
        location: Json = (
            {"type": "zoom", "join_url": ev.join_url, "status": "pushed", "data": {}}
            if ev.join_url
            else {"type": "custom", "location": "Online — link follows by e-mail"}
        )
        return self._record(
            "calendly_scheduled_events",
            ev.uuid,
            {
                "uri": f"{self._cal_base}/scheduled_events/{ev.uuid}",
                "name": ev.name,
                "status": "active",
                "start_time": iso_micro_z(ev.start_ts),
                "end_time": iso_micro_z(ev.end_ts),
                "event_type": f"{self._cal_base}/event_types/{ev.event_type_uuid}",
                "location": location,
                "invitees_counter": {"total": len(invitees), "active": active, "limit": 500},
                "created_at": iso_micro_z(ev.created_ts),
                "updated_at": iso_micro_z(max([ev.created_ts] + [i.created_ts for i in invitees])),
                "event_memberships": [{"user": user}],
                "event_guests": [],
            },
        )

    def _cal_events(self, params: dict[str, str]) -> Json:
        user, org = self._cal_user()
        if not params.get("organization") and not params.get("user"):
            raise self._cal_error(
                400,
                "Invalid Argument",
                "The supplied parameters are invalid.",
                [{"parameter": "organization", "message": "organization or user is required"}],
            )
        if params.get("organization", org) != org or params.get("user", user) != user:
            raise self._cal_error(
                403, "Permission Denied", "You do not have permission to access this resource."
            )
        try:
            lo = (
                parse_datetime(params["min_start_time"]).timestamp() if params.get("min_start_time") else None
            )
            hi = (
                parse_datetime(params["max_start_time"]).timestamp() if params.get("max_start_time") else None
            )
        except ValueError as exc:
            raise self._cal_error(
                400,
                "Invalid Argument",
                "The supplied parameters are invalid.",
                [{"parameter": "min_start_time/max_start_time", "message": str(exc)}],
            ) from exc
        status = params.get("status")
        now = self._now
        events = [
            e
            for e in self.state.universe.calendly_events
            if e.created_ts <= now
            and (lo is None or e.start_ts >= lo)
            and (hi is None or e.start_ts < hi)
            and status in (None, "", "active")
        ]
        events.sort(
            key=lambda e: (e.start_ts, e.uuid), reverse=params.get("sort", "start_time:asc").endswith("desc")
        )
        return self._cal_page(events, params, "/scheduled_events", self._cal_event_payload)

    def _cal_event(self, event_uuid: str) -> Json:
        return {"resource": self._cal_event_payload(self._cal_visible_event(event_uuid))}

    def _cal_invitee_payload(self, inv: Invitee) -> Json:
        now, base, events = self._now, self._cal_base, self.state.universe.calendly_events
        canceled = inv.canceled_ts is not None and inv.canceled_ts <= now
        ev_uri = f"{base}/scheduled_events/{events[inv.event_index].uuid}"

        def inv_uri(ref: tuple[int, str] | None) -> str | None:
            return f"{base}/scheduled_events/{events[ref[0]].uuid}/invitees/{ref[1]}" if ref else None

        payload: Json = {
            "uri": f"{ev_uri}/invitees/{inv.uuid}",
            "email": inv.email,
            "name": f"{inv.first_name} {inv.last_name}",
            "first_name": inv.first_name,
            "last_name": inv.last_name,
            "status": "canceled" if canceled else "active",
            "timezone": inv.timezone,
            "event": ev_uri,
            "created_at": iso_micro_z(inv.created_ts),
            "updated_at": iso_micro_z(inv.canceled_ts if canceled and inv.canceled_ts else inv.created_ts),
            "questions_and_answers": [
                {"question": "Which course are you interested in?", "answer": inv.answers[0], "position": 0},
                {"question": "Preferred language", "answer": inv.answers[1], "position": 1},
            ],
            "tracking": {
                "utm_campaign": None,
                "utm_source": "newsletter" if inv.person % 5 == 0 else None,
                "utm_medium": None,
                "utm_content": None,
                "utm_term": None,
                "salesforce_uuid": None,
            },
            "rescheduled": bool(canceled and inv.rescheduled),
            "old_invitee": inv_uri(inv.old_invitee),
            "new_invitee": inv_uri(inv.new_invitee) if canceled else None,
            "cancel_url": f"https://calendly.com/cancellations/{inv.uuid}",
            "reschedule_url": f"https://calendly.com/reschedulings/{inv.uuid}",
            "no_show": None,
            "text_reminder_number": None,
        }
        if canceled:
            payload["cancellation"] = {
                "canceled_by": f"{inv.first_name} {inv.last_name}",
                "reason": "Rescheduled" if inv.rescheduled else "Cannot attend",
                "canceler_type": "invitee",
                "created_at": iso_micro_z(inv.canceled_ts or 0),
            }
        return self._record("calendly_invitees", inv.uuid, payload)

    def _cal_invitees(self, event_uuid: str, params: dict[str, str]) -> Json:
        ev, now = self._cal_visible_event(event_uuid), self._now
        status = params.get("status") or None
        invitees = [i for i in self.state.universe.calendly_invitees(ev) if i.created_ts <= now]
        if status:
            invitees = [
                i
                for i in invitees
                if ("canceled" if i.canceled_ts is not None and i.canceled_ts <= now else "active") == status
            ]
        if params.get("sort", "created_at:asc").endswith("desc"):
            invitees = invitees[::-1]
        return self._cal_page(
            invitees, params, f"/scheduled_events/{event_uuid}/invitees", self._cal_invitee_payload
        )

    # ------------------------------------------------------------------ Zoom
    def _zoom_oauth(self, params: dict[str, str]) -> Json:
        st, creds = self.state, self.state.config.credentials
        # grant_type / account_id may come in the query string (Zoom's docs) or as a form body.
        form = parse_qs(self._read_body().decode("latin-1"))
        params = {**{k: v[0] for k, v in form.items()}, **params}
        header = self.headers.get("Authorization") or ""
        try:
            client, _, secret = (
                base64.b64decode(header[6:]).decode().partition(":")
                if header.startswith("Basic ")
                else ("", "", "")
            )
        except (binascii.Error, UnicodeDecodeError):
            client, secret = "", ""
        if (client, secret) != (creds.zoom_client_id, creds.zoom_client_secret):
            raise ApiError(401, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if params.get("grant_type") != "account_credentials":
            raise ApiError(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        if params.get("account_id") != creds.zoom_account_id:
            raise ApiError(
                400, {"reason": "Invalid request : Account ID is invalid", "error": "invalid_request"}
            )
        ttl = st.config.faults.zoom_token_ttl
        with st.lock:
            token = f"sbx.{st.zoom_token_rng.getrandbits(128):032x}"
            st.zoom_tokens[token] = time.monotonic() + ttl
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": ttl,
            "scope": "webinar:read:admin report:read:admin user:read:admin",
            "api_url": self.state.base_url,
        }

    def _zoom_page(self, key: str, items: list[Any], params: dict[str, str]) -> tuple[list[Any], int, str]:
        st = self.state
        size = max(1, min(_int(params, "page_size", 30), 300))
        token = params.get("next_page_token") or ""
        offset = 0
        if token:
            with st.lock:
                entry = st.page_tokens.get(token)
            if (
                entry is None
                or entry[0] != key
                or time.monotonic() - entry[2] > st.config.faults.zoom_page_token_ttl
            ):
                raise ApiError(400, {"code": 300, "message": "The next page token is invalid or expired."})
            offset = entry[1]
        nxt = ""
        if offset + size < len(items):
            nxt = zoom_uuid(st.config.seed, "page-token", key, offset + size).replace("=", "")[:32]
            with st.lock:
                st.page_tokens[nxt] = (key, offset + size, time.monotonic())
        return items[offset : offset + size], size, nxt

    def _zoom_webinar(self, raw_id: str) -> Any:
        uni = self.state.universe
        try:
            web = uni.zoom_webinar_by_id.get(int(unquote(raw_id)))
        except ValueError:
            web = None
        if web is None or web.created_ts > self._now:
            raise ApiError(404, {"code": 3001, "message": f"Webinar does not exist: {unquote(raw_id)}."})
        return web

    def _zoom_webinars(self, user_id: str, params: dict[str, str]) -> Json:
        if user_id not in ("me", ZOOM_USER_ID, ZOOM_USER_EMAIL):
            raise ApiError(404, {"code": 1001, "message": f"User does not exist: {user_id}."})
        uni, now = self.state.universe, self._now
        webs = sorted(
            (w for w in uni.zoom_webinars if w.created_ts <= now),
            key=lambda w: (uni.zoom_occurrences[w.occurrences[0]].sched_ts, w.id),
        )
        chunk, size, nxt = self._zoom_page(f"webinars:{user_id}", webs, params)
        out = []
        for w in chunk:
            first = uni.zoom_occurrences[w.occurrences[0]]
            out.append(
                self._record(
                    "zoom_webinars",
                    str(w.id),
                    {
                        "uuid": first.uuid,
                        "id": w.id,
                        "host_id": ZOOM_USER_ID,
                        "topic": w.topic,
                        "type": w.type,
                        "start_time": iso_z(first.sched_ts),
                        "duration": w.duration_min,
                        "timezone": w.timezone,
                        "created_at": iso_z(w.created_ts),
                        "join_url": f"https://zoom.us/j/{w.id}",
                        "agenda": "",
                        "is_simulive": False,
                    },
                )
            )
        return {
            "page_size": size,
            "total_records": len(webs),
            "page_count": math.ceil(len(webs) / size),
            "next_page_token": nxt,
            "webinars": out,
        }

    def _zoom_registrants(self, raw_id: str, params: dict[str, str]) -> Json:
        web, now, uni = self._zoom_webinar(raw_id), self._now, self.state.universe
        wanted = params.get("status") or "approved"
        rows = []
        for o_i in web.occurrences:
            e_i = uni.zoom_occurrences[o_i].event_index
            if e_i is None:
                continue
            for inv in uni.calendly_invitees(uni.calendly_events[e_i]):
                if inv.created_ts > now:
                    continue
                status = "denied" if inv.canceled_ts is not None and inv.canceled_ts <= now else "approved"
                if status == wanted:
                    rows.append(inv)
        rows.sort(key=lambda i: (i.created_ts, i.uuid))
        chunk, size, nxt = self._zoom_page(f"registrants:{web.id}:{wanted}", rows, params)
        out = []
        for inv in chunk:
            rid = zoom_uuid(self.state.config.seed, "registrant", inv.uuid)[:22]
            out.append(
                self._record(
                    "zoom_registrants",
                    f"{web.id}:{rid}",
                    {
                        "id": rid,
                        "email": inv.email.strip(),
                        "first_name": inv.first_name,
                        "last_name": inv.last_name,
                        "status": wanted,
                        "create_time": iso_z(inv.created_ts),
                        "join_url": f"https://zoom.us/w/{web.id}?tk={rid}",
                        "custom_questions": [
                            {"title": "Which course are you interested in?", "value": inv.answers[0]},
                            {"title": "Preferred language", "value": inv.answers[1] or LANGUAGE_NAMES["en"]},
                        ],
                    },
                )
            )
        return {
            "page_size": size,
            "total_records": len(rows),
            "page_count": math.ceil(len(rows) / size),
            "next_page_token": nxt,
            "registrants": out,
        }

    def _zoom_instances(self, raw_id: str) -> Json:
        web, now, uni = self._zoom_webinar(raw_id), self._now, self.state.universe
        occs = [uni.zoom_occurrences[i] for i in web.occurrences]
        return {
            "webinars": [
                self._record("zoom_instances", o.uuid, {"uuid": o.uuid, "start_time": iso_z(o.start_ts)})
                for o in sorted(occs, key=lambda o: o.start_ts)
                if o.end_ts <= now
            ]
        }

    def _zoom_participants(self, raw: str, params: dict[str, str]) -> Json:
        st, uni, now = self.state, self.state.universe, self._now
        faults = st.config.faults
        once = unquote(raw)
        not_found = ApiError(
            404, {"code": 3001, "message": "This webinar does not exist or the report is not available."}
        )
        if "/" in once:  # arrived raw or single-encoded: the real API routes it somewhere else
            raise not_found
        ident = unquote(once) if "%" in once else once
        if ident.isdigit():
            web = uni.zoom_webinar_by_id.get(int(ident))
            ended = [uni.zoom_occurrences[i] for i in web.occurrences] if web else []
            ended = sorted((o for o in ended if o.end_ts <= now), key=lambda o: o.start_ts)
            occ = ended[-1] if ended else None  # a numeric id reports only the last occurrence
        else:
            occ = uni.occurrence_by_uuid.get(ident)
            occ = occ if occ is not None and occ.end_ts <= now else None
        if occ is None or occ.webinar_id in faults.zoom_no_report_ids:
            raise not_found
        if faults.zoom_scope_error:
            raise ApiError(
                400,
                {
                    "code": 4711,
                    "message": "Invalid access token, does not contain scopes:"
                    "[report:read:list_webinar_participants:admin].",
                },
            )
        if occ.webinar_id in faults.zoom_not_licensed_ids:
            raise ApiError(
                400, {"code": 3161, "message": "Your account is not licensed to use this feature."}
            )
        rows = uni.zoom_participants(occ)
        chunk, size, nxt = self._zoom_page(f"participants:{occ.uuid}", rows, params)
        return {
            "page_count": math.ceil(len(rows) / size),
            "page_size": size,
            "total_records": len(rows),
            "next_page_token": nxt,
            "participants": [
                self._record("zoom_participants", f"{occ.uuid}:{p['id']}:{p['join_time']}", p) for p in chunk
            ],
        }

    # ------------------------------------------------------------------ admin
    def _admin(self, method: str, what: str, params: dict[str, str]) -> None:
        st = self.state
        if what == "health" and method == "GET":
            self._send(
                200,
                {
                    "status": "ok",
                    "seed": st.config.seed,
                    "scale": st.config.scale,
                    "as_of": iso_z(self._now),
                    "conferences": len(st.universe.conferences),
                },
            )
        elif what == "config" and method == "GET":
            self._send(200, st.config.public_dict())
        elif what == "config" and method == "POST":
            try:
                changes = json.loads(self._read_body() or b"{}")
                with st.lock:
                    apply_changes(st.config, changes)
            except (ValueError, TypeError) as exc:
                raise ApiError(400, {"error": str(exc)}) from exc
            self._send(200, st.config.public_dict())
        elif what == "truth" and method == "GET":
            truth = compute_truth(
                st.universe,
                parse_datetime(params["as_of"]) if params.get("as_of") else st.config.as_of,
                st.config.faults,
                params.get("timezone") or st.config.timezone,
            )
            if params.get("format") == "csv":
                self._send(200, truth_csv_text(truth).encode(), ctype="text/csv; charset=utf-8")
            else:
                self._send(200, truth)
        elif what == "stats" and method == "GET":
            self._send(200, stats_dict(st))
        elif what == "stats/reset" and method == "POST":
            self._read_body()
            with st.lock:
                st.stats.clear()
                st.attempts.clear()
            self._send(200, {"status": "reset"})
        else:
            raise ApiError(404, HTML_404)


def stats_dict(st: _State) -> Json:
    """Request counts: total, by vendor, and one row per (vendor, endpoint, status)."""
    with st.lock:
        items = sorted(st.stats.items())
    by_vendor: Counter[str] = Counter()
    for (vendor, _endpoint, _status), n in items:
        by_vendor[vendor] += n
    return {
        "total": sum(by_vendor.values()),
        "by_vendor": dict(by_vendor),
        "requests": [{"vendor": v, "endpoint": e, "status": s, "count": n} for (v, e, s), n in items],
    }


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
        self._state = _State(self.config)
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
