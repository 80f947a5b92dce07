"""Fault switches: 429 with each vendor's headers, 5xx, malformed records, drift, 2099 dates, stats."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from sandbox.faults import DRIFT_FIELD, SURPRISE_FIELD, malformation
from tests.sandbox.helpers import BM_KEY, CAL_AUTH, intact, zoom_token

pytestmark = pytest.mark.sandbox


def _statuses(http: requests.Session, sb: Any, n: int) -> list[int]:
    return [
        http.get(
            sb.urls["bigmarker"] + "/conferences", params={"per_page": 1, "page": i}, headers=BM_KEY
        ).status_code
        for i in range(n)
    ]


def test_429_share_is_deterministic_and_retries_get_fresh_chances(
    http: requests.Session, sandbox_server: Any
) -> None:
    first = _statuses(http, sandbox_server(rate_429=0.3, retry_after_seconds=0), 200)
    again = _statuses(http, sandbox_server(rate_429=0.3, retry_after_seconds=0), 200)
    assert first == again
    assert set(first) == {200, 429} and 0.2 < first.count(429) / 200 < 0.4
    sb = sandbox_server(rate_429=0.5, retry_after_seconds=0)
    url = sb.urls["bigmarker"] + "/conferences"
    tries = 0
    while http.get(url, headers=BM_KEY).status_code == 429:  # the same request line eventually passes
        tries += 1
    assert tries < 20
    assert sb.stats()["requests"] == [
        {"vendor": "bigmarker", "endpoint": "conferences", "status": s, "count": n}
        for s, n in ((200, 1), (429, tries))
        if n
    ]


def test_429_headers_per_vendor(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(rate_429=1.0, retry_after_seconds=1)
    bm = http.get(sb.urls["bigmarker"] + "/conferences", headers=BM_KEY)
    assert bm.status_code == 429 and bm.headers["Retry-After"] == "1"
    cal = http.get(sb.urls["calendly"] + "/users/me", headers=CAL_AUTH)
    assert cal.status_code == 429 and cal.headers["X-RateLimit-Remaining"] == "0"
    assert cal.headers["X-RateLimit-Reset"] == "1" and cal.headers["X-RateLimit-Limit"]
    zoom = http.get(sb.urls["zoom"] + "/users/me/webinars", headers=zoom_token(http, sb))  # OAuth is exempt
    assert zoom.status_code == 429 and zoom.json()["code"] == 429
    assert parsedate_to_datetime(zoom.headers["Retry-After"]).tzinfo is not None  # an HTTP date
    assert zoom.headers["X-RateLimit-Category"] and zoom.headers["X-RateLimit-Type"]


def test_5xx_have_bodies(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(rate_5xx=1.0)
    codes = set()
    for i in range(30):
        resp = http.get(sb.urls["bigmarker"] + "/conferences", params={"page": i}, headers=BM_KEY)
        codes.add(resp.status_code)
        assert resp.content
    assert codes == {500, 502, 503}
    sb.configure(fault_vendors=("zoom",))  # faults can be scoped to one vendor
    assert http.get(sb.urls["bigmarker"] + "/conferences", headers=BM_KEY).status_code == 200


def test_malformed_records_are_the_predicted_ones(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(malformed_rate=0.2)
    conf = next(c for c in sb.universe.conferences if c.n_regs > 200 and c.end_ts < sb.universe.anchor_ts)
    regs = http.get(
        f"{sb.urls['bigmarker']}/conferences/registrations/{conf.id}",
        params={"per_page": 1000},
        headers=BM_KEY,
    ).json()["registrations"]
    children = sb.universe.bigmarker_children(conf)
    served = dict(zip([f"{conf.id}:{r['bmid']}" for r in children.registrations], regs, strict=False))
    kinds = set()
    for key, record in served.items():
        kind = malformation(sb.config.seed, "bigmarker_registrations", key, 0.2)
        assert intact(record, "bigmarker_registrations") == (kind is None), record
        kinds.add(kind)
    assert kinds == {None, "missing_key", "wrong_type", "bad_timestamp"}
    broken = [k for k in served if malformation(sb.config.seed, "bigmarker_registrations", k, 0.2)]
    share = len(broken) / len(served)
    assert 0.1 < share < 0.3


def test_drift_adds_a_field_to_every_record(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(drift_new_field=True)
    confs = http.get(sb.urls["bigmarker"] + "/conferences", params={"per_page": 5}, headers=BM_KEY).json()
    assert all(DRIFT_FIELD in c for c in confs["conferences"])
    ev = sb.universe.calendly_events[0].uuid
    invs = http.get(f"{sb.urls['calendly']}/scheduled_events/{ev}/invitees", headers=CAL_AUTH).json()
    assert all(DRIFT_FIELD in i for i in invs["collection"])


def test_surprises_serve_unseen_vendor_values_deterministically_and_the_truth_buckets_them(
    http: requests.Session, sandbox_server: Any
) -> None:
    def conferences(sb: Any) -> list[dict[str, Any]]:
        url = sb.urls["bigmarker"] + "/conferences"
        return http.get(url, params={"per_page": 1000}, headers=BM_KEY).json()["conferences"]

    sb = sandbox_server(surprises=True)
    served = conferences(sb)
    assert served == conferences(sandbox_server(surprises=True))  # deterministic
    surprised = [c for c in served if SURPRISE_FIELD in c]
    assert 0.1 < len(surprised) / len(served) < 0.3
    languages = [c["language"] for c in surprised]
    assert "ru" in languages and " EN-us " in languages and None in languages
    assert {"code": "FR", "name": "Français"} in languages
    assert {"hybrid_summit", None, " Webcast "} <= {c["type"] for c in surprised}
    assert "Atlantis Standard Time" in {c["time_zone"] for c in surprised}
    assert any(isinstance((c.get("webinar_stats") or {}).get("registrants"), dict) for c in surprised)
    # every conference is still served, the others untouched
    plain = {c["id"]: c for c in conferences(sandbox_server())}
    assert set(plain) == {c["id"] for c in served}
    assert all(c == plain[c["id"]] for c in served if SURPRISE_FIELD not in c)

    # Calendly: unseen statuses only on active invitees, other spellings on both
    statuses = set()
    for ev in sb.universe.calendly_events[:40]:
        url = f"{sb.urls['calendly']}/scheduled_events/{ev.uuid}/invitees"
        statuses |= {i["status"] for i in http.get(url, headers=CAL_AUTH).json()["collection"]}
    assert {"awaiting_payment", " Active ", "CANCELED", "cancelled"} & statuses
    assert statuses <= {"active", "canceled", "awaiting_payment", " Active ", "CANCELED", "cancelled"}

    # the truth: 'ru' is 'other' where the seed gives no language; the counts do not change
    truth = {w["webinar_id"]: w for w in sb.truth()["webinars"]}
    base = {w["webinar_id"]: w for w in sandbox_server().truth()["webinars"]}
    assert "other" in {truth[c["id"]]["language"] for c in surprised if c["language"] == "ru"}
    assert {w: (t["registered"], t["attended"]) for w, t in truth.items()} == {
        w: (t["registered"], t["attended"]) for w, t in base.items()
    }


def test_bad_webinar_dates(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(bad_webinar_dates=True)
    confs = http.get(sb.urls["bigmarker"] + "/conferences", params={"per_page": 1000}, headers=BM_KEY).json()
    in_2099 = [c for c in confs["conferences"] if c["start_time"].startswith("2099")]
    assert len(in_2099) == 3
    truth = {w["webinar_id"]: w for w in sb.truth()["webinars"]}
    assert all(truth[c["id"]]["webinar_date"].startswith("2099") for c in in_2099)


def test_stats_count_and_reset(http: requests.Session, sandbox: Any) -> None:
    http.get(sandbox.urls["bigmarker"] + "/conferences", headers={"API-KEY": "bad"})
    http.get(sandbox.base_url + "/_sandbox/health")  # admin calls are not counted
    stats = http.get(sandbox.base_url + "/_sandbox/stats").json()
    assert stats["total"] == 1 and stats["requests"][0]["status"] == 401
    assert http.post(sandbox.base_url + "/_sandbox/stats/reset").status_code == 200
    assert sandbox.stats()["total"] == 0
