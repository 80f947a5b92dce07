"""Zoom client and source against the sandbox: OAuth, instances, encoded uuids, skips, faults."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from sandbox import SandboxServer
from tests.sources.conftest import Sleeps, connection
from webinar_dwh.http import AuthError
from webinar_dwh.records import Record, Rejected
from webinar_dwh.sources.zoom import ZoomClient, ZoomSettings, cursor_of, extract
from webinar_dwh.sources.zoom.contracts import participant_key

pytestmark = pytest.mark.sandbox

START, END = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)


def client_for(sb: SandboxServer, sleeps: Sleeps, page_size: int = 300, **kwargs: object) -> ZoomClient:
    clock = kwargs.pop("clock", time.monotonic)
    settings = ZoomSettings.from_connection(connection(sb, "zoom", **kwargs), page_size=page_size)
    return ZoomClient(settings, sleep=sleeps, clock=clock)  # type: ignore[arg-type]


def test_webinars_in_order_with_registrants_instances_and_participants(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    items = list(extract(client_for(sb, sleeps), START, END))
    assert all(isinstance(i, Record) for i in items)
    webinar = instance = None
    firsts: list[str] = []
    for item in items:
        if item.entity == "webinars":
            webinar, instance = item.key, None
            assert item.key == str(item.payload["id"])
        elif item.entity == "registrants":
            assert instance is None and item.parent_key == webinar
            assert item.key == f"{webinar}:{item.payload['id']}"
        elif item.entity == "webinar_instances":
            if instance is None:
                firsts.append(cursor_of(item))
            instance = item.key
            assert item.parent_key == webinar and item.key == item.payload["uuid"]
        else:
            assert item.entity == "participants" and item.parent_key == instance
            assert item.key == participant_key(instance, item.payload)
            assert item.key.startswith(f"{instance}:{item.payload['id'] or ''}")
    assert firsts == sorted(firsts)
    per_webinar = Counter(i.parent_key for i in items if i.entity == "webinar_instances")
    assert max(per_webinar.values()) > 1, "a recurring webinar yields each occurrence"
    keys = [i.key for i in items]
    assert len(keys) == len(set(keys))


def test_awkward_uuids_are_double_encoded_and_reach_their_report(sb: SandboxServer, sleeps: Sleeps) -> None:
    items = list(extract(client_for(sb, sleeps), START, END))
    awkward = {i.key for i in items if i.entity == "webinar_instances" and (i.key[0] == "/" or "//" in i.key)}
    assert awkward
    with_participants = {i.parent_key for i in items if i.entity == "participants"}
    assert awkward <= with_participants


def test_small_pages_follow_next_page_token(sb: SandboxServer, sleeps: Sleeps) -> None:
    small = client_for(sb, sleeps, page_size=5)
    assert list(extract(small, START, END)) == list(extract(client_for(sb, sleeps), START, END))


def test_window_selects_occurrences_by_instance_start(sb: SandboxServer, sleeps: Sleeps) -> None:
    items = list(extract(client_for(sb, sleeps), START, END))
    instances = sorted(cursor_of(i) for i in items if i.entity == "webinar_instances")
    lo, hi = datetime.fromisoformat(instances[2]), datetime.fromisoformat(instances[3])
    inside = [i for i in extract(client_for(sb, sleeps), lo, hi) if i.entity == "webinar_instances"]
    assert [cursor_of(i) for i in inside] == [instances[2]]


def test_token_expiring_on_the_server_mid_run_is_refreshed_once(sb: SandboxServer, sleeps: Sleeps) -> None:
    sb.configure(zoom_token_ttl=1)
    client = client_for(sb, sleeps, clock=lambda: 0.0)  # our clock never sees the expiry
    pages = client.webinar_pages()
    assert next(pages)
    time.sleep(1.1)
    assert list(extract(client, START, END))
    assert client.auth.tokens_fetched == 2
    assert client.session.stats.retries_by_cause["auth-refresh"] == 1


def test_token_is_renewed_before_it_expires(sb: SandboxServer, sleeps: Sleeps) -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 400.0  # every token lookup is 400 s later; tokens live 3599 s
        return now[0]

    client = client_for(sb, sleeps, clock=clock)
    assert list(extract(client, START, END))
    assert client.auth.tokens_fetched > 1
    assert client.session.stats.retries_by_cause["auth-refresh"] == 0


def test_missing_report_and_unlicensed_webinars_are_skipped_and_counted(
    sb: SandboxServer, sleeps: Sleeps
) -> None:
    clean = list(extract(client_for(sb, sleeps), START, END))
    per_webinar = Counter(i.parent_key for i in clean if i.entity == "webinar_instances")
    (recurring, n_rec), (single, n_single) = per_webinar.most_common(1)[0], per_webinar.most_common()[-1]
    sb.configure(zoom_no_report_ids=[int(recurring)], zoom_not_licensed_ids=[int(single)])
    client = client_for(sb, sleeps)
    items = list(extract(client, START, END))
    assert client.skipped == Counter({"participants:3001": n_rec, "participants:3161": n_single})
    skipped_instances = {
        i.key for i in clean if i.entity == "webinar_instances" and i.parent_key in (recurring, single)
    }
    assert not [i for i in items if i.entity == "participants" and i.parent_key in skipped_instances]
    assert [i for i in items if i.entity != "participants"] == [
        i for i in clean if i.entity != "participants"
    ]


def test_missing_scope_fails_naming_the_connection(sb: SandboxServer, sleeps: Sleeps) -> None:
    sb.configure(zoom_scope_error=True)
    with pytest.raises(AuthError, match=r"code 4711.*Airflow connection 'zoom_default'"):
        list(extract(client_for(sb, sleeps), START, END))


def test_wrong_client_secret_fails_fast_without_leaking_it(sb: SandboxServer, sleeps: Sleeps) -> None:
    client = client_for(sb, sleeps, password="very-secret-value")
    with pytest.raises(AuthError) as info:
        list(extract(client, START, END))
    message = str(info.value)
    assert "HTTP 401" in message and "check Airflow connection 'zoom_default'" in message
    assert "very-secret-value" not in message and sleeps == []


def test_429_with_retry_after_http_date_is_honoured(sb: SandboxServer, sleeps: Sleeps) -> None:
    clean = list(extract(client_for(sb, sleeps), START, END))
    sb.configure(rate_429=0.3, rate_5xx=0.1, retry_after_seconds=3)
    client = client_for(sb, sleeps)
    assert list(extract(client, START, END)) == clean
    waits_429 = client.session.stats.retries_by_cause["429"]
    assert waits_429 > 0 and sum(1 for s in sleeps if 1.0 <= s <= 3.0) >= waits_429


def test_malformed_registrants_and_participants_are_rejected(sb: SandboxServer, sleeps: Sleeps) -> None:
    sb.configure(malformed_rate=0.1)
    items = list(extract(client_for(sb, sleeps), START, END))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert {r.entity for r in rejected} == {"registrants", "participants"}
    for r in rejected:
        assert any(f"field '{f}'" in r.reason for f in ("id", "create_time", "user_email", "join_time")), (
            r.reason
        )
        assert r.parent_key


def test_expired_page_token_restarts_the_listing_once(sb: SandboxServer, sleeps: Sleeps) -> None:
    client = client_for(sb, sleeps, page_size=3)
    clean = [r["id"] for page in client.webinar_pages() for r in page]
    sb.configure(zoom_page_token_ttl=0.3)
    pages = client.webinar_pages()
    first = [r["id"] for r in next(pages)]
    time.sleep(0.4)  # a slow consumer: the next_page_token expires meanwhile
    rest = [r["id"] for page in pages for r in page]
    assert first == clean[:3] and rest == clean  # restarted from page 1, then complete
