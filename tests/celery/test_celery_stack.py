"""The morning DAG on a real CeleryExecutor: Redis, scheduler, dag-processor, api-server, two workers.

``scripts/celery_stack.py`` starts the stack with a PostgreSQL metadata database, a fresh
warehouse and an in-process API sandbox (all three sources), each worker with its own working
directory, ``HOME``, ``TMPDIR``, Airflow home, log folder, Cosmos cache, dbt log dir and docs
folder (as on two hosts). The run is triggered over REST like tests/airflow_ui and must:

- succeed, with tasks executed by both workers (``task_instance.hostname``);
- publish marts equal to the sandbox truth (the session's ``clean_morning`` built without Airflow);
- write nothing into what the workers share (the DAG files, the package, the dbt project): a
  file one worker writes is only in its own folder, and no worker's task logs name the other
  worker's folder — so no task read a file another worker wrote.

Outside the suite's testpaths: the last step of ``make test`` (alone: ``make test-celery``), ~2 min.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
from psycopg import sql

from scripts.celery_stack import CeleryStack
from tests.e2e.harness import Stack, bootstrap_warehouse, stack_env

pytestmark = pytest.mark.celery

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "celery"
DAG_ID = "webinar_attendance"
LOGICAL_DATE = "2026-11-24T05:00:00Z"
RUN_ID = "celery_test__2026-11-24"
RUN_TIMEOUT_S = int(os.environ.get("CELERY_TEST_RUN_TIMEOUT_S", "900"))
SHARED = ("dags", "plugins", "dbt_project")


def _snapshot(roots: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    out = {}
    for r in roots:
        for p in (ROOT / r).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts:
                st = p.stat()
                out[str(p.relative_to(ROOT))] = (st.st_mtime_ns, st.st_size)
    return out


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}


def _api(base: str, method: str, path: str, **kw):
    resp = requests.request(method, f"{base}{path}", timeout=30, **kw)
    assert resp.ok, f"{method} {path}: {resp.status_code} {resp.text[:2000]}"
    return resp.json()


def _cleanup(pg_server: str, stack_dir: Path, dbs: tuple[str, ...]) -> None:
    shutil.rmtree(stack_dir, ignore_errors=True)
    if not os.environ.get("KEEP_TEST_DB"):
        with psycopg.connect(pg_server, autocommit=True) as conn:
            for db in dbs:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db)))


def test_morning_run_on_two_celery_workers(
    request: pytest.FixtureRequest, pg_server: str, clean_morning
) -> None:
    from sandbox import SandboxConfig, SandboxServer

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server missing: run 'make redis' (scripts/ensure_redis.sh)")
    suffix = uuid.uuid4().hex[:10]
    meta_db, dwh_db = f"cel_meta_{suffix}", f"cel_dwh_{suffix}"
    stack_dir = Path(tempfile.mkdtemp(prefix="celery-stack-"))
    request.addfinalizer(lambda: _cleanup(pg_server, stack_dir, (meta_db, dwh_db)))
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for db in (meta_db, dwh_db):
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(db)))
    base = pg_server.rsplit("/", 1)[0]
    owner_dsn, bi_dsn = bootstrap_warehouse(f"{base}/{dwh_db}")
    sandbox = SandboxServer(SandboxConfig()).start()
    env = stack_env(owner_dsn, sandbox, ("bigmarker", "calendly", "zoom"))
    env["DWH_DBT_SEED_DIR"] = os.environ.get("DWH_DBT_SEED_DIR", "sandbox_seeds")
    stack = CeleryStack(stack_dir, f"{base}/{meta_db}", env, workers=2, concurrency=2)
    before = _snapshot(SHARED)
    started = time.monotonic()
    try:
        stack.start()
        api = stack.api_base
        deadline = time.monotonic() + 240
        while not _api(api, "GET", "/api/v2/dags", params={"dag_id_pattern": DAG_ID})["dags"]:
            assert time.monotonic() < deadline, _api(api, "GET", "/api/v2/importErrors")
            time.sleep(2)
        ready_s = time.monotonic() - started
        _api(api, "PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
        _api(
            api,
            "POST",
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            json={"dag_run_id": RUN_ID, "logical_date": LOGICAL_DATE, "conf": {}},
        )
        state, deadline = "queued", time.monotonic() + RUN_TIMEOUT_S
        while state not in ("success", "failed") and time.monotonic() < deadline:
            time.sleep(3)
            state = _api(api, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{RUN_ID}")["state"]
        run_s = time.monotonic() - started - ready_s
        tis = _api(
            api, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances", params={"limit": 200}
        )["task_instances"]
    finally:
        stack.stop()
        sandbox.stop()
        if stack.logs.exists():
            shutil.rmtree(ARTIFACTS, ignore_errors=True)
            shutil.copytree(stack.logs, ARTIFACTS)
    by_host: dict[str, list[str]] = {}
    for ti in tis:
        # an EmptyOperator (Cosmos's producer gate) is finished by the scheduler, on no worker
        if ti["state"] == "success" and ti["operator"] != "EmptyOperator":
            by_host.setdefault(ti["hostname"], []).append(ti["task_id"])
    print(
        f"ready {ready_s:.0f} s, run {run_s:.0f} s, tasks per worker: "
        f"{ {h: len(t) for h, t in by_host.items()} }"
    )
    failed = {ti["task_id"]: ti["state"] for ti in tis if ti["state"] != "success"}
    assert state == "success", f"run {state}: {failed}; logs in {ARTIFACTS}"
    assert set(by_host) == set(stack.workers), by_host
    assert all(len(t) >= 3 for t in by_host.values()), by_host

    # marts equal the truth built without Airflow
    assert (
        Stack(superuser_dsn="", owner_dsn=owner_dsn, bi_dsn=bi_dsn, sandbox=None).marts_hash()
        == clean_morning.marts_hash
    )

    # nothing written where the workers meet; each worker wrote into its own folder only
    after = _snapshot(SHARED)
    changed = sorted(k for k, v in after.items() if before.get(k) != v)
    assert changed == [], f"tasks wrote into the shared tree: {changed[:20]}"
    for name in stack.workers:
        own = stack.worker_dir(name)
        assert _files(own / "logs"), f"{name} wrote no task log"
        assert _files(own / "tmp") or _files(own / "cosmos") or _files(own / "dbt-logs"), name
        others = [str(stack.worker_dir(o)) for o in stack.workers if o != name]
        for log in (own / "logs").rglob("*"):
            if log.is_file():
                text = log.read_text(errors="replace")
                assert not any(o in text for o in others), f"{log} names another worker's folder"
