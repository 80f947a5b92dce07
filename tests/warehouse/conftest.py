"""Fixtures for the warehouse tests: a fresh database bootstrapped as docs/design.md describes."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from wh_support import Warehouse, bootstrap


@pytest.fixture
def warehouse(fresh_db: str) -> Warehouse:
    """A fresh database with roles, schemas, raw and meta tables in place."""
    return bootstrap(fresh_db)


@pytest.fixture
def owner_conn(warehouse: Warehouse) -> Iterator[psycopg.Connection]:
    """An idle connection as ``dwh_owner`` (non-autocommit), closed after the test."""
    with psycopg.connect(warehouse.owner_dsn) as conn:
        yield conn
