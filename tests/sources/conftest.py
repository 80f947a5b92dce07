"""Fixtures of the source tests: one sandbox server per test module, faults reset after each test."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import Faults, SandboxConfig, SandboxServer
from webinar_dwh.config import ConnectionInfo

SEED = 7
SCALE = 0.02


class Sleeps(list[float]):
    """A sleep function that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxServer]:
    """A running sandbox (seed 7, scale 0.02) shared by the tests of one module."""
    with SandboxServer(SandboxConfig(seed=SEED, scale=SCALE)) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sb" in request.fixturenames:
        server: SandboxServer = request.getfixturevalue("sb")
        server.configure(**dataclasses.asdict(Faults()))
        server.reset_stats()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def connection(sb: SandboxServer, vendor: str, **overrides: Any) -> ConnectionInfo:
    """The Airflow-style connection of ``vendor`` pointing at ``sb`` (fields overridable)."""
    urls, creds = sb.urls, sb.config.credentials
    fields: dict[str, Any]
    if vendor == "bigmarker":
        fields = {"host": urls["bigmarker"], "password": creds.bigmarker_api_key}
    elif vendor == "calendly":
        fields = {"host": urls["calendly"], "password": creds.calendly_token}
    else:
        fields = {
            "host": urls["zoom"],
            "login": creds.zoom_client_id,
            "password": creds.zoom_client_secret,
            "extra_dejson": {"account_id": creds.zoom_account_id, "oauth_url": urls["zoom_oauth"]},
        }
    fields.update(overrides)
    return ConnectionInfo(conn_id=f"{vendor}_default", **fields)


def requests_to(sb: SandboxServer, endpoint: str, status: int | None = None) -> int:
    """Requests the sandbox counted for ``endpoint`` (optionally only those answered ``status``)."""
    return sum(
        row["count"]
        for row in sb.stats()["requests"]
        if row["endpoint"] == endpoint and (status is None or row["status"] == status)
    )
