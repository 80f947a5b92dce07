"""Start, stop and inspect the project's local PostgreSQL cluster (dev, demo, tests, bench).

The cluster lives in ``.local/pg`` (git-ignored). PostgreSQL refuses to run as root, so when this
script runs as root the data folder is owned by, and the server runs as, the unprivileged
``postgres`` system user. The port is ``DWH_PORT`` if set, else the port recorded at first start,
else the first free port from 55432 upward.

Usage::

    python scripts/local_pg.py start     # idempotent; prints the DSN
    python scripts/local_pg.py stop
    python scripts/local_pg.py status
    python scripts/local_pg.py dsn       # superuser DSN of the running cluster

Writes ``.local/pg/dsn`` with the superuser DSN once the server accepts connections.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_DIR = Path(os.environ.get("DWH_PG_DIR", ROOT / ".local" / "pg"))
DATA = PG_DIR / "data"
PORT_FILE = PG_DIR / "port"
DSN_FILE = PG_DIR / "dsn"
SUPERUSER = "postgres"
DATABASE = "dwh"
CANDIDATE_BINDIRS = [
    os.environ.get("PG_BINDIR", ""),
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/14/bin",
]


def bindir() -> Path:
    """Locate initdb/pg_ctl; fail with the package to install if absent."""
    for cand in CANDIDATE_BINDIRS:
        if cand and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    sys.exit(
        "PostgreSQL server binaries not found. Install them with "
        "`apt-get install -y postgresql` (Debian/Ubuntu) or set PG_BINDIR."
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _free_port(start: int = 55432) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found in 55432..55631")


def _port() -> int:
    if os.environ.get("DWH_PORT"):
        return int(os.environ["DWH_PORT"])
    if PORT_FILE.exists():
        return int(PORT_FILE.read_text().strip())
    return _free_port()


def _running() -> bool:
    if not (DATA / "PG_VERSION").exists():
        return False
    res = subprocess.run(
        _as_server_user([str(bindir() / "pg_ctl"), "-D", str(DATA), "status"]),
        capture_output=True,
        text=True,
    )
    return res.returncode == 0


def dsn(port: int | None = None, db: str = DATABASE) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port or _port()}/{db}"


def start() -> str:
    bins = bindir()
    PG_DIR.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(PG_DIR, pw.pw_uid, pw.pw_gid)
        # the server user must be able to traverse to the folder
        for parent in PG_DIR.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
    if not (DATA / "PG_VERSION").exists():
        subprocess.run(
            _as_server_user(
                [str(bins / "initdb"), "-D", str(DATA), "-U", SUPERUSER, "-A", "trust",
                 "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    port = _port()
    if not _running():
        opts = (
            f"-p {port} -k {PG_DIR} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=256MB -c max_wal_size=2GB"
        )
        subprocess.run(
            _as_server_user(
                [str(bins / "pg_ctl"), "-D", str(DATA), "-w", "-l", str(PG_DIR / "server.log"),
                 "-o", opts, "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    PORT_FILE.write_text(str(port))
    psql = str(bins / "psql") if (bins / "psql").exists() else "psql"
    exists = subprocess.run(
        [psql, "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres", "-tAc",
         f"select 1 from pg_database where datname = '{DATABASE}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres", "-qc",
             f"create database {DATABASE}"],
            check=True,
        )
    url = dsn(port)
    DSN_FILE.write_text(url + "\n")
    return url


def stop() -> None:
    if _running():
        subprocess.run(
            _as_server_user([str(bindir() / "pg_ctl"), "-D", str(DATA), "-m", "fast", "-w", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "start":
        print(start())
    elif cmd == "stop":
        stop()
    elif cmd == "status":
        print("running" if _running() else "stopped")
        return 0 if _running() else 3
    elif cmd == "dsn":
        print(dsn())
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
