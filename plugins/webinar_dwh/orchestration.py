"""Airflow wiring helpers used by the DAG file: default args, the Cosmos dbt task group, alerts.

Kept out of ``dags/`` so the DAG file reads like a table of contents. Nothing here does I/O at
import time; the Cosmos task group is rendered from the dbt manifest (``make manifest`` writes
``dbt_project/target/manifest.json``), so parsing the DAG never runs dbt.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from webinar_dwh.config import dwh_conn_id

log = logging.getLogger(__name__)

DBT_VARS: dict[str, str] = {
    # The cut-off of the marts ("now" for is_held, data_as_of): the run's data-interval end, or
    # the newest cut-off ever published if later — prepare_warehouse computes it
    # (pipeline.build_as_of), so a rerun of an older date never moves BI back.
    "as_of": (
        "{{ (ti.xcom_pull(task_ids='prepare_warehouse') or {}).get('as_of') "
        "or data_interval_end.isoformat() }}"
    ),
    # Stamped into every mart (macros/build_stamp.sql): the gate and publish check the build is this run's.
    "dag_run_id": "{{ run_id }}",
    "reporting_timezone": os.environ.get("DWH_TIMEZONE", "Europe/Berlin"),
}


def default_args() -> dict[str, Any]:
    """Retries with exponential backoff; owner shown in the UI."""
    return {
        "owner": "data-platform",
        "retries": int(os.environ.get("DWH_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "execution_timeout": timedelta(minutes=60),
    }


def _dbt_executable() -> str:
    """dbt from the same virtualenv as Airflow (one environment; see README)."""
    import sys

    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_build_group(project_dir: str | os.PathLike[str], group_id: str = "dbt_build"):
    """The dbt project as an Airflow task group: one task per model/seed, then one task for all tests.

    Models are visible and re-runnable one by one in the UI. The tests run once, after all
    models (``TestBehavior.AFTER_ALL``): everything is built in ``marts_build``, which BI cannot
    see, so a failing test still blocks the publish, and the run costs ~25 dbt invocations
    instead of ~90 (measured: a run per node with its tests took ~100 s on the demo data, most
    of it per-invocation overhead). The profile is built from the warehouse connection
    (``dwh_default``), never from a committed profiles.yml.
    """
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    project = Path(project_dir).resolve()
    manifest = project / "target" / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} is missing: run `make manifest` (dbt parse) before Airflow parses this DAG"
        )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=project,
            manifest_path=manifest,
            install_dbt_deps=False,
            partial_parse=True,
        ),
        profile_config=ProfileConfig(
            profile_name="webinar_dwh",
            target_name="airflow",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=dwh_conn_id(), profile_args={"schema": "staging", "threads": 2}
            ),
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=_dbt_executable(),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_ALL,
            enable_mock_profile=False,
        ),
        operator_args={
            "vars": DBT_VARS,
            "install_deps": False,
            "full_refresh": "{{ params.full_refresh }}",
            # Each task runs in a throw-away copy of the project: its manifest.json and
            # run_results.json (dbt writes the 1 MB manifest twice per invocation, ~0.3 s of
            # every task) are never read. partial_parse.msgpack and the compiled SQL the UI
            # shows are written regardless.
            "dbt_cmd_global_flags": ["--no-write-json"],
        },
        # dbt failures are rarely transient: one retry, fewer when the deployment sets fewer.
        default_args={"retries": min(1, default_args()["retries"])},
    )


def on_failure_alert(context: dict[str, Any]) -> None:
    """DAG-level failure callback: send the alert (DAG, task, logical date, reason)."""
    from webinar_dwh.alerts import send_alert

    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    send_alert(
        kind="failure",
        dag_id=getattr(dag_run, "dag_id", None) or "webinar_attendance",
        task_id=getattr(ti, "task_id", None),
        logical_date=str(context.get("logical_date")),
        reason=str(context.get("reason") or context.get("exception") or "task failed"),
    )
