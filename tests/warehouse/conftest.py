"""Fixtures for the warehouse tests: a database bootstrapped as docs/design.md describes.

Creating a database costs ~0.5 s, so each test module bootstraps one database (``module_db``)
and every test starts from a freshly rebuilt schema in it (drop + :func:`ensure_schema`, ~0.1 s).
Tests of the role bootstrap itself use ``fresh_db``.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from wh_support import PII_KEY, Warehouse, bootstrap

from webinar_dwh.warehouse.bootstrap import SCHEMAS, ensure_schema


@pytest.fixture(scope="module")
def module_warehouse(module_db: str) -> Warehouse:
    """One bootstrapped database per test module."""
    return bootstrap(module_db)


@pytest.fixture
def warehouse(module_warehouse: Warehouse) -> Warehouse:
    """The module's database with every warehouse schema dropped and rebuilt: an empty warehouse."""
    with psycopg.connect(module_warehouse.owner_dsn) as conn:
        conn.execute(
            sql.SQL("drop schema if exists {} cascade").format(
                sql.SQL(", ").join(map(sql.Identifier, SCHEMAS))
            )
        )
        conn.commit()
        ensure_schema(conn, pii_key=PII_KEY)
    return module_warehouse


@pytest.fixture
def owner_conn(warehouse: Warehouse) -> Iterator[psycopg.Connection]:
    """An idle connection as ``dwh_owner`` (non-autocommit), closed after the test."""
    with psycopg.connect(warehouse.owner_dsn) as conn:
        yield conn
