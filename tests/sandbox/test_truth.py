"""Ground truth: sanity, the legacy match facts, the catalog, and agreement with what HTTP serves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import SandboxServer
from sandbox.connections import airflow_conn_env
from sandbox.generator import strip_plus
from sandbox.truth import CATALOG_CSV, catalog_csv_text, catalog_seed_rows, map_course_language
from tests.sandbox.helpers import BM_KEY, CAL_AUTH, intact, zoom_token

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxServer]:
    """One read-only default server for the tests that do not change the clock or the faults."""
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="module")
def truth(shared: SandboxServer) -> dict[str, Any]:
    return shared.truth()


def test_sanity(truth: dict[str, Any]) -> None:
    rows = truth["webinars"]
    assert {r["platform"] for r in rows} == {"bigmarker", "legacy"}
    for r in rows:
        if not r["is_held"]:  # upcoming: attendance unknown, not 0
            assert r["attended"] is r["walk_ins"] is r["show_up_rate"] is r["avg_minutes_attended"] is None
            continue
        assert 0 <= r["attended"] <= r["registered"]
        assert r["walk_ins"] >= 0
        assert (r["avg_minutes_attended"] is None) == (r["attended"] == 0)
    assert sum(r["walk_ins"] or 0 for r in rows) > 0
    assert any(not r["is_held"] and r["registered"] for r in rows)  # future webinars keep registrations
    assert any(r["registered"] == 0 and r["is_held"] for r in rows if r["platform"] == "bigmarker")


def test_legacy_match_facts(truth: dict[str, Any]) -> None:
    matches = truth["legacy_matches"]
    ambiguous = [m for m in matches if m["method"] == "ambiguous"]
    assert len(ambiguous) == 1 and len(ambiguous[0]["candidates"]) == 2 and ambiguous[0]["join_url"] is None
    assert sum(m["method"] == "time" for m in matches) >= 2
    assert all(m["zoom_instance_uuid"] for m in matches if m["method"] in ("join_url", "time"))
    legacy = {r["webinar_id"]: r for r in truth["webinars"] if r["platform"] == "legacy"}
    for uuid in ambiguous[0]["candidates"]:
        assert legacy[uuid]["registered"] == 0 and legacy[uuid]["walk_ins"] > 0


def test_catalog_mapping_rules(truth: dict[str, Any], shared: SandboxServer) -> None:
    by_id = {r["webinar_id"]: r for r in truth["webinars"]}
    assert (by_id["spcl0pm03"]["course"], by_id["spcl0pm03"]["language"]) == ("Product Management", "de")
    assert map_course_language("bigmarker", "x", "DATA ANALYTICS — LIVE Q&A (ES)", "en") == (
        "Data Analytics",
        "es",
    )
    assert map_course_language("bigmarker", "x", "UX Design: Open house", "fr") == ("UX Design", "fr")
    assert map_course_language("legacy", "x", "Zoom test session", None) == ("unmapped", "unmapped")
    for conf in shared.universe.conferences:  # the business mapping reproduces the generator's intent
        row = by_id.get(conf.id)
        if row:
            assert (row["course"], row["language"]) == (conf.intended_course, conf.intended_language)
    assert any(r["course"] == "unmapped" for r in truth["webinars"])
    assert CATALOG_CSV.read_text(encoding="utf-8") == catalog_csv_text()  # the committed copy is current


def test_bigmarker_truth_matches_what_http_serves(http: requests.Session, sandbox_server: Any) -> None:
    sb = sandbox_server(malformed_rate=0.1)
    truth = {w["webinar_id"]: w for w in sb.truth()["webinars"]}
    conf = next(
        c
        for c in sb.universe.conferences
        if c.n_regs > 100 and c.end_ts < sb.universe.anchor_ts and c.id in truth
    )
    base = sb.urls["bigmarker"]
    regs = http.get(
        f"{base}/conferences/registrations/{conf.id}", params={"per_page": 1000}, headers=BM_KEY
    ).json()
    atts = http.get(
        f"{base}/conferences/{conf.id}/attendees",
        params={"current_page": 1, "per_page": 1000},
        headers=BM_KEY,
    ).json()
    registered = {
        r["email"].strip().lower() for r in regs["registrations"] if intact(r, "bigmarker_registrations")
    }
    sessions: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for a in atts["attendees"]:
        if intact(a, "bigmarker_attendees"):
            sessions[a["email"].strip().lower()].append(
                (_moment(a["entered_at"]), _moment(a["leaved_at"]), a["total_duration"])
            )
    seconds = {email: _merged(rows) for email, rows in sessions.items()}
    row = truth[conf.id]
    assert row["registered"] == len(registered)
    attended = [s for e, s in seconds.items() if e in registered]
    assert row["attended"] == len(attended) and row["walk_ins"] == len(set(seconds) - registered)
    assert row["avg_minutes_attended"] == pytest.approx(sum(attended) / 60 / len(attended), abs=0.005)


def test_legacy_truth_matches_what_http_serves(
    http: requests.Session, shared: SandboxServer, truth: dict[str, Any]
) -> None:
    sandbox = shared
    row = next(r for r in truth["webinars"] if r["match_method"] == "join_url" and "/" not in r["webinar_id"])
    invitees = http.get(
        f"{sandbox.urls['calendly']}/scheduled_events/{row['calendly_event_uuid']}/invitees",
        params={"count": 100, "status": "active"},
        headers=CAL_AUTH,
    ).json()
    assert invitees["pagination"]["next_page"] is None
    registered = {i["email"].strip().lower() for i in invitees["collection"]}
    parts = http.get(
        f"{sandbox.urls['zoom']}/report/webinars/{row['webinar_id']}/participants",
        params={"page_size": 300},
        headers=zoom_token(http, sandbox),
    ).json()["participants"]
    people = {strip_plus(p["user_email"]) for p in parts}
    assert row["registered"] == len(registered)
    assert row["attended"] == sum(strip_plus(e) in people for e in registered)
    assert row["walk_ins"] == len(people - {strip_plus(e) for e in registered})


def test_as_of_and_faults_change_the_truth(sandbox_server: Any) -> None:
    sb = sandbox_server()
    base = sb.truth()["summary"]
    assert (
        sb.truth(as_of="2026-09-01T00:00:00Z")["summary"]["bigmarker"]["webinars"]
        < base["bigmarker"]["webinars"]
    )
    sb.configure(malformed_rate=0.1)
    broken = sb.truth()["summary"]
    assert broken["bigmarker"]["webinars"] < base["bigmarker"]["webinars"]
    assert broken["bigmarker"]["registered"] < base["bigmarker"]["registered"]


def test_admin_truth_endpoint_and_connections(
    http: requests.Session, shared: SandboxServer, truth: dict[str, Any]
) -> None:
    sandbox = shared
    assert http.get(sandbox.base_url + "/_sandbox/truth").json() == json.loads(json.dumps(truth))
    csv_text = http.get(sandbox.base_url + "/_sandbox/truth", params={"format": "csv"}).text
    assert csv_text.startswith("platform,webinar_id,")
    env = airflow_conn_env(sandbox)
    zoom = json.loads(env["AIRFLOW_CONN_ZOOM_DEFAULT"])
    assert zoom["host"] == sandbox.urls["zoom"] and zoom["extra"]["oauth_url"] == sandbox.urls["zoom_oauth"]
    bm = json.loads(env["AIRFLOW_CONN_BIGMARKER_DEFAULT"])
    assert bm == {"conn_type": "http", "host": sandbox.urls["bigmarker"], "password": "sandbox-bigmarker-key"}
    assert json.loads(env["AIRFLOW_CONN_CALENDLY_DEFAULT"])["host"] == sandbox.urls["calendly"]


def test_same_seed_same_responses(http: requests.Session, sandbox_server: Any) -> None:
    bodies = []
    for _ in range(2):
        sb = sandbox_server(seed=7)
        conf = sb.universe.conferences[5].id
        ev = sb.universe.calendly_events[1].uuid
        bodies.append(
            [
                http.get(
                    sb.urls["bigmarker"] + "/conferences", params={"per_page": 100}, headers=BM_KEY
                ).content,
                http.get(f"{sb.urls['bigmarker']}/conferences/registrations/{conf}", headers=BM_KEY).content,
                http.get(f"{sb.urls['bigmarker']}/conferences/{conf}/attendees", headers=BM_KEY).content,
                http.get(
                    f"{sb.urls['calendly']}/scheduled_events/{ev}/invitees", headers=CAL_AUTH
                ).content.replace(sb.base_url.encode(), b"BASE"),
                http.get(f"{sb.urls['zoom']}/users/me/webinars", headers=zoom_token(http, sb)).content,
            ]
        )
    assert bodies[0] == bodies[1]


def test_cli_truth_csv() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sandbox", "truth", "--format", "csv", "--malformed-rate", "0.05"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.splitlines()[0].startswith("platform,webinar_id,title,start_time,webinar_date")
    assert len(out.splitlines()) > 100


def test_language_and_status_buckets_follow_the_documented_rules() -> None:
    from sandbox.truth import is_cancellation, language_bucket

    assert [language_bucket(v) for v in ("de", " EN-us ", "es_MX", {"code": "FR"}, "ru", 7)] == [
        "de",
        "en",
        "es",
        "fr",
        "other",
        "other",
    ]
    assert [language_bucket(v) for v in (None, "", "  ", {"name": "x"}, ["en"])] == [None] * 5
    assert [is_cancellation(s) for s in ("canceled", " CANCELED ", "cancelled")] == [True] * 3
    assert [is_cancellation(s) for s in ("active", "awaiting_payment", "")] == [False] * 3


def test_two_guests_without_an_id_joining_in_the_same_second_both_count(
    http: requests.Session, shared: SandboxServer, truth: dict[str, Any]
) -> None:
    """Zoom leaves ``id`` blank for guests who are not signed in; the sandbox serves, in some
    occurrences, two registered guests joining in the same second: the truth counts both."""
    from urllib.parse import quote

    from webinar_dwh.sources.zoom.contracts import participant_key

    by_id = {r["webinar_id"]: r for r in truth["webinars"] if r["platform"] == "legacy"}
    found = 0
    for occ in shared.universe.zoom_occurrences:
        if occ.uuid not in by_id or not by_id[occ.uuid]["registered"]:  # unmatched: all walk-ins
            continue
        parts = http.get(
            f"{shared.urls['zoom']}/report/webinars/{quote(quote(occ.uuid, safe=''), safe='')}/participants",
            params={"page_size": 300},
            headers=zoom_token(http, shared),
        )
        if parts.status_code != 200:
            continue
        guests = [p for p in parts.json()["participants"] if not p["id"] and not p["user_id"]]
        same_second = [g for g in guests if sum(o["join_time"] == g["join_time"] for o in guests) == 2]
        if not same_second:
            continue
        found += 1
        emails = {strip_plus(g["user_email"]) for g in same_second}
        assert len(emails) == 2  # two people, one second
        # the pipeline's record keys tell them apart; the truth counts both as attended
        assert len({participant_key(occ.uuid, g) for g in same_second}) == 2
        row = by_id[occ.uuid]
        assert row["attended"] >= 2 and row["avg_minutes_attended"] > 0
    assert found >= 1


def test_the_project_ships_an_example_catalog_seed_without_sandbox_webinars() -> None:
    """dbt_project/seeds holds the deployment's (example) map; the sandbox's ids live with it."""
    seeds = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
    shipped = (seeds / "webinar_catalog_map.csv").read_text()
    sandbox_ids = {row["webinar_id"] for row in catalog_seed_rows() if row["webinar_id"]}
    assert sandbox_ids and not any(webinar_id in shipped for webinar_id in sandbox_ids)
    assert shipped.splitlines()[0] == catalog_csv_text().splitlines()[0]  # same columns


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _merged(rows: list[tuple[datetime, datetime, int]]) -> int:
    """A person's seconds: overlapping sessions (a second device) once, from the first join to
    the last leave; a session overlapping none with its served duration."""
    islands: list[list[tuple[datetime, datetime, int]]] = []
    for row in sorted(rows):
        if islands and row[0] <= max(r[1] for r in islands[-1]):
            islands[-1].append(row)
        else:
            islands.append([row])
    return sum(
        island[0][2] if len(island) == 1
        else int((max(r[1] for r in island) - min(r[0] for r in island)).total_seconds())
        for island in islands
    )
