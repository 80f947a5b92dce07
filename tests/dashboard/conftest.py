"""A real published warehouse for the dashboard tests, built without Airflow (~15-25 s).

The pipeline's own functions run in-process against a new database and the API sandbox
(seed 42, scale 0.1): ``extract_load`` per source, ``dbt seed`` + ``dbt build`` (into
``marts_build``, with the models' tests) and ``publish_marts`` (swap into ``marts``). The
sandbox stops and the environment is restored once the marts are published; the tests read
them as ``bi_reader`` like the dashboard does.

The warehouse is built once per session (every dashboard test only reads it), so the fixture
manages its own database on the ``pg_server`` cluster instead of the per-test ``fresh_db``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.e2e.harness import make_stack

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
INTERVAL_END = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # the sandbox's default clock


@dataclass(frozen=True)
class Warehouse:
    """A published warehouse: DSNs of the owner and of the BI role, and the build's timings."""

    owner_dsn: str
    bi_dsn: str
    seconds: float


def _database(server_dsn: str, name: str, *, drop: bool = False) -> str:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        stmt = "drop database if exists {} with (force)" if drop else "create database {}"
        conn.execute(sql.SQL(stmt).format(sql.Identifier(name)))
    return server_dsn.rsplit("/", 1)[0] + "/" + name


def build_published_warehouse(db_dsn: str) -> Warehouse:
    """Extract all three sources from a fresh sandbox, build the marts with dbt, publish them."""
    from webinar_dwh.dbt_runner import run_dbt
    from webinar_dwh.pipeline import RunInfo, extract_load
    from webinar_dwh.warehouse.publish import publish_marts

    started = time.perf_counter()
    with make_stack(db_dsn, sources=("bigmarker", "calendly", "zoom")) as stack:
        run = RunInfo.manual(INTERVAL_END)
        for source in ("bigmarker", "calendly", "zoom"):
            summary = extract_load(source, run)
            assert summary, source
        seeded = run_dbt(["seed", "--quiet"])
        assert seeded.success, seeded.exception
        built = run_dbt(["build", "--quiet"], dbt_vars={"as_of": INTERVAL_END.isoformat()})
        assert built.success, built.exception
        with psycopg.connect(stack.owner_dsn) as conn:
            publish_marts(conn, dag_run_id=run.dag_run_id)
        return Warehouse(stack.owner_dsn, stack.bi_dsn, round(time.perf_counter() - started, 1))


@pytest.fixture(scope="session")
def published_warehouse(pg_server: str) -> Iterator[Warehouse]:
    """A fresh database with published marts (see the module docstring); dropped afterwards."""
    name = f"dash_{uuid.uuid4().hex[:10]}"
    dsn = _database(pg_server, name)
    try:
        yield build_published_warehouse(dsn)
    finally:
        if not os.environ.get("KEEP_TEST_DB"):
            _database(pg_server, name, drop=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def streamlit_server(published_warehouse: Warehouse, tmp_path_factory) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` on a free port (headless), reading the test warehouse."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {
        **os.environ,
        "DWH_BI_DSN": published_warehouse.bi_dsn,
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
    }
    cmd = [
        str(Path(sys.executable).with_name("streamlit")), "run", str(ROOT / "dashboard" / "app.py"),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "viewer",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:  # noqa: S310 (http only)
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
