"""``scripts/airflow_standalone.sh`` for real: UI/API up, DAG parsed, a run triggered over REST succeeds.

The script runs in a subprocess with its own ``AIRFLOW_HOME`` (SQLite metadata) under a temp
folder and the API on a free port, against a fresh warehouse database and an in-process API
sandbox (all three sources). Everything goes through Airflow's public REST API v2: health,
DAG listing, import errors, unpause, trigger, poll. The scheduler's own cron schedule is off
(``[scheduler] use_job_schedule = False``) so only the triggered run executes.
Measured on 2 shared cores: UI healthy + DAG listed in ~60 s, the run ~9 min while other test
suites ran in parallel (each Cosmos dbt task re-parses the project: 15-60 s per task). The run
timeout is ``AIRFLOW_UI_TEST_RUN_TIMEOUT_S`` (default 600 s).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from tests.e2e.harness import make_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DAG_ID = "webinar_attendance"
LOGICAL_DATE = "2026-11-24T05:00:00Z"  # the sandbox's clock: 06:00 Europe/Berlin on the 24th
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = int(os.environ.get("AIRFLOW_UI_TEST_RUN_TIMEOUT_S", "600"))
STOP_TIMEOUT_S = 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop ``airflow standalone`` and every component it started: SIGTERM to its process group.

    Not SIGINT: a shell that starts the suite in the background hands its children SIGINT
    *ignored*, and waiting for standalone to react to it cost 30 s per run. SIGTERM reaches
    every component at once (the group this test started with ``start_new_session=True``);
    whatever is still alive after ``STOP_TIMEOUT_S`` is killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, or it would count as alive
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


class Api:
    """A tiny client for Airflow's REST API v2 (all-admins dev mode: no token needed)."""

    def __init__(self, base: str, log: Path) -> None:
        self.base, self.log = base, log

    def get(self, path: str, **params) -> dict:
        resp = requests.get(f"{self.base}{path}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def send(self, method: str, path: str, body: dict) -> dict:
        resp = requests.request(method, f"{self.base}{path}", json=body, timeout=30)
        assert resp.ok, f"{method} {path}: {resp.status_code} {resp.text[:2000]}"
        return resp.json()

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@pytest.fixture
def airflow(fresh_db: str, tmp_path: Path) -> Iterator[tuple[Api, str]]:
    """The standalone Airflow of the script, wired to a fresh warehouse and a sandbox."""
    with make_stack(fresh_db, sources=("bigmarker", "calendly", "zoom")) as stack:
        port = _free_port()
        home = tmp_path / "airflow-home"
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "DWH_TASK_RETRIES": "0",
            "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
        }
        env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = ARTIFACTS / "airflow_standalone.log"  # kept for CI (tests/artifacts is git-ignored)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "airflow_standalone.sh")],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            yield Api(f"http://127.0.0.1:{port}", log), stack.bi_dsn
        finally:
            _stop(proc)


def _wait_healthy(api: Api) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    health: dict = {}
    while time.monotonic() < deadline:
        try:
            health = api.get("/api/v2/monitor/health")
            if all(
                health.get(c, {}).get("status") == "healthy"
                for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            ):
                return health
        except requests.RequestException:
            pass
        time.sleep(2)
    raise AssertionError(f"not healthy after {STARTUP_TIMEOUT_S}s: {health}\n{api.tail()}")


def _wait_dag(api: Api) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        dags = api.get("/api/v2/dags", dag_id_pattern=DAG_ID)["dags"]
        if dags:
            return dags[0]
        time.sleep(2)
    raise AssertionError(f"DAG {DAG_ID} not listed; import errors: {api.get('/api/v2/importErrors')}")


def test_standalone_ui_parses_the_dag_and_runs_it_via_rest(airflow: tuple[Api, str]) -> None:
    api, bi_dsn = airflow
    started = time.monotonic()
    _wait_healthy(api)
    dag = _wait_dag(api)
    ready_s = time.monotonic() - started
    errors = api.get("/api/v2/importErrors")
    assert errors["total_entries"] == 0, errors
    assert dag["is_paused"] is True  # paused at creation, as in production

    api.send("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    run = api.send(
        "POST", f"/api/v2/dags/{DAG_ID}/dagRuns",
        {"dag_run_id": "ui_test__2026-11-24", "logical_date": LOGICAL_DATE, "conf": {}},
    )
    run_id = run["dag_run_id"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = run["state"]
    while state not in ("success", "failed") and time.monotonic() < deadline:
        time.sleep(5)
        state = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
    tis = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
    summary = {ti["task_id"]: (ti["state"], ti.get("duration")) for ti in tis}
    print(summary)
    assert state == "success", f"run {state} after {time.monotonic() - started:.0f}s: {summary}\n{api.tail()}"
    assert summary["publish_marts"][0] == "success"
    with psycopg.connect(bi_dsn) as conn:
        (webinars,) = conn.execute("select count(*) from marts.webinar_attendance").fetchone()
    assert webinars > 0
    print(f"ready in {ready_s:.0f}s, run done in {time.monotonic() - started - ready_s:.0f}s")
