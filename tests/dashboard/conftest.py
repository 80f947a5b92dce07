"""A real published warehouse for the dashboard tests, and the dashboard served from it.

The warehouse is the session's ``clean_morning`` (tests/conftest.py): the pipeline's own
functions, without Airflow, against a new database and the API sandbox (seed 42):
``extract_load`` per source, ``dbt seed`` + ``dbt build`` (into ``marts_build``, with the
models' tests) and publish (swap into ``marts``). It is built once per session and shared with
the reliability layer, which compares its scenarios with it; every dashboard test only reads
it, as ``bi_reader`` like the dashboard does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import PublishedWarehouse

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def published_warehouse(clean_morning: PublishedWarehouse) -> PublishedWarehouse:
    """The session's published clean morning (``clean_morning``, tests/conftest.py); read it only."""
    return clean_morning


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def streamlit_server(published_warehouse: PublishedWarehouse, tmp_path_factory) -> Iterator[str]:
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
