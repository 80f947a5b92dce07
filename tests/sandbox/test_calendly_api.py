"""Calendly: users/me, cursor pagination with full next_page URLs, filters and error shapes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox.helpers import CAL_AUTH

pytestmark = pytest.mark.sandbox


def _org(http: requests.Session, sb: Any) -> str:
    return http.get(sb.urls["calendly"] + "/users/me", headers=CAL_AUTH).json()["resource"][
        "current_organization"
    ]


def test_events_follow_next_page_urls(http: requests.Session, sandbox: Any) -> None:
    org = _org(http, sandbox)
    assert org.startswith(sandbox.urls["calendly"] + "/organizations/")
    url: str | None = sandbox.urls["calendly"] + "/scheduled_events"
    params: dict[str, Any] | None = {"organization": org, "count": 4, "sort": "start_time:asc"}
    events = []
    while url:
        body = http.get(url, params=params, headers=CAL_AUTH).json()
        assert set(body["pagination"]) == {
            "count",
            "next_page",
            "previous_page",
            "next_page_token",
            "previous_page_token",
        }
        events += body["collection"]
        url, params = body["pagination"]["next_page"], None
        assert url is None or url.startswith(sandbox.base_url)
    assert len(events) == len(sandbox.universe.calendly_events)
    starts = [e["start_time"] for e in events]
    assert starts == sorted(starts)
    assert all(e["uri"].startswith(sandbox.urls["calendly"] + "/scheduled_events/") for e in events)
    assert sum(e["location"].get("join_url") is None for e in events) >= 3


def test_time_window_and_single_event(http: requests.Session, sandbox: Any) -> None:
    evs = sorted(sandbox.universe.calendly_events, key=lambda e: e.start_ts)
    lo, hi = evs[2], evs[5]
    from sandbox.generator import iso_micro_z

    body = http.get(
        sandbox.urls["calendly"] + "/scheduled_events",
        headers=CAL_AUTH,
        params={
            "organization": _org(http, sandbox),
            "min_start_time": iso_micro_z(lo.start_ts),
            "max_start_time": iso_micro_z(hi.start_ts),
            "count": 100,
        },
    ).json()
    assert [e["uri"].rsplit("/", 1)[1] for e in body["collection"]] == [e.uuid for e in evs[2:5]]
    one = http.get(f"{sandbox.urls['calendly']}/scheduled_events/{lo.uuid}", headers=CAL_AUTH).json()
    assert one["resource"]["uri"].endswith(lo.uuid)


def test_invitees_paginate_and_filter_by_status(http: requests.Session, sandbox: Any) -> None:
    ev = sandbox.universe.calendly_events[0]
    url: str | None = f"{sandbox.urls['calendly']}/scheduled_events/{ev.uuid}/invitees?count=25"
    invitees = []
    while url:
        body = http.get(url, headers=CAL_AUTH).json()
        invitees += body["collection"]
        url = body["pagination"]["next_page"]
    assert len(invitees) == len(sandbox.universe.calendly_invitees(ev))
    canceled = http.get(
        f"{sandbox.urls['calendly']}/scheduled_events/{ev.uuid}/invitees",
        params={"status": "canceled", "count": 100},
        headers=CAL_AUTH,
    ).json()["collection"]
    assert canceled and all(i["status"] == "canceled" and i["cancellation"] for i in canceled)
    assert {i["status"] for i in invitees} == {"active", "canceled"}


def test_errors(http: requests.Session, sandbox: Any) -> None:
    base = sandbox.urls["calendly"]
    unauth = http.get(base + "/users/me", headers={"Authorization": "Bearer wrong"})
    assert unauth.status_code == 401 and set(unauth.json()) == {"title", "message", "details"}
    no_org = http.get(base + "/scheduled_events", headers=CAL_AUTH)
    assert no_org.status_code == 400 and no_org.json()["details"][0]["parameter"] == "organization"
    too_many = http.get(
        base + "/scheduled_events",
        params={"organization": _org(http, sandbox), "count": 101},
        headers=CAL_AUTH,
    )
    assert too_many.status_code == 400
    bad_token = http.get(
        base + "/scheduled_events",
        params={"organization": _org(http, sandbox), "page_token": "garbage!"},
        headers=CAL_AUTH,
    )
    assert bad_token.status_code == 400
    missing = http.get(base + "/scheduled_events/00000000-0000-4000-8000-000000000000", headers=CAL_AUTH)
    assert missing.status_code == 404 and missing.json()["title"] == "Resource Not Found"
