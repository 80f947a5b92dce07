"""The fake Zoom API v2: ``/zoom/oauth/token`` (Server-to-Server OAuth, Basic auth) and
``/zoom/v2`` (Bearer token): webinars, registrants, past instances and the participants report;
``page_size`` + ``next_page_token``; double URL-encoded UUIDs."""

from __future__ import annotations

import base64
import binascii
import math
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, unquote

from sandbox.api.core import (
    ZOOM_USER_EMAIL,
    ZOOM_USER_ID,
    ApiError,
    Json,
    VendorApi,
    int_param,
    route,
)
from sandbox.config import Faults
from sandbox.generator import (
    LANGUAGE_NAMES,
    iso_z,
    zoom_uuid,
)
from sandbox.throttle import RateBucket

#: Zoom's rate-limit category of each endpoint the sandbox serves (Zoom's API reference: the
#: report endpoints are "Heavy", listings and registrants "Medium").
ZOOM_CATEGORIES: dict[str, str] = {
    "webinars": "Medium",
    "registrants": "Medium",
    "instances": "Medium",
    "participants": "Heavy",
}


class ZoomApi(VendorApi):
    NAME = "zoom"
    PREFIX = "/zoom/v2"
    ROUTES = (
        route("POST", r"/zoom/oauth/token", "oauth_token", lambda api, m, p: api._zoom_oauth(p)),
        route(
            "GET",
            PREFIX + r"/users/([^/]+)/webinars",
            "webinars",
            lambda api, m, p: api._zoom_webinars(unquote(m.group(1)), p),
        ),
        route(
            "GET",
            PREFIX + r"/webinars/([^/]+)/registrants",
            "registrants",
            lambda api, m, p: api._zoom_registrants(m.group(1), p),
        ),
        route(
            "GET",
            PREFIX + r"/past_webinars/([^/]+)/instances",
            "instances",
            lambda api, m, p: api._zoom_instances(m.group(1)),
        ),
        route(
            "GET",
            PREFIX + r"/report/webinars/(.+)/participants",
            "participants",
            lambda api, m, p: api._zoom_participants(m.group(1), p),
        ),
    )

    def authenticate(self, endpoint: str) -> None:
        if endpoint == "oauth_token":
            return
        header = self.headers.get("Authorization") or ""
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.state.lock:
            expires = self.state.zoom_tokens.get(token)
        if expires is None or expires <= time.monotonic():
            raise ApiError(401, {"code": 124, "message": "Invalid access token."})

    @staticmethod
    def too_many_requests(
        wait: int, endpoint: str, limit: int | None = None, reset_at: float | None = None
    ) -> ApiError:
        return ApiError(
            429,
            {
                "code": 429,
                "message": "You have reached the maximum per-second rate limit "
                "for this API. Try again later.",
            },
            {
                # an HTTP date has whole seconds: a known reset is rounded up, never early
                "Retry-After": formatdate(
                    math.ceil(reset_at) if reset_at is not None else time.time() + wait, usegmt=True
                ),
                "X-RateLimit-Category": ZOOM_CATEGORIES.get(endpoint, "Medium"),
                "X-RateLimit-Type": "QPS",
            },
        )

    @staticmethod
    def rate_bucket(faults: Faults, endpoint: str) -> RateBucket:
        """Per second and per category (``ZOOM_CATEGORIES``), as Zoom documents it."""
        category = ZOOM_CATEGORIES.get(endpoint, "Medium")
        limit = {"Light": faults.zoom_rate_light, "Medium": faults.zoom_rate_medium}.get(
            category, faults.zoom_rate_heavy
        )
        return RateBucket(f"zoom:{category.lower()}", limit, 1.0)

    @staticmethod
    def server_error(status: int, text: str) -> Json:
        return {"code": status, "message": text}

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
        size = max(1, min(int_param(params, "page_size", 30), 300))
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
