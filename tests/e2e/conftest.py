"""Fixtures of the end-to-end layer (the harness itself is in harness.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_metadata_db() -> None:
    """Migrate the test Airflow home's metadata DB once (SQLite is fine for ``dag.test``)."""
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True, capture_output=True, env=os.environ.copy(),
    )
