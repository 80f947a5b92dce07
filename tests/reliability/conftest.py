"""Fixtures of the reliability suite: the clean reference the scenarios compare their marts with."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import airflow_metadata_db  # noqa: F401 - re-exported fixture
from tests.e2e.harness import MORNING, PublishedWarehouse
from tests.receivers import http_receiver

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


@pytest.fixture
def webhook(monkeypatch) -> Iterator[list[dict]]:
    """A real webhook receiver on 127.0.0.1 wired as connection ``dwh_alerts``; yields the bodies."""
    with http_receiver() as got:
        monkeypatch.setenv("AIRFLOW_CONN_DWH_ALERTS", json.dumps({"conn_type": "http", "host": got.url}))
        yield got.items
