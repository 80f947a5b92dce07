"""Fixtures of the reliability suite: the clean reference the scenarios compare their marts with."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.conftest import airflow_metadata_db  # noqa: F401 - re-exported fixture
from tests.e2e.harness import MORNING, PublishedWarehouse

#: 06:00 Europe/Berlin on 2026-11-24: the sandbox's default clock and the last day of every scenario.
LAST_DAY = MORNING


@pytest.fixture(scope="session")
def clean_reference(clean_morning: PublishedWarehouse) -> dict[str, str]:
    """``marts_hash()`` of one clean, fault-free morning for ``LAST_DAY`` on its own database.

    All three sources, default settings, no GX gate (it is a reference: the scenarios that
    compare with it run the gate themselves). The session's ``clean_morning`` (the warehouse
    the dashboard tests read) is exactly that run.
    """
    return clean_morning.marts_hash


class _Hook(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).bodies.append({"path": self.path, **json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch) -> Iterator[list[dict]]:
    """A real webhook receiver on 127.0.0.1 wired as connection ``dwh_alerts``; yields the bodies."""
    handler = type("Hook", (_Hook,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_DWH_ALERTS", json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{port}/hook"})
    )
    try:
        yield handler.bodies
    finally:
        server.shutdown()
        server.server_close()
