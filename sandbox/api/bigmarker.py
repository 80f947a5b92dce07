"""The fake BigMarker API (``/bigmarker/api/v1``, header ``API-KEY``): conferences, their
registrations, attendees and on-demand viewers; errors ``{"error": ...}``, unknown paths an HTML
404 page."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import unquote

from sandbox.api.core import (
    HOSTILE_TITLES,
    ApiError,
    Json,
    VendorApi,
    int_param,
    route,
)
from sandbox.config import Faults
from sandbox.faults import shift_to_2099
from sandbox.generator import (
    Conference,
    iso_local,
    iso_z,
)
from sandbox.throttle import RateBucket


class BigMarkerApi(VendorApi):
    NAME = "bigmarker"
    PREFIX = "/bigmarker/api/v1"
    ROUTES = (
        route("GET", PREFIX + r"/conferences", "conferences", lambda api, m, p: api._bm_conferences(p)),
        route(
            "GET",
            PREFIX + r"/conferences/(registrations|registrations_with_fields)/([^/]+)",
            None,
            lambda api, m, p: api._bm_registrations(unquote(m.group(2)), p),
        ),
        route(
            "GET",
            PREFIX + r"/conferences/([^/]+)/attendees",
            "attendees",
            lambda api, m, p: api._bm_attendees(unquote(m.group(1)), p),
        ),
        route(
            "GET",
            PREFIX + r"/reporting/conferences/on_demand_attendees/([^/]+)",
            "on_demand_attendees",
            lambda api, m, p: api._bm_on_demand(unquote(m.group(1)), p),
        ),
    )

    def authenticate(self, endpoint: str) -> None:
        if self.headers.get("API-KEY") != self.state.config.credentials.bigmarker_api_key:
            raise ApiError(401, {"error": "Unauthorized"})

    @staticmethod
    def too_many_requests(
        wait: int, endpoint: str, limit: int | None = None, reset_at: float | None = None
    ) -> ApiError:
        return ApiError(429, {"error": "Too Many Requests"}, {"Retry-After": str(wait)})

    @staticmethod
    def rate_bucket(faults: Faults, endpoint: str) -> RateBucket:
        """One configurable cap for every endpoint (BigMarker documents none)."""
        return RateBucket("bigmarker", faults.bigmarker_rate_limit, faults.bigmarker_rate_window_s)

    @staticmethod
    def server_error(status: int, text: str) -> Json:
        return {"error": text}

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
        start = int_param(params, "start_time", 0)
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
        page = int_param(params, "page", 1)
        chunk, per_page, total_pages = self._bm_page(confs, page, int_param(params, "per_page", 25))
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
        conf = self._bm_conference(conf_id)
        children = self.state.universe.bigmarker_children(conf)
        return self._bm_listing(
            "registrations", "bigmarker_registrations", conf, "bmid", "page",
            children.registrations, children.registered_ts, params,
        )

    def _bm_listing(
        self,
        envelope: str,
        entity: str,
        conf: Conference,
        id_field: str,
        page_param: str,
        items: list[Json],
        visible_from: list[int] | None,
        params: dict[str, str],
    ) -> Json:
        """One page of a conference's child listing: the items the clock has reached
        (``visible_from``: when each becomes visible), keyed ``<conference id>:<id_field>``."""
        now = self._now
        if visible_from is not None:
            items = [item for item, ts in zip(items, visible_from, strict=True) if ts <= now]
        page = int_param(params, page_param, 1)
        chunk, per_page, total_pages = self._bm_page(items, page, int_param(params, "per_page", 25))
        return {
            envelope: [self._record(entity, f"{conf.id}:{item[id_field]}", item) for item in chunk],
            "current_page": page,
            "per_page": per_page,
            "total_pages": total_pages,
            "total_entries": len(items),
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
        return self._bm_listing(
            "attendees", "bigmarker_attendees", conf, "id", "current_page", atts, None, params
        )

    def _bm_on_demand(self, conf_id: str, params: dict[str, str]) -> Json:
        """``/reporting/conferences/on_demand_attendees/{id}``: the recording's viewers so far,
        as the reporting API serves them (``current_page``, envelope ``attendees``, numbers as
        strings, ``BMID`` and ``attended?`` spelled as the vendor spells them)."""
        conf = self._bm_conference(conf_id)
        children = self.state.universe.bigmarker_children(conf)
        return self._bm_listing(
            "attendees", "bigmarker_on_demand_attendees", conf, "id", "current_page",
            children.on_demand, children.on_demand_ts, params,
        )
