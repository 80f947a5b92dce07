"""Airflow 3 on CeleryExecutor on this machine, laid out like a small multi-host deployment.

    make celery                                  # = make stack manifest redis; this script
    python scripts/celery_stack.py --workers 2   # after `source .local/env.sh`

Starts ``redis-server`` (the broker) on a free loopback port, migrates a PostgreSQL metadata
database, then the scheduler, dag-processor, api-server and N Celery workers. Each worker runs
as if on its own host: its own working directory, ``HOME``, ``TMPDIR``, ``AIRFLOW_HOME``, task
log folder, log-server port, Cosmos cache, dbt log dir and docs folder, and its own hostname
(``worker-a``, ``worker-b``… recorded in ``task_instance.hostname``). What the workers share
is what a deployment shares: the DAG files and the package (read-only), the metadata DB, the
broker and the warehouse. All workers consume the ``default`` queue, so Celery spreads the
tasks over whichever has a free slot.

The environment this starts from is the caller's (``AIRFLOW_CONN_*``, ``DWH_*``); the test
layer in tests/celery drives :class:`CeleryStack` directly with its own warehouse and sandbox.
:class:`AirflowStack` is the same deployment on the LocalExecutor (no broker, no workers: the
scheduler runs the tasks); ``bench/airflow_run.py`` times the morning run on it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOSTNAME_ENV = "DWH_CELERY_HOSTNAME"
QUEUE = "default"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the stack: the worker's name, as a host name would be."""
    return os.environ.get(HOSTNAME_ENV) or socket.getfqdn()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_names(n: int) -> list[str]:
    return [f"worker-{chr(ord('a') + i)}" for i in range(n)]


#: ``[scheduler] scheduler_idle_sleep_time`` (Airflow's default 1 s): how long an idle scheduler
#: loop sleeps, i.e. how long a finished task's downstream task can wait to be queued. A morning
#: run is a chain of ~20 tasks; at 1 s that was ~0.7 s per step (bench/RESULTS.md).
SCHEDULER_IDLE_SLEEP_S = "0.25"


