"""The clock: as_of reveals late registrations, cancellations, attendance and Zoom instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.generator import iso_z
from tests.sandbox.helpers import BM_KEY, CAL_AUTH, zoom_token

pytestmark = pytest.mark.sandbox


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def test_one_more_day_reveals_late_registrations_and_attendance(http: requests.Session, sandbox: Any) -> None:
    uni = sandbox.universe
    conf = next(
        c
        for c in uni.conferences
        if c.n_regs > 100 and c.start_ts < uni.anchor_ts - 30 * 86_400 and c.type == "live_webinar"
    )
    before = _at(conf.start_ts - 3600)
    sandbox.configure(as_of=before.isoformat())
    regs_url = f"{sandbox.urls['bigmarker']}/conferences/registrations/{conf.id}"
    atts_url = f"{sandbox.urls['bigmarker']}/conferences/{conf.id}/attendees"
    early = http.get(regs_url, params={"per_page": 1000}, headers=BM_KEY).json()
    assert http.get(atts_url, headers=BM_KEY).json()["attendees"] == []
    assert all(r["registered_at"] <= iso_z(before.timestamp()) for r in early["registrations"])

    sandbox.configure(as_of=(before + timedelta(days=1)).isoformat())
    late = http.get(regs_url, params={"per_page": 1000}, headers=BM_KEY).json()
    assert late["total_entries"] > early["total_entries"]
    assert http.get(atts_url, headers=BM_KEY).json()["total_entries"] > 0
    assert http.get(sandbox.base_url + "/_sandbox/config").json()["as_of"] == iso_z(
        before.timestamp() + 86_400
    )


def test_conferences_appear_once_created(http: requests.Session, sandbox: Any) -> None:
    conf = sandbox.universe.conferences[40]
    sandbox.configure(as_of=_at(conf.created_ts - 1))
    assert (
        http.get(
            f"{sandbox.urls['bigmarker']}/conferences/registrations/{conf.id}", headers=BM_KEY
        ).status_code
        == 404
    )
    sandbox.configure(as_of=_at(conf.created_ts))
    assert (
        http.get(
            f"{sandbox.urls['bigmarker']}/conferences/registrations/{conf.id}", headers=BM_KEY
        ).status_code
        == 200
    )


def test_cancellation_visible_only_after_it_happened(http: requests.Session, sandbox: Any) -> None:
    uni = sandbox.universe
    ev, inv = next((e, i) for e in uni.calendly_events for i in uni.calendly_invitees(e) if i.canceled_ts)
    url = f"{sandbox.urls['calendly']}/scheduled_events/{ev.uuid}/invitees"

    def status_at(ts: int) -> str | None:
        sandbox.configure(as_of=_at(ts))
        rows = http.get(url, params={"count": 100}, headers=CAL_AUTH).json()["collection"]
        return next((r["status"] for r in rows if r["uri"].endswith(inv.uuid)), None)

    assert status_at(inv.created_ts - 1) is None
    assert status_at(inv.canceled_ts - 1) == "active"
    assert status_at(inv.canceled_ts) == "canceled"


def test_zoom_instances_appear_once_ended(http: requests.Session, sandbox: Any) -> None:
    uni = sandbox.universe
    series = next(w for w in uni.zoom_webinars if len(w.occurrences) > 1)
    second = uni.zoom_occurrences[series.occurrences[1]]
    headers = zoom_token(http, sandbox)
    url = f"{sandbox.urls['zoom']}/past_webinars/{series.id}/instances"
    sandbox.configure(as_of=_at(second.end_ts - 1))
    assert len(http.get(url, headers=headers).json()["webinars"]) == 1
    sandbox.configure(as_of=_at(second.end_ts))
    assert len(http.get(url, headers=headers).json()["webinars"]) == 2
