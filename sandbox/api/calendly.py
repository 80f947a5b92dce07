"""The fake Calendly API v2 (``/calendly``, ``Authorization: Bearer``): the user, scheduled
events and their invitees; ``next_page`` is a full URL on this server; errors
``{"title", "message", "details"}``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox.api.core import (
    ApiError,
    Json,
    VendorApi,
    int_param,
    route,
)
from sandbox.audience import calendly_channel
from sandbox.config import Faults, parse_datetime
from sandbox.generator import (
    CalendlyEvent,
    Invitee,
    iso_micro_z,
    zoom_uuid,
)
from sandbox.throttle import RateBucket


class CalendlyApi(VendorApi):
    NAME = "calendly"
    PREFIX = "/calendly"
    ROUTES = (
        route("GET", PREFIX + r"/users/me", "users_me", lambda api, m, p: api._cal_me(p)),
        route("GET", PREFIX + r"/scheduled_events", "scheduled_events", lambda api, m, p: api._cal_events(p)),
        route(
            "GET",
            PREFIX + r"/scheduled_events/([^/]+)",
            "scheduled_event",
            lambda api, m, p: api._cal_event(m.group(1)),
        ),
        route(
            "GET",
            PREFIX + r"/scheduled_events/([^/]+)/invitees",
            "invitees",
            lambda api, m, p: api._cal_invitees(m.group(1), p),
        ),
    )

    def authenticate(self, endpoint: str) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.state.config.credentials.calendly_token}":
            raise ApiError(
                401, {"title": "Unauthenticated", "message": "The access token is invalid", "details": []}
            )

    @staticmethod
    def too_many_requests(
        wait: int, endpoint: str, limit: int | None = None, reset_at: float | None = None
    ) -> ApiError:
        return ApiError(
            429,
            {
                "title": "Too Many Requests",
                "message": "You have exceeded the rate limit.",
                "details": [],
            },
            {
                "X-RateLimit-Limit": str(limit or 500),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(wait),
            },
        )

    @staticmethod
    def rate_bucket(faults: Faults, endpoint: str) -> RateBucket:
        """500 requests per user and minute (paid plans), one window for every endpoint."""
        return RateBucket("calendly", faults.calendly_rate_limit, faults.calendly_rate_window_s)

    @staticmethod
    def server_error(status: int, text: str) -> Json:
        return {"title": text, "message": "Please try again later.", "details": []}

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
        count = int_param(params, "count", 20)
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
                "utm_source": None,
                "utm_medium": None,
                "utm_content": None,
                "utm_term": None,
                "salesforce_uuid": None,
                **calendly_channel(self.state.config.seed, inv.uuid)[1],
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
