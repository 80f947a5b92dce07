"""``scripts/airflow_standalone.sh`` driven over REST, in the background of the test session.

:class:`StandaloneRun` gives the script what ``make airflow`` gives it — its own ``AIRFLOW_HOME``
(SQLite metadata) in a temp folder, the API on a free port, a fresh warehouse database and an
in-process API sandbox (all three sources) — and a thread that goes through Airflow's public
REST API v2 like a person at the UI would: health, DAG listing, import errors, unpause,
trigger a run, poll it to the end. The thread only records what it saw (:class:`Observed`);
``test_standalone.py`` asserts on it.

Why in the background: the run executes ~33 task processes (LocalExecutor) and takes ~100 s
of wall time on 2 cores, most of it waiting on process start-up and the scheduler loop. The
suite's conftest starts it when the session reaches the DAG layers, so it runs beside them
instead of after them. Everything it touches is its own: database, sandbox port, Airflow home,
Cosmos cache, docs folder; its environment is handed to the subprocess and never set in this
process. Once the run is over the thread stops Airflow at once (its idle components would
otherwise keep a core busy for the rest of the session).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
LOG = ARTIFACTS / "airflow_standalone.log"  # kept for CI (tests/artifacts is git-ignored)
DAG_ID = "webinar_attendance"
LOGICAL_DATE = "2026-11-24T05:00:00Z"  # the sandbox's clock: 06:00 Europe/Berlin on the 24th
RUN_ID = "ui_test__2026-11-24"
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = int(os.environ.get("AIRFLOW_UI_TEST_RUN_TIMEOUT_S", "600"))
STOP_TIMEOUT_S = 15
POLL_S = 2.0
COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
#: Where tests/conftest.py keeps the session's run (``config.stash``).
standalone_key: pytest.StashKey[StandaloneRun] = pytest.StashKey()


@dataclass
class Observed:
    """What the REST walk-through saw; ``error`` is the traceback of whatever stopped it early."""

    health: dict[str, Any] = field(default_factory=dict)
    dag: dict[str, Any] = field(default_factory=dict)
    import_errors: dict[str, Any] = field(default_factory=dict)
    run_state: str | None = None
    tasks: dict[str, tuple[str | None, float | None]] = field(default_factory=dict)
    published_webinars: int | None = None
    ready_s: float | None = None
    run_s: float | None = None
    error: str | None = None

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the standalone's output (for failure messages)."""
        return LOG.read_text(errors="replace")[-chars:] if LOG.exists() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Api:
    """A tiny client for Airflow's REST API v2 (all-admins dev mode: no token needed)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: Any) -> dict:
        resp = requests.get(f"{self.base}{path}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def send(self, method: str, path: str, body: dict) -> dict:
        resp = requests.request(method, f"{self.base}{path}", json=body, timeout=30)
        if not resp.ok:
            raise AssertionError(f"{method} {path}: {resp.status_code} {resp.text[:2000]}")
        return resp.json()


class StandaloneRun:
    """One ``airflow_standalone.sh`` with its own warehouse and sandbox, walked through over REST.

    ``start()`` returns at once; ``wait()`` blocks until the walk-through is over and returns
    what it observed; ``stop()`` (idempotent) ends Airflow, the sandbox and the database.
    """

    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.db_name = f"ui_{uuid.uuid4().hex[:12]}"
        self.observed = Observed()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._sandbox: Any = None
        self._home: Path | None = None
        self._bi_dsn: str | None = None
        self._stopped = False

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Create the warehouse, start the sandbox and the script, begin the walk-through."""
        from sandbox import SandboxConfig, SandboxServer
        from tests.e2e.harness import bootstrap_warehouse, stack_env

        if self.started:
            return
        self._thread = threading.Thread(target=self._walk_through, name="airflow-standalone", daemon=True)
        try:
            with psycopg.connect(self.server_dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.db_name)))
            db_dsn = self.server_dsn.rsplit("/", 1)[0] + "/" + self.db_name
            owner_dsn, self._bi_dsn = bootstrap_warehouse(db_dsn)
            self._sandbox = SandboxServer(SandboxConfig()).start()
            self._home = Path(tempfile.mkdtemp(prefix="airflow-standalone-"))
            port = _free_port()
            env = {
                k: v for k, v in os.environ.items()
                if not k.startswith(("AIRFLOW_CONN_", "DWH_")) and k != "AIRFLOW__CORE__UNIT_TEST_MODE"
            }
            env.update(stack_env(owner_dsn, self._sandbox, ("bigmarker", "calendly", "zoom")))
            env.update({
                "AIRFLOW_HOME": str(self._home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self._home / 'airflow.db'}",
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                # its own Cosmos partial-parse cache and docs: the session's DAG runs use theirs meanwhile
                "AIRFLOW__COSMOS__CACHE_DIR": str(self._home / "cosmos"),
                "DWH_DOCS_DIR": str(self._home / "docs"),
                "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
            })
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with LOG.open("wb") as out:
                self._proc = subprocess.Popen(
                    ["bash", str(ROOT / "scripts" / "airflow_standalone.sh")],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            self._api = _Api(f"http://127.0.0.1:{port}")
        except Exception:
            self.observed.error = traceback.format_exc()
            self._stop_airflow()
            self._thread = threading.Thread(target=lambda: None, daemon=True)  # nothing to walk through
        self._started_at = time.monotonic()
        self._thread.start()

    def wait(self, timeout: float = STARTUP_TIMEOUT_S + RUN_TIMEOUT_S + 60) -> Observed:
        """Block until the walk-through is over (starting it if need be); returns what it saw."""
        if not self.started:
            self.start()
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive() and self.observed.error is None:
            self.observed.error = f"the walk-through did not finish within {timeout:.0f} s"
        return self.observed

    def stop(self) -> None:
        """Stop Airflow and the sandbox, drop the database and the temp Airflow home (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_airflow()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(30)
        if self._sandbox is not None:
            with contextlib.suppress(Exception):
                self._sandbox.stop()
        if not os.environ.get("KEEP_TEST_DB"):
            with psycopg.connect(self.server_dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.db_name))
                )
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)

    # ------------------------------------------------------------------ internals

    def _walk_through(self) -> None:
        seen = self.observed
        try:
            seen.health = self._wait_healthy()
            seen.dag = self._wait_dag()
            seen.ready_s = round(time.monotonic() - self._started_at, 1)
            seen.import_errors = self._api.get("/api/v2/importErrors")
            self._api.send("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
            run = self._api.send(
                "POST", f"/api/v2/dags/{DAG_ID}/dagRuns",
                {"dag_run_id": RUN_ID, "logical_date": LOGICAL_DATE, "conf": {}},
            )
            state = run["state"]
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while state not in ("success", "failed") and time.monotonic() < deadline:
                time.sleep(POLL_S)
                state = self._api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{RUN_ID}")["state"]
            seen.run_state = state
            seen.run_s = round(time.monotonic() - self._started_at - seen.ready_s, 1)
            tis = self._api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances", limit=100)
            seen.tasks = {ti["task_id"]: (ti["state"], ti.get("duration")) for ti in tis["task_instances"]}
            with psycopg.connect(self._bi_dsn) as conn:
                (seen.published_webinars,) = conn.execute(
                    "select count(*) from marts.webinar_attendance"
                ).fetchone()
        except Exception:
            seen.error = traceback.format_exc()
        finally:
            self._stop_airflow()  # its idle components would keep a core busy for the rest of the session

    def _wait_healthy(self) -> dict:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        health: dict = {}
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise AssertionError(f"airflow_standalone.sh exited with {self._proc.returncode}")
            try:
                health = self._api.get("/api/v2/monitor/health")
                if all(health.get(c, {}).get("status") == "healthy" for c in COMPONENTS):
                    return health
            except requests.RequestException:
                pass
            time.sleep(POLL_S)
        raise AssertionError(f"not healthy after {STARTUP_TIMEOUT_S}s: {health}")

    def _wait_dag(self) -> dict:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            dags = self._api.get("/api/v2/dags", dag_id_pattern=DAG_ID)["dags"]
            if dags:
                return dags[0]
            time.sleep(POLL_S)
        errors = self._api.get("/api/v2/importErrors")
        raise AssertionError(f"DAG {DAG_ID} not listed; import errors: {errors}")

    def _stop_airflow(self) -> None:
        """SIGTERM to the script's process group (all of Airflow's components), SIGKILL what is left.

        Not SIGINT: a shell that starts the suite in the background hands its children SIGINT
        *ignored*, and standalone would never react to it.
        """
        proc = self._proc
        if proc is None:
            return
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
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
