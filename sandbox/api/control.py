"""The sandbox's own control endpoints (``/_sandbox/...``; never used by production clients):
``GET|POST /config``, ``GET /truth``, ``GET /stats``, ``POST /stats/reset``, ``GET /health``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sandbox.api.core import (
    HTML_404,
    ApiError,
    Json,
    State,
    VendorApi,
)
from sandbox.config import apply_changes, parse_datetime
from sandbox.generator import (
    iso_z,
)
from sandbox.truth import compute_truth, truth_csv_text


class ControlApi(VendorApi):
    NAME = "_sandbox"
    PREFIX = "/_sandbox"

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, ctype: str = "") -> None:
        raise NotImplementedError

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
            st.throttle.reset()
            self._send(200, {"status": "reset"})
        else:
            raise ApiError(404, HTML_404)


def stats_dict(st: State) -> Json:
    """Request counts: total, by vendor, and one row per (vendor, endpoint, status); the peak
    request rate per vendor (``peak_rps``: the most requests, 429s included, seen in any sliding
    window of ``peak_window_s`` seconds, divided by it) and the requests refused by the
    ``rate_limit`` switch (``rate_limited``)."""
    with st.lock:
        items = sorted(st.stats.items())
    by_vendor: Counter[str] = Counter()
    for (vendor, _endpoint, _status), n in items:
        by_vendor[vendor] += n
    window = st.config.faults.peak_window_s
    peak = dict(st.throttle.peak)
    return {
        "total": sum(by_vendor.values()),
        "by_vendor": dict(by_vendor),
        "requests": [{"vendor": v, "endpoint": e, "status": s, "count": n} for (v, e, s), n in items],
        "peak_window_s": window,
        "peak_requests": peak,
        "peak_rps": {vendor: n / window for vendor, n in peak.items()},
        "rate_limited": dict(st.throttle.limited),
    }
