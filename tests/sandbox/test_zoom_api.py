"""Zoom: OAuth, next_page_token paging and expiry, instances, the double-encoding rule, report errors."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.sandbox.helpers import zoom_token

pytestmark = pytest.mark.sandbox


def _all_pages(http: requests.Session, url: str, key: str, headers: dict[str, str], size: int) -> list[Any]:
    rows, token = [], None
    while True:
        params: dict[str, Any] = {"page_size": size}
        if token:
            params["next_page_token"] = token
        body = http.get(url, params=params, headers=headers).json()
        rows += body[key]
        token = body["next_page_token"]
        if token == "":
            return rows


def test_oauth_and_invalid_tokens(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(zoom_token_ttl=1)
    bad = http.post(
        sb.urls["zoom_oauth"],
        params={"grant_type": "account_credentials", "account_id": "sandbox-account"},
        auth=("x", "y"),
    )
    assert bad.status_code == 401
    body = http.post(
        sb.urls["zoom_oauth"],
        params={"grant_type": "account_credentials", "account_id": "sandbox-account"},
        auth=("sandbox-zoom-client", "sandbox-zoom-secret"),
    ).json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1 and body["access_token"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert http.get(sb.urls["zoom"] + "/users/me/webinars", headers=headers).status_code == 200
    wrong = http.get(sb.urls["zoom"] + "/users/me/webinars", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json() == {"code": 124, "message": "Invalid access token."}
    time.sleep(1.05)
    expired = http.get(sb.urls["zoom"] + "/users/me/webinars", headers=headers)
    assert expired.status_code == 401 and expired.json()["code"] == 124


def test_webinars_paginate_to_empty_token(http: requests.Session, sandbox: Any) -> None:
    headers = zoom_token(http, sandbox)
    webinars = _all_pages(http, sandbox.urls["zoom"] + "/users/me/webinars", "webinars", headers, 3)
    assert sorted(w["id"] for w in webinars) == sorted(w.id for w in sandbox.universe.zoom_webinars)
    default = http.get(sandbox.urls["zoom"] + "/users/me/webinars", headers=headers).json()
    assert default["page_size"] == 30
    capped = http.get(
        sandbox.urls["zoom"] + "/users/me/webinars", params={"page_size": 1000}, headers=headers
    )
    assert capped.json()["page_size"] == 300


def test_page_token_expires(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(zoom_page_token_ttl=0.2)
    headers = zoom_token(http, sb)
    url = sb.urls["zoom"] + "/users/me/webinars"
    token = http.get(url, params={"page_size": 2}, headers=headers).json()["next_page_token"]
    assert (
        http.get(url, params={"page_size": 2, "next_page_token": token}, headers=headers).status_code == 200
    )
    time.sleep(0.3)
    late = http.get(url, params={"page_size": 2, "next_page_token": token}, headers=headers)
    assert late.status_code == 400
    assert late.json() == {"code": 300, "message": "The next page token is invalid or expired."}
    forged = http.get(url, params={"next_page_token": "forged"}, headers=headers)
    assert forged.status_code == 400


def test_registrants_and_instances(http: requests.Session, sandbox: Any) -> None:
    headers = zoom_token(http, sandbox)
    series = next(w for w in sandbox.universe.zoom_webinars if len(w.occurrences) > 1)
    inst = http.get(f"{sandbox.urls['zoom']}/past_webinars/{series.id}/instances", headers=headers).json()
    uuids = [i["uuid"] for i in inst["webinars"]]
    assert len(uuids) == len(series.occurrences) == len(set(uuids))
    regs = _all_pages(
        http,
        f"{sandbox.urls['zoom']}/webinars/{series.id}/registrants?status=approved",
        "registrants",
        headers,
        100,
    )
    assert regs and all(r["status"] == "approved" for r in regs)
    assert (
        http.get(f"{sandbox.urls['zoom']}/webinars/123/registrants", headers=headers).json()["code"] == 3001
    )


def test_numeric_id_reports_only_the_last_instance(http: requests.Session, sandbox: Any) -> None:
    headers = zoom_token(http, sandbox)
    uni = sandbox.universe
    series = next(
        w
        for w in uni.zoom_webinars
        if len(w.occurrences) > 1 and not any("/" in uni.zoom_occurrences[i].uuid for i in w.occurrences)
    )
    last = max((uni.zoom_occurrences[i] for i in series.occurrences), key=lambda o: o.start_ts)
    by_id = _all_pages(
        http, f"{sandbox.urls['zoom']}/report/webinars/{series.id}/participants", "participants", headers, 300
    )
    by_uuid = _all_pages(
        http,
        f"{sandbox.urls['zoom']}/report/webinars/{quote(quote(last.uuid, safe=''), safe='')}/participants",
        "participants",
        headers,
        300,
    )
    assert by_id == by_uuid == uni.zoom_participants(last)
    # Rejoins are separate rows with durations in seconds.
    assert len({p["id"] for p in by_id}) < len(by_id)


def test_double_encoding_rule(http: requests.Session, sandbox: Any) -> None:
    headers = zoom_token(http, sandbox)
    odd = [o.uuid for o in sandbox.universe.zoom_occurrences if "/" in o.uuid]
    assert any(u.startswith("/") for u in odd) and any("//" in u for u in odd)
    for uuid in odd:
        single = quote(uuid, safe="")
        double = quote(single, safe="")
        ok = http.get(f"{sandbox.urls['zoom']}/report/webinars/{double}/participants", headers=headers)
        assert ok.status_code == 200 and ok.json()["participants"]
        for wrong in (single, uuid):
            bad = http.get(f"{sandbox.urls['zoom']}/report/webinars/{wrong}/participants", headers=headers)
            assert bad.status_code == 404 and bad.json()["code"] == 3001
    plain = next(o.uuid for o in sandbox.universe.zoom_occurrences if "/" not in o.uuid)
    once = http.get(
        f"{sandbox.urls['zoom']}/report/webinars/{quote(plain, safe='')}/participants", headers=headers
    )
    assert once.status_code == 200


def test_report_errors(http: requests.Session, sandbox_server: Any) -> None:
    probe = sandbox_server()
    a, b = (w.id for w in probe.universe.zoom_webinars[:2])
    sb = sandbox_server(zoom_no_report_ids=(a,), zoom_not_licensed_ids=(b,))
    headers = zoom_token(http, sb)
    url = sb.urls["zoom"] + "/report/webinars/{}/participants"
    no_report = http.get(url.format(a), headers=headers)
    assert no_report.status_code == 404 and no_report.json()["code"] == 3001
    unlicensed = http.get(url.format(b), headers=headers)
    assert unlicensed.status_code == 400 and unlicensed.json()["code"] == 3161
    sb.configure(zoom_scope_error=True)
    scope = http.get(url.format(sb.universe.zoom_webinars[3].id), headers=headers)
    assert scope.status_code == 400 and scope.json()["code"] == 4711
    assert http.get(sb.urls["zoom"] + "/users/nobody/webinars", headers=headers).json()["code"] == 1001
