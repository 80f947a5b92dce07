"""The local stack for demo, dashboard and Airflow UI: PostgreSQL, roles, the API sandbox, an env file.

Everything lives under ``.local/`` (git-ignored). Secrets for the local roles and the PII key are
generated once, randomly, into ``.local/secrets.json`` (mode 600) — nothing secret is committed.

Usage::

    python scripts/devstack.py up        # idempotent: cluster + roles + sandbox + .local/env.sh
    python scripts/devstack.py down      # stop sandbox and cluster
    python scripts/devstack.py status

``.local/env.sh`` exports the ``AIRFLOW_CONN_*`` connections and ``DWH_*`` settings; source it
to run ``airflow``, ``dbt`` or the dashboard by hand against the local stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / ".local"
SECRETS = LOCAL / "secrets.json"
ENV_FILE = LOCAL / "env.sh"
SANDBOX_PID = LOCAL / "sandbox.pid"
SANDBOX_LOG = LOCAL / "sandbox.log"
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8765"))
SANDBOX_SEED = os.environ.get("SANDBOX_SEED", "42")
SANDBOX_SCALE = os.environ.get("SANDBOX_SCALE", "0.1")
SANDBOX_AS_OF = os.environ.get("SANDBOX_AS_OF", "2026-11-24T05:00:00+00:00")

sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "scripts")]

import local_pg  # noqa: E402


def _secrets() -> dict[str, str]:
    LOCAL.mkdir(exist_ok=True)
    if SECRETS.exists():
        known = json.loads(SECRETS.read_text())
        if "crm_password" not in known:  # a stack set up before the follow-up lists existed
            known["crm_password"] = secrets.token_urlsafe(18)
            SECRETS.write_text(json.dumps(known))
        return known
    data = {
        "owner_password": secrets.token_urlsafe(18),
        "bi_password": secrets.token_urlsafe(18),
        "crm_password": secrets.token_urlsafe(18),
        "pii_key": secrets.token_urlsafe(32),
    }
    SECRETS.write_text(json.dumps(data))
    SECRETS.chmod(0o600)
    return data


def _sandbox_running() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def start_sandbox() -> None:
    if _sandbox_running():
        return
    cmd = [
        sys.executable, "-m", "sandbox", "serve", "--port", str(SANDBOX_PORT),
        "--seed", SANDBOX_SEED, "--scale", SANDBOX_SCALE, "--as-of", SANDBOX_AS_OF,
    ]
    with SANDBOX_LOG.open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    SANDBOX_PID.write_text(str(proc.pid))
    for _ in range(100):
        if _sandbox_running():
            return
        if proc.poll() is not None:
            sys.exit(f"sandbox exited with {proc.returncode}; see {SANDBOX_LOG}")
        time.sleep(0.1)
    sys.exit(f"sandbox did not answer on port {SANDBOX_PORT}; see {SANDBOX_LOG}")


def stop_sandbox() -> None:
    if SANDBOX_PID.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(SANDBOX_PID.read_text()), signal.SIGTERM)
        SANDBOX_PID.unlink()


def bootstrap(sec: dict[str, str]) -> str:
    """Start the cluster, create roles and the warehouse schema; return the owner DSN."""
    import psycopg

    from webinar_dwh.warehouse.bootstrap import bootstrap_roles, ensure_schema

    super_dsn = local_pg.start()
    port = local_pg._port()
    with psycopg.connect(super_dsn, autocommit=True) as conn:
        bootstrap_roles(
            conn, owner_password=sec["owner_password"], bi_password=sec["bi_password"],
            crm_password=sec["crm_password"], database=local_pg.DATABASE,
        )
    owner_dsn = f"postgresql://dwh_owner:{sec['owner_password']}@127.0.0.1:{port}/{local_pg.DATABASE}"
    with psycopg.connect(owner_dsn) as conn:
        ensure_schema(conn, pii_key=sec["pii_key"])
        conn.commit()
    return owner_dsn


def sandbox_connections(base_url: str) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` values pointing the production clients at the sandbox."""
    from sandbox import SandboxConfig
    from sandbox.connections import airflow_conn_env

    server = SimpleNamespace(
        base_url=base_url,
        config=SandboxConfig(),
        urls={
            "bigmarker": f"{base_url}/bigmarker/api/v1",
            "calendly": f"{base_url}/calendly",
            "zoom": f"{base_url}/zoom/v2",
            "zoom_oauth": f"{base_url}/zoom/oauth/token",
        },
    )
    return airflow_conn_env(server)


def write_env(owner_dsn: str, sec: dict[str, str]) -> dict[str, str]:
    from sandbox.connections import DBT_SEED_ENV

    port = local_pg._port()
    env = {
        "AIRFLOW_HOME": str(LOCAL / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{LOCAL / 'airflow' / 'airflow.db'}",
        "AIRFLOW_CONN_DWH_DEFAULT": owner_dsn,
        "DWH_PII_KEY": sec["pii_key"],
        "DWH_BI_DSN": f"postgresql://bi_reader:{sec['bi_password']}@127.0.0.1:{port}/{local_pg.DATABASE}",
        "DWH_CRM_DSN": f"postgresql://crm_reader:{sec['crm_password']}@127.0.0.1:{port}/{local_pg.DATABASE}",
        "DBT_PROFILES_DIR": str(ROOT / "dbt_project"),
        **DBT_SEED_ENV,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DWH_HOST": "127.0.0.1",
        "DWH_PORT": str(port),
        "DWH_USER": "dwh_owner",
        "DWH_PASSWORD": sec["owner_password"],
        "DWH_DATABASE": local_pg.DATABASE,
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
    }
    env.update(sandbox_connections(f"http://127.0.0.1:{SANDBOX_PORT}"))
    (LOCAL / "airflow").mkdir(parents=True, exist_ok=True)
    lines = ["# generated by scripts/devstack.py — local only, contains local secrets"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    ENV_FILE.write_text("\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)
    return env


def up() -> None:
    sec = _secrets()
    owner_dsn = bootstrap(sec)
    start_sandbox()
    write_env(owner_dsn, sec)
    print(f"warehouse: 127.0.0.1:{local_pg._port()}/{local_pg.DATABASE}  sandbox: 127.0.0.1:{SANDBOX_PORT}")
    print(f"environment: source {ENV_FILE.relative_to(ROOT)}")


def down() -> None:
    stop_sandbox()
    local_pg.stop()


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "up":
        up()
    elif cmd == "down":
        down()
    elif cmd == "status":
        print(f"postgres: {'running' if local_pg._running() else 'stopped'}")
        print(f"sandbox:  {'running' if _sandbox_running() else 'stopped'}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
