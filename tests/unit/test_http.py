"""ApiSession retry/back-off and error semantics, against a tiny real HTTP server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from webinar_dwh.http import (
    ApiError,
    ApiSession,
    AuthError,
    ClientError,
    HeaderAuth,
    NotFoundError,
    RefreshableAuth,
    RetryExhaustedError,
    RetryPolicy,
    parse_wait_header,
)

pytestmark = pytest.mark.unit

SECRET = "s3cr3t-key-value"

Scripted = tuple[int, dict[str, str], str]


class StubServer:
    """Answers each request with the next scripted (status, headers, body); then 200 ``{"ok": true}``."""

    def __init__(self) -> None:
        self.script: list[Scripted] = []
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests.append({"path": self.path, "headers": dict(self.headers)})
                status, headers, body = stub.script.pop(0) if stub.script else (200, {}, '{"ok": true}')
                data = body.encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_session(url: str, sleeps: Sleeps, **kwargs: Any) -> ApiSession:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=4, max_wait=10))
    return ApiSession(
        url,
        vendor="BigMarker",
        conn_id="bigmarker_default",
        auth=HeaderAuth("API-KEY", SECRET),
        sleep=sleeps,
        secrets=(SECRET,),
        **kwargs,
    )


def test_retry_after_seconds_is_honoured_then_succeeds(stub: StubServer) -> None:
    stub.script = [(429, {"Retry-After": "3"}, '{"error": "rate"}')]
    sleeps = Sleeps()
    session = make_session(stub.url, sleeps)
    assert session.get_json("conferences", params={"page": 1}) == {"ok": True}
    assert sleeps == [3.0]
    assert session.stats.retries == 1 and session.stats.retries_by_cause["429"] == 1
    assert stub.requests[0]["headers"]["API-KEY"] == SECRET
    assert stub.requests[0]["path"] == "/api/v1/conferences?page=1"


def test_retry_after_http_date_is_converted_to_seconds(stub: StubServer) -> None:
    stub.script = [(429, {"Retry-After": email.utils.formatdate(time.time() + 6, usegmt=True)}, "{}")]
    sleeps = Sleeps()
    make_session(stub.url, sleeps).get_json("x")
    assert len(sleeps) == 1 and 4.0 <= sleeps[0] <= 6.0


def test_x_ratelimit_reset_seconds_drive_the_wait(stub: StubServer) -> None:
    headers = {"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"}
    stub.script = [(429, headers, '{"title": "Too Many Requests"}')]
    sleeps = Sleeps()
    make_session(stub.url, sleeps).get_json("x")
    assert sleeps == [7.0]


def test_a_single_wait_is_capped(stub: StubServer) -> None:
    stub.script = [(429, {"Retry-After": "3600"}, "{}")]
    sleeps = Sleeps()
    make_session(stub.url, sleeps).get_json("x")
    assert sleeps == [10.0]


def test_5xx_backs_off_exponentially_with_jitter(stub: StubServer) -> None:
    stub.script = [(500, {}, "{}"), (502, {}, "<html>bad gateway</html>"), (503, {}, "{}")]
    sleeps = Sleeps()
    session = make_session(stub.url, sleeps)
    assert session.get_json("x") == {"ok": True}
    assert len(sleeps) == 3
    for n, wait in enumerate(sleeps):
        step = 0.5 * 2**n
        assert step / 2 <= wait <= step
    assert session.stats.retries_by_cause["5xx"] == 3 and session.stats.requests == 4


def test_attempts_are_bounded(stub: StubServer) -> None:
    stub.script = [(503, {}, "{}")] * 10
    sleeps = Sleeps()
    with pytest.raises(RetryExhaustedError, match=r"after 4 attempts \(last: HTTP 503\)"):
        make_session(stub.url, sleeps).get_json("x")
    assert len(stub.requests) == 4 and len(sleeps) == 3


def test_connection_errors_are_retried() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    session = make_session(f"http://127.0.0.1:{port}", sleeps, timeout=(0.5, 0.5))
    with pytest.raises(RetryExhaustedError, match="ConnectionError"):
        session.get_json("x")
    assert session.stats.retries_by_cause["connection"] == 3


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_fails_fast_naming_the_connection_without_the_secret(
    stub: StubServer, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    stub.script = [(status, {}, json.dumps({"error": f"invalid key {SECRET}"}))]
    sleeps = Sleeps()
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        make_session(stub.url, sleeps).get_json("conferences")
    message = str(info.value)
    assert f"HTTP {status}" in message and "check Airflow connection 'bigmarker_default'" in message
    assert SECRET not in message and SECRET not in caplog.text
    assert sleeps == [] and len(stub.requests) == 1


def test_401_message_reads_as_documented(stub: StubServer) -> None:
    stub.script = [(401, {}, '{"error": "Unauthorized"}')]
    with pytest.raises(AuthError, match=r"^BigMarker rejected the API key \(HTTP 401"):
        make_session(stub.url, Sleeps()).get_json("conferences")


def test_404_carries_the_parsed_vendor_body(stub: StubServer) -> None:
    stub.script = [(404, {}, '{"error": "conference_not_found"}')]
    with pytest.raises(NotFoundError) as info:
        make_session(stub.url, Sleeps()).get_json("conferences/abc/attendees")
    assert info.value.body == {"error": "conference_not_found"} and info.value.status == 404


def test_other_4xx_is_a_client_error_with_the_vendor_code(stub: StubServer) -> None:
    stub.script = [(400, {}, '{"code": 3161, "message": "not licensed"}')]
    with pytest.raises(ClientError) as info:
        make_session(stub.url, Sleeps()).get_json("x")
    assert info.value.vendor_code == 3161


@pytest.mark.parametrize("status", [200, 404])
def test_html_answer_says_the_base_url_is_probably_wrong(stub: StubServer, status: int) -> None:
    stub.script = [(status, {"Content-Type": "text/html"}, "<html><body>Welcome</body></html>")]
    with pytest.raises(ApiError, match="base URL is probably wrong") as info:
        make_session(stub.url, Sleeps()).get_json("conferences")
    assert "text/html" in str(info.value) and "bigmarker_default" in str(info.value)
    assert not isinstance(info.value, NotFoundError)


class CountingAuth(RefreshableAuth):
    def __init__(self) -> None:
        self.invalidations = 0

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = f"Bearer token-{self.invalidations}"
        return r

    def invalidate(self) -> None:
        self.invalidations += 1


def test_refreshable_auth_is_renewed_once_after_401(stub: StubServer) -> None:
    stub.script = [(401, {}, '{"code": 124, "message": "Invalid access token."}')]
    auth = CountingAuth()
    session = ApiSession(stub.url, vendor="Zoom", conn_id="zoom_default", auth=auth, sleep=Sleeps())
    assert session.get_json("users/me/webinars") == {"ok": True}
    assert auth.invalidations == 1
    assert [r["headers"]["Authorization"] for r in stub.requests] == ["Bearer token-0", "Bearer token-1"]


def test_second_401_after_refresh_is_an_auth_error(stub: StubServer) -> None:
    stub.script = [(401, {}, "{}"), (401, {}, "{}")]
    session = ApiSession(stub.url, vendor="Zoom", conn_id="zoom_default", auth=CountingAuth(), sleep=Sleeps())
    with pytest.raises(AuthError, match="zoom_default"):
        session.get_json("x")


def test_retry_log_line_has_status_wait_and_attempt_but_no_secret(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    stub.script = [(429, {"Retry-After": "2"}, "{}")]
    with caplog.at_level(logging.WARNING, logger="webinar_dwh.http"):
        make_session(stub.url, Sleeps()).get_json("conferences", params={"page": 1})
    (line,) = [r.getMessage() for r in caplog.records]
    assert "HTTP 429" in line and "retry 1/3" in line and "2.00 s" in line and SECRET not in line


def test_links_to_another_host_are_refused(stub: StubServer) -> None:
    session = make_session(stub.url, Sleeps())
    with pytest.raises(ApiError, match="another host"):
        session.get_json("https://evil.example.com/api/v1/conferences")
    assert session.url_for(stub.url + "/next?page=2") == stub.url + "/next?page=2"


def test_session_repr_hides_the_secret(stub: StubServer) -> None:
    session = make_session(stub.url, Sleeps())
    assert SECRET not in repr(session) and SECRET not in repr(HeaderAuth("API-KEY", SECRET))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("1700000030", 30.0),  # a Unix timestamp
        ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),  # an HTTP date
        ("2023-11-14T22:13:30Z", 10.0),  # ISO 8601
        ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),  # already past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_wait_header(value: str | None, expected: float | None) -> None:
    assert parse_wait_header(value, now=1_700_000_000.0) == expected
