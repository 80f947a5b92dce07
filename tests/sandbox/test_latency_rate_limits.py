"""Latency and rate limits: every vendor answers late when asked to, refuses requests over its
documented rate with its own 429, and the control endpoint reports the peak rate it saw."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from sandbox.faults import latency_seconds
from tests.sandbox.helpers import BM_KEY, CAL_AUTH, zoom_token

pytestmark = pytest.mark.sandbox


def test_latency_is_fixed_plus_a_jitter_that_depends_only_on_seed_and_request() -> None:
    assert latency_seconds(1, "GET /a", 0, 0) == 0.0
    first = [latency_seconds(1, f"GET /x?page={i}", 100, 50) for i in range(50)]
    assert first == [latency_seconds(1, f"GET /x?page={i}", 100, 50) for i in range(50)]
    assert all(0.1 <= s < 0.15 for s in first) and len(set(first)) > 40
    assert first != [latency_seconds(2, f"GET /x?page={i}", 100, 50) for i in range(50)]


def test_every_vendor_answers_after_the_configured_latency(
    http: requests.Session, sandbox_server: Any
) -> None:
    sb = sandbox_server(latency_ms=60)
    calls = {
        "bigmarker": lambda: http.get(sb.urls["bigmarker"] + "/conferences", headers=BM_KEY),
        "calendly": lambda: http.get(sb.urls["calendly"] + "/users/me", headers=CAL_AUTH),
    }
    token = zoom_token(http, sb)
    calls["zoom"] = lambda: http.get(sb.urls["zoom"] + "/users/me/webinars", headers=token)
    for vendor, call in calls.items():
        started = time.perf_counter()
        assert call().status_code == 200, vendor
        assert time.perf_counter() - started >= 0.06, vendor  # a lower bound: the knob delays


def _burst(sb: Any, url: str, headers: dict[str, str], n: int) -> list[requests.Response]:
    def one(_: int) -> requests.Response:
        return requests.get(url, headers=headers, timeout=10)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def test_calendly_over_its_limit_answers_429_with_x_ratelimit_headers(sandbox_server: Any) -> None:
    sb = sandbox_server(rate_limit=True, calendly_rate_limit=5, calendly_rate_window_s=60)
    answers = _burst(sb, sb.urls["calendly"] + "/users/me", CAL_AUTH, 12)
    refused = [r for r in answers if r.status_code == 429]
    assert sum(r.status_code == 200 for r in answers) == 5 and len(refused) == 7
    head = refused[0].headers
    assert head["X-RateLimit-Limit"] == "5" and head["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(head["X-RateLimit-Reset"]) <= 60
    assert refused[0].json()["title"] == "Too Many Requests"
    stats = sb.stats()
    assert stats["rate_limited"] == {"calendly": 7}
    assert stats["peak_requests"]["calendly"] == 12 and stats["peak_rps"]["calendly"] == 12.0


def test_zoom_limits_each_category_per_second_with_an_http_date_retry_after(
    http: requests.Session, sandbox_server: Any
) -> None:
    sb = sandbox_server(rate_limit=True, zoom_rate_medium=50, zoom_rate_heavy=2)
    token = zoom_token(http, sb)
    report = sb.urls["zoom"] + "/report/webinars/123/participants"
    answers = _burst(sb, report, token, 10)
    refused = [r for r in answers if r.status_code == 429]
    assert refused and sum(r.status_code != 429 for r in answers) <= 4  # 2 per second, maybe 2 windows
    head = refused[0].headers
    assert head["X-RateLimit-Category"] == "Heavy" and head["X-RateLimit-Type"] == "QPS"
    reset = parsedate_to_datetime(head["Retry-After"]).timestamp()
    assert time.time() - 1 <= reset <= time.time() + 2
    assert refused[0].json()["code"] == 429
    # the medium category has its own budget
    assert http.get(sb.urls["zoom"] + "/users/me/webinars", headers=token).status_code == 200


def test_bigmarker_cap_is_configurable_and_says_retry_after_seconds(sandbox_server: Any) -> None:
    sb = sandbox_server(rate_limit=True, bigmarker_rate_limit=3, bigmarker_rate_window_s=30)
    answers = _burst(sb, sb.urls["bigmarker"] + "/conferences", BM_KEY, 6)
    refused = [r for r in answers if r.status_code == 429]
    assert len(refused) == 3
    assert 1 <= int(refused[0].headers["Retry-After"]) <= 30
    assert refused[0].json() == {"error": "Too Many Requests"}


def test_limits_are_off_by_default_and_switch_on_at_runtime(
    http: requests.Session, sandbox_server: Any
) -> None:
    sb = sandbox_server(bigmarker_rate_limit=1, bigmarker_rate_window_s=60)
    url = sb.urls["bigmarker"] + "/conferences"
    assert [http.get(url, headers=BM_KEY).status_code for _ in range(3)] == [200, 200, 200]
    http.post(sb.urls["admin"] + "/config", json={"rate_limit": True}).raise_for_status()
    assert [http.get(url, headers=BM_KEY).status_code for _ in range(2)] == [200, 429]


def test_peak_rate_is_the_busiest_sliding_window_and_resets_with_the_stats(
    http: requests.Session, sandbox_server: Any
) -> None:
    sb = sandbox_server(peak_window_s=0.5)
    url = sb.urls["bigmarker"] + "/conferences"
    for _ in range(4):
        http.get(url, headers=BM_KEY)
    time.sleep(0.6)
    http.get(url, headers=BM_KEY)
    stats = http.get(sb.urls["admin"] + "/stats").json()
    assert stats["peak_window_s"] == 0.5 and stats["peak_requests"] == {"bigmarker": 4}
    assert math.isclose(stats["peak_rps"]["bigmarker"], 8.0)
    http.post(sb.urls["admin"] + "/stats/reset").raise_for_status()
    assert http.get(sb.urls["admin"] + "/stats").json()["peak_rps"] == {}