class AirflowStack:
    """Scheduler + dag-processor + api-server on the LocalExecutor, under ``base_dir``.

    ``metadata_dsn`` is a ``postgresql://`` DSN of an (empty or migrated) database for Airflow's
    metadata; ``env`` holds the pipeline's connections and settings; ``parallelism`` is
    ``[core] parallelism`` (the LocalExecutor starts that many worker processes). ``start()``
    migrates the metadata DB and returns once the api-server answers; ``stop()`` ends every
    process group it started. ``tuned``: the deployment settings of docker-compose.yaml that cut
    Airflow's fixed cost per task (forkserver preload, scheduler idle sleep); ``False`` keeps
    Airflow's defaults (``bench.airflow_run --airflow-defaults`` compares the two).
    """

    executor = "LocalExecutor"

    def __init__(
        self,
        base_dir: Path,
        metadata_dsn: str,
        env: dict[str, str],
        *,
        parallelism: int = 4,
        api_port: int | None = None,
        tuned: bool = True,
    ) -> None:
        self.tuned = tuned
        self.base_dir = Path(base_dir)
        self.metadata_dsn = metadata_dsn
        self.extra_env = env
        self.parallelism = parallelism
        self.api_port = api_port or free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = self.base_dir / "logs"
        self.migrate_s: float | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def worker_dir(self, name: str) -> Path:
        """The worker's "host": everything it writes lives below this folder."""
        return self.base_dir / name

    # ------------------------------------------------------------------ environment

    def common_env(self) -> dict[str, str]:
        sa_dsn = self.metadata_dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.pop("AIRFLOW_HOME", None)
        env.update(self.extra_env)
        env.update(
            {
                "PATH": f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
                "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
                "AIRFLOW__CORE__FERNET_KEY": self._secret("fernet"),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_base}/execution/",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sa_dsn,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": self.api_base,
                "AIRFLOW__API__SECRET_KEY": self._secret("api"),
                "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            }
        )
        if self.tuned:
            # as docker-compose.yaml: a finished task's downstream is queued within ~0.25 s
            env["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] = SCHEDULER_IDLE_SLEEP_S
        if self.tuned and self.executor == "LocalExecutor":
            # as docker-compose.yaml: task processes fork from workers that imported these once
            from webinar_dwh.orchestration import TASK_PRELOAD_MODULES

            env["AIRFLOW__SCHEDULER__MP_START_METHOD"] = "forkserver"
            env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"] = ",".join(TASK_PRELOAD_MODULES)
        return env

    def host_env(self, name: str) -> dict[str, str]:
        """The environment of one "host" (a Celery worker, or ``control`` for the other components)."""
        home = self.worker_dir(name)
        dirs = {
            d: home / d
            for d in ("home", "tmp", "airflow", "logs", "cosmos", "dbt-logs", "dbt-target", "docs", "cwd")
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        env = self.common_env()
        env.update(
            {
                HOSTNAME_ENV: name,
                "HOME": str(dirs["home"]),
                "TMPDIR": str(dirs["tmp"]),
                "AIRFLOW_HOME": str(dirs["airflow"]),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(dirs["logs"]),
                "AIRFLOW__COSMOS__CACHE_DIR": str(dirs["cosmos"]),
                "DBT_LOG_PATH": str(dirs["dbt-logs"]),
                "DWH_DBT_TARGET_DIR": str(dirs["dbt-target"]),
                "DWH_DOCS_DIR": str(dirs["docs"]),
            }
        )
        return env

    def _secret(self, name: str) -> str:
        path = self.base_dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            if name == "fernet":
                from cryptography.fernet import Fernet

                value = Fernet.generate_key().decode()
            else:
                value = secrets.token_urlsafe(32)
            path.write_text(value)
            path.chmod(0o600)
        return path.read_text()

    # ------------------------------------------------------------------ processes

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as out:
            self.procs[name] = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start(self, timeout: float = 240) -> None:
        """Migrate the metadata DB, start the components; return once the api-server answers."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._start_broker()
        control = self.host_env("control")
        cwd = self.worker_dir("control") / "cwd"
        started = time.monotonic()
        with (self.logs / "migrate.log").open("ab") as out:
            subprocess.run(
                ["airflow", "db", "migrate"], env=control, cwd=cwd, check=True, stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.migrate_s = time.monotonic() - started
        for comp in ("api-server", "scheduler", "dag-processor"):
            self._spawn(comp, ["airflow", comp], control, cwd)
        self._start_workers()
        self._wait_api(timeout)

    def _start_broker(self) -> None:
        """Nothing to start on the LocalExecutor (the Celery stack starts Redis here)."""
        self.logs.mkdir(parents=True, exist_ok=True)

    def _start_workers(self) -> None:
        """Nothing to start on the LocalExecutor: the scheduler runs the tasks."""

    def _wait_api(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: see {self.logs / name}.log")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.api_base}/api/v2/monitor/health", timeout=5).ok:
                    return
            time.sleep(1)
        raise RuntimeError(f"api-server not up after {timeout:.0f} s")

    def stop(self, grace: float = 15) -> None:
        """SIGTERM every process group started here, SIGKILL what is left after ``grace`` s."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


class CeleryStack(AirflowStack):
    """Redis + scheduler + dag-processor + api-server + N Celery workers, under ``base_dir``.

    As :class:`AirflowStack`, with the CeleryExecutor: ``workers`` workers of ``concurrency``
    slots each (``parallelism`` = their product), each in its own "host" folder.
    """

    executor = "CeleryExecutor"

    def __init__(
        self,
        base_dir: Path,
        metadata_dsn: str,
        env: dict[str, str],
        *,
        workers: int = 2,
        concurrency: int = 2,
        api_port: int | None = None,
    ) -> None:
        super().__init__(base_dir, metadata_dsn, env, parallelism=workers * concurrency, api_port=api_port)
        self.workers = worker_names(workers)
        self.concurrency = concurrency
        self.redis_port = free_port()

    def common_env(self) -> dict[str, str]:
        env = super().common_env()
        sa_dsn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        env.update(
            {
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "scripts.celery_stack.worker_hostname",
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sa_dsn,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": QUEUE,
            }
        )
        return env

    def _start_broker(self) -> None:
        super()._start_broker()
        redis_dir = self.base_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self._spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
            ],
            os.environ.copy(),
            redis_dir,
        )

    def _start_workers(self) -> None:
        for name in self.workers:
            env = self.host_env(name)
            env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
            self._spawn(
                name,
                [
                    "airflow",
                    "celery",
                    "worker",
                    "--queues",
                    QUEUE,
                    "--concurrency",
                    str(self.concurrency),
                    "--celery-hostname",
                    f"{name}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                env,
                self.worker_dir(name) / "cwd",
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--dir", type=Path, default=ROOT / ".local" / "celery")
    ap.add_argument("--fresh", action="store_true", help="drop the metadata DB and the folders first")
    args = ap.parse_args(argv)
    if not os.environ.get("AIRFLOW_CONN_DWH_DEFAULT"):
        print(
            "AIRFLOW_CONN_DWH_DEFAULT is not set: run 'make celery', or 'source .local/env.sh' first",
            file=sys.stderr,
        )
        return 2
    sys.path.insert(0, str(ROOT / "scripts"))
    import local_pg
    import psycopg
    from psycopg import sql

    server = local_pg.start().rsplit("/", 1)[0]
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        if args.fresh:
            conn.execute("drop database if exists airflow_celery with (force)")
            shutil.rmtree(args.dir, ignore_errors=True)
        if not conn.execute("select 1 from pg_database where datname = 'airflow_celery'").fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier("airflow_celery")))
    stack = CeleryStack(
        args.dir,
        server + "/airflow_celery",
        {},
        workers=args.workers,
        concurrency=args.concurrency,
        api_port=args.port,
    )
    try:
        stack.start()
        print(f"Airflow UI: {stack.api_base} (no login, 127.0.0.1 only); workers: {', '.join(stack.workers)}")
        print(f"logs: {stack.logs}; Ctrl-C stops everything")
        while all(p.poll() is None for p in stack.procs.values()):
            time.sleep(2)
        print("a component exited: stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
