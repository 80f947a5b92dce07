"""Fixtures of the reliability suite: a clean reference run shared by the modules that compare to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql

from tests.e2e.conftest import airflow_metadata_db  # noqa: F401 - re-exported fixture
from tests.e2e.harness import make_stack
from tests.reliability.support import build_and_publish, load_all

#: 06:00 Europe/Berlin on 2026-11-24: the sandbox's default clock and the last day of every scenario.
LAST_DAY = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def clean_reference(pg_server: str) -> Iterator[dict[str, str]]:
    """``marts_hash()`` of one clean, fault-free run for ``LAST_DAY`` on its own database.

    All three sources, default settings, no GX gate (it is a reference, the scenarios that
    compare with it run the gate themselves). The database is dropped right away.
    """
    name = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = pg_server.rsplit("/", 1)[0] + "/" + name
    try:
        with make_stack(dsn, sources=("bigmarker", "calendly", "zoom")) as stack:
            load_all(stack, LAST_DAY)
            build_and_publish(stack, LAST_DAY, seed=True, validate=False)
            reference = stack.marts_hash()
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    yield reference
