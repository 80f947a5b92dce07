"""BigMarker: envelope, both pagination parameters, the repeated-last-page quirk, filters and errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox.helpers import BM_KEY

pytestmark = pytest.mark.sandbox


def _get(http: requests.Session, sb: Any, path: str, **params: Any) -> requests.Response:
    return http.get(sb.urls["bigmarker"] + path, params=params, headers=BM_KEY)


def test_conferences_envelope_and_pagination(http: requests.Session, sandbox: Any) -> None:
    first = _get(http, sandbox, "/conferences", type="all", start_time=0, page=1, per_page=40).json()
    assert set(first) == {"conferences", "current_page", "per_page", "total_pages", "total_entries"}
    total, pages = first["total_entries"], first["total_pages"]
    assert pages == -(-total // 40) and total > 100
    seen = []
    for page in range(1, pages + 1):
        body = _get(http, sandbox, "/conferences", type="all", start_time=0, page=page, per_page=40).json()
        assert body["current_page"] == page
        seen += [c["id"] for c in body["conferences"]]
    assert len(seen) == len(set(seen)) == total
    conf = first["conferences"][0]
    for field in (
        "id",
        "title",
        "type",
        "language",
        "start_time",
        "end_time",
        "duration",
        "time_zone",
        "channel_id",
        "master_webinar_id",
        "webinar_stats",
        "created_at",
    ):
        assert field in conf


def test_page_beyond_the_end_repeats_the_last_page(http: requests.Session, sandbox: Any) -> None:
    last = _get(http, sandbox, "/conferences", type="all", start_time=0, page=3, per_page=50).json()
    assert last["total_pages"] == 3
    beyond = _get(http, sandbox, "/conferences", type="all", start_time=0, page=9, per_page=50).json()
    assert beyond["conferences"] == last["conferences"] and beyond["conferences"]
    assert beyond["current_page"] == 9


def test_start_time_filter_is_a_lower_bound(http: requests.Session, sandbox: Any) -> None:
    cut = sandbox.universe.conferences[50].start_ts
    body = _get(http, sandbox, "/conferences", type="all", start_time=cut, per_page=1000).json()
    ids = {
        c.id
        for c in sandbox.universe.conferences
        if c.start_ts >= cut and c.created_ts <= sandbox.universe.anchor_ts
    }
    assert {c["id"] for c in body["conferences"]} == ids


def test_registrations_page_with_page_attendees_with_current_page(
    http: requests.Session, sandbox: Any
) -> None:
    conf = next(
        c for c in sandbox.universe.conferences if c.n_regs > 120 and c.end_ts < sandbox.universe.anchor_ts
    )
    regs = []
    for path in (
        f"/conferences/registrations/{conf.id}",
        f"/conferences/registrations_with_fields/{conf.id}",
    ):
        body = _get(http, sandbox, path, page=2, per_page=50).json()
        assert body["current_page"] == 2 and len(body["registrations"]) == 50
        regs.append(body["registrations"])
    assert regs[0] == regs[1] and "custom_fields" in regs[1][0]

    p1 = _get(http, sandbox, f"/conferences/{conf.id}/attendees", current_page=1, per_page=20).json()
    p2 = _get(http, sandbox, f"/conferences/{conf.id}/attendees", current_page=2, per_page=20).json()
    assert p1["attendees"] != p2["attendees"] and p2["current_page"] == 2
    # `page` is not this endpoint's parameter: a client using it gets page 1 forever.
    wrong = _get(http, sandbox, f"/conferences/{conf.id}/attendees", page=2, per_page=20).json()
    assert wrong["attendees"] == p1["attendees"]


def test_errors(http: requests.Session, sandbox: Any) -> None:
    bad_key = http.get(sandbox.urls["bigmarker"] + "/conferences", headers={"API-KEY": "nope"})
    assert bad_key.status_code == 401 and bad_key.json() == {"error": "Unauthorized"}
    missing = _get(http, sandbox, "/conferences/registrations/doesnotexist")
    assert missing.status_code == 404 and missing.json() == {"error": "conference_not_found"}
    wrong_path = _get(http, sandbox, "/conference")
    assert wrong_path.status_code == 404 and wrong_path.headers["Content-Type"].startswith("text/html")
    assert "<html" in wrong_path.text
