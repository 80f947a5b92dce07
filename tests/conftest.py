"""Shared fixtures: the real PostgreSQL cluster the suite starts itself, and fresh databases.

The cluster is the project's local one (``scripts/local_pg.py``, data in ``.local/pg``); it is
started once per session if not running. Every test that writes to a warehouse gets its own
fresh database, so tests never see each other's rows. One published warehouse of a clean
morning (``clean_morning``) is built once per session for the layers that only read it.

The Airflow UI walk-through (tests/airflow_ui) runs a whole DAG run under ``airflow
standalone``: ~100 s of process start-ups and scheduler loops. When it is part of the session,
the hooks at the end of this file start it in the background as the session reaches the DAG
layers, and its test collects the result there.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

if TYPE_CHECKING:
    from tests.e2e.harness import PublishedWarehouse

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import time: point it at a test home before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".local" / "test-airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "120")
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
# dbt maps the sandbox's webinars with the sandbox's catalog seed, not the project's example.
os.environ.setdefault("DWH_DBT_SEED_DIR", "sandbox_seeds")


def _local_pg():
    spec = importlib.util.spec_from_file_location("local_pg", ROOT / "scripts" / "local_pg.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _server_dsn() -> str:
    dsn = _local_pg().start()
    return dsn.rsplit("/", 1)[0] + "/postgres"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Superuser DSN (database ``postgres``) of the running local cluster."""
    return _server_dsn()


def _create_db(server_dsn: str, name: str) -> str:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return server_dsn.rsplit("/", 1)[0] + "/" + name


def _drop_db(server_dsn: str, name: str) -> None:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def fresh_db(pg_server: str) -> Iterator[str]:
    """Superuser DSN of a new, empty database, dropped after the test (kept with KEEP_TEST_DB=1)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = _create_db(pg_server, name)
    yield dsn
    if not os.environ.get("KEEP_TEST_DB"):
        _drop_db(pg_server, name)


@pytest.fixture(scope="module")
def module_db(pg_server: str) -> Iterator[str]:
    """Like ``fresh_db`` but shared by the tests of one module."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    dsn = _create_db(pg_server, name)
    yield dsn
    if not os.environ.get("KEEP_TEST_DB"):
        _drop_db(pg_server, name)


@pytest.fixture(scope="session")
def clean_morning(pg_server: str) -> Iterator[PublishedWarehouse]:
    """The published marts of one clean morning (all three sources), shared by the whole session.

    Built once without Airflow (``tests.e2e.harness.build_clean_morning``, ~15-25 s) in its
    own database. It is a fixed reference: the dashboard tests read it as ``bi_reader`` and the
    reliability scenarios compare their marts with its ``marts_hash``. Tests must not write to
    it; a test that changes a warehouse uses ``fresh_db`` / ``module_db``.
    """
    from tests.e2e.harness import build_clean_morning

    name = f"clean_{uuid.uuid4().hex[:12]}"
    dsn = _create_db(pg_server, name)
    try:
        yield build_clean_morning(dsn)
    finally:
        if not os.environ.get("KEEP_TEST_DB"):
            _drop_db(pg_server, name)


# --------------------------------------------------------------------------- background Airflow UI run

#: The layers the UI walk-through runs beside (it starts with the first test of any of them).
_BACKGROUND_LAYERS = frozenset({"e2e", "reliability", "airflow_ui", "bench"})
_UI_SELECTED = pytest.StashKey[bool]()


def _layer(item: pytest.Item) -> str | None:
    """``e2e`` for ``tests/e2e/test_x.py::test_y``; ``None`` outside ``tests/<layer>/``."""
    try:
        parts = item.path.relative_to(ROOT / "tests").parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_UI_SELECTED] = any(_layer(item) == "airflow_ui" for item in session.items)


def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    if not config.stash.get(_UI_SELECTED, False) or _layer(item) not in _BACKGROUND_LAYERS:
        return
    from tests.airflow_ui.standalone import StandaloneRun, standalone_key

    if standalone_key not in config.stash:
        run = StandaloneRun(_server_dsn())
        config.stash[standalone_key] = run
        run.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.airflow_ui.standalone import standalone_key

    run = session.config.stash.get(standalone_key, None)
    if run is not None:
        run.stop()
