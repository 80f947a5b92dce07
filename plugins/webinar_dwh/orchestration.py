"""Airflow wiring helpers used by the DAG file: default args, the Cosmos dbt task group, alerts.

Kept out of ``dags/`` so the DAG file reads like a table of contents. Nothing here does I/O at
import time; the Cosmos task group is rendered from the dbt manifest (``make manifest`` writes
``dbt_project/target/manifest.json``), so parsing the DAG never runs dbt.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from webinar_dwh.config import ConfigError, PipelineSettings, dwh_conn_id
from webinar_dwh.http import AuthError, ConfigurationError, NotJsonError

#: Failures that another try cannot fix: the task fails at once instead of retrying.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (AuthError, NotJsonError, ConfigurationError, ConfigError)

log = logging.getLogger(__name__)

#: What a LocalExecutor deployment imports once, in its fork server, instead of in every task
#: (``[scheduler] mp_start_method = forkserver``, ``[scheduler] mp_forkserver_preload`` = these,
#: comma-separated; docker-compose.yaml). Each task process is forked from an executor worker; without
#: this it imports Cosmos, its Airflow plugin and this package again to parse the DAG file
#: (0.6 s of CPU, 0.1 s with them preloaded) for each of the morning's ~57 tasks, and GX and dbt
#: again in the tasks that use them. A module that fails to import is skipped by Python's fork
#: server, so the list can never stop a worker.
TASK_PRELOAD_MODULES: tuple[str, ...] = (
    "airflow.dag_processing.dagbag",
    "airflow.providers.standard.operators.empty",
    "airflow.providers.standard.operators.python",
    "cosmos",
    "cosmos.converter",
    "cosmos.operators.watcher",
    "cosmos.plugin.airflow3",
    "cosmos.profiles",
    "webinar_dwh.orchestration",
    "webinar_dwh.pipeline",
    "dbt.cli.main",
    "great_expectations",
)


def dbt_run_env() -> dict[str, str]:
    """The run's values for the Cosmos tasks (Jinja templates Airflow renders per task), as the
    environment variables dbt's macro ``run_value`` reads — not as ``--vars``, which would change
    dbt's parse checksum every run and make every dbt task re-parse the whole project."""
    return {
        # The cut-off of the marts ("now" for is_held, data_as_of): the run's data-interval end,
        # or the newest cut-off ever published if later — prepare_warehouse computes it
        # (pipeline.build_as_of), so a rerun of an older date never moves BI back.
        "DWH_RUN_AS_OF": (
            "{{ (ti.xcom_pull(task_ids='prepare_warehouse') or {}).get('as_of') "
            "or data_interval_end.isoformat() }}"
        ),
        # Stamped into every mart (macros/build_stamp.sql): gate and publish check the build is this run's.
        "DWH_RUN_DAG_RUN_ID": "{{ run_id }}",
    }


def default_args(settings: PipelineSettings) -> dict[str, Any]:
    """Retries with exponential backoff (transient failures only: see :func:`fail_fast`); every
    task that fails for good sends its own alert (:func:`on_failure_alert`); owner shown in the UI."""
    return {
        "owner": "data-platform",
        "retries": settings.task_retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "execution_timeout": timedelta(minutes=60),
        "on_failure_callback": on_failure_alert,
    }


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn failures another try cannot fix (rejected credentials, a wrong base URL, an invalid
    setting or connection) into Airflow's no-retry failure; everything else keeps its retries."""
    try:
        yield
    except PERMANENT_ERRORS as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{exc} — not retried: fix it, then clear the task") from exc


def _dbt_executable() -> str:
    """dbt from the same virtualenv as Airflow (one environment; see README)."""
    import sys

    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_build_group(
    project_dir: str | os.PathLike[str], settings: PipelineSettings, group_id: str = "dbt_build"
):
    """The dbt project as an Airflow task group: one ``dbt build`` for all models, one task per
    model showing its result, then one task for all tests.

    Cosmos's watcher execution mode: a producer task (``dbt_producer_watcher``) runs **one**
    ``dbt run``-like build of every model and seed with dbt's own threads; each model keeps its
    own task, which reads that model's result from the producer (state, timing, compiled SQL in
    the UI). A model task cleared or retried on its own runs ``dbt run --select <model>`` with the
    run's values, as before. The models of a morning cost one dbt start-up instead of one per
    model (each 1 to 4 s in a task of its own; bench/RESULTS.md, "Morning run under the
    scheduler").

    The model tasks start after the producer has finished (:func:`_models_after_producer`), so
    they never wait in a worker slot or need a triggerer, and a run on one process
    (``dag.test``) runs them in order. If a model fails in the build, its own task fails and its
    retry rebuilds it alone; a cleared producer is skipped (Cosmos never starts a second
    ``dbt build`` in a run) and every model task rebuilds its own model.

    The tests run once, after all models (``TestBehavior.AFTER_ALL``): everything is built in
    ``marts_build``, which BI cannot see, so a failing test still blocks the publish. The
    profile is built from the warehouse connection (``dwh_default``), never from a committed
    profiles.yml.
    """
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        PRODUCER_WATCHER_DONE_TASK_ID,
        PRODUCER_WATCHER_TASK_ID,
        ExecutionMode,
        InvocationMode,
        LoadMode,
        TestBehavior,
    )
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    project = Path(project_dir).resolve()
    manifest = project / "target" / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} is missing: run `make manifest` (dbt parse) before Airflow parses this DAG"
        )
    group = DbtTaskGroup(
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
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=_dbt_executable(),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # The follow-up lists read the published marts: built after publish (build_followups).
            exclude=["tag:crm"],
            test_behavior=TestBehavior.AFTER_ALL,
            enable_mock_profile=False,
        ),
        operator_args={
            # the rest of the environment (DWH_TIMEZONE for the reporting time zone, …) is the
            # worker's, as for every task
            "env": dbt_run_env(),
            "append_env": True,
            "install_deps": False,
            "full_refresh": "{{ params.full_refresh }}",
            # Each task runs in a throw-away copy of the project: its manifest.json and
            # run_results.json are never read. partial_parse.msgpack and the compiled SQL the UI
            # shows are written regardless.
            "dbt_cmd_global_flags": ["--no-write-json"],
        },
        # dbt failures are rarely transient: one retry, fewer when the deployment sets fewer
        # (the producer itself is never retried: Cosmos skips a second attempt).
        default_args={"retries": min(1, settings.task_retries)},
    )
    _models_after_producer(
        group, f"{group_id}.{PRODUCER_WATCHER_TASK_ID}", f"{group_id}.{PRODUCER_WATCHER_DONE_TASK_ID}"
    )
    return group


#: The task Cosmos renders for all of the project's tests (``TestBehavior.AFTER_ALL``).
TESTS_TASK_ID = "dbt_project_test"


def gate_beside_tests(group: Any, gate: Any, publish: Any) -> None:
    """Wire the quality gate beside the dbt tests: ``models >> [tests, gate] >> publish``.

    Both read the built marts in ``marts_build`` and neither changes them, so the gate need not
    wait for the tests (on 2 cores it saves about the gate's own time on the way to BI);
    publish waits for both. When a model fails, tests, gate and publish do not run.
    """
    test_id = f"{group.group_id}.{TESTS_TASK_ID}"
    test = group.children.get(test_id)
    if test is None:
        raise ValueError(f"{group.group_id}: no {test_id} task (test behaviour AFTER_ALL renders it)")
    for model in test.upstream_list:
        model >> gate
    [test, gate] >> publish


#: The task between the producer and the model tasks (see :func:`_models_after_producer`).
MODELS_READY_TASK_ID = "models_ready"


def _models_after_producer(group: Any, producer_id: str, done_id: str) -> None:
    """Start the model tasks once the producer has finished: ``producer >> done >> models_ready
    >> every root model task``.

    Cosmos leaves the model tasks in parallel with the producer inside a task group (as sensors
    polling its results); here they would only hold worker slots while dbt runs. ``models_ready``
    (trigger rule ``all_done``) opens when the producer has *finished*, whatever its outcome:
    after a success each model task reports its model; after a failed build the failed model's
    task fails with dbt's error (and, on its retry, rebuilds the model on its own) while the
    others report success; after a skip (a cleared producer: Cosmos never starts a second
    ``dbt build`` in a run) every model task builds its own model. It fails — so nothing
    downstream runs — when the producer never ran because something before it failed.
    Cosmos's own ``done`` task stays between them, so it is no longer a leaf of the group the
    gate would wait for.
    """
    from airflow.providers.standard.operators.python import PythonOperator

    tasks = {t.task_id: t for t in group.children.values() if hasattr(t, "upstream_task_ids")}
    in_group = set(tasks)
    roots = [
        task
        for task_id, task in tasks.items()
        if task_id not in {producer_id, done_id} and not (task.upstream_task_ids & in_group)
    ]
    ready = PythonOperator(
        task_id=MODELS_READY_TASK_ID,
        task_group=group,
        python_callable=_producer_finished,
        op_kwargs={"producer_task_id": producer_id},
        trigger_rule="all_done",
        # Retries as the group's: its own verdict is final (AirflowFailException), a hiccup of
        # the API server is not. No alert of its own: the task that stopped the run before dbt
        # has already sent one.
        on_failure_callback=None,
        doc_md="Opens the model tasks once the dbt build (the producer) has finished, whatever "
        "its outcome; fails when the build never ran because an earlier task failed.",
    )
    tasks[done_id] >> ready
    for task in roots:
        ready >> task
    # Released together, the model tasks queue for the executor's slots. Cosmos weighs them all
    # alike; weighed by what waits for them, the long chain to the tests (staging → intermediate
    # → forecast marts) goes first and the leaves fill the gaps.
    for task_id, task in tasks.items():
        if task_id not in {producer_id, done_id}:
            task.weight_rule = "downstream"
            task.priority_weight = 1


def _producer_finished(producer_task_id: str, **context: Any) -> str:
    """``models_ready``: succeed once the producer ran (success, failure or skip), fail if it never did."""
    from airflow.sdk.exceptions import AirflowFailException

    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[producer_task_id], run_ids=[ti.run_id])
    state = str(states.get(ti.run_id, {}).get(producer_task_id))
    if state not in {"success", "failed", "skipped"}:
        raise AirflowFailException(
            f"the dbt build did not run ({producer_task_id}: {state}): a task before it failed; "
            "fix that one and clear it with its downstream tasks"
        )
    return state


def on_failure_alert(context: dict[str, Any]) -> None:
    """Task failure callback (each task that failed for good, after its retries): alert with the
    task, the logical date, the exception's (redacted) message and the link to the task's log."""
    from webinar_dwh.alerts import send_alert

    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        # name what went wrong (AuthError, ConfigError, …), not the no-retry wrapper of fail_fast
        cause = exc.__cause__ if exc.__cause__ is not None and isinstance(exc, _no_retry_type()) else exc
        reason = f"{type(cause).__name__}: {exc}"
    else:
        reason = str(exc or "task failed")
    send_alert(
        kind="failure",
        dag_id=getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", None) or "webinar_attendance",
        task_id=getattr(ti, "task_id", None),
        logical_date=str(context.get("logical_date")),
        reason=reason,
        log_url=_log_url(ti),
    )


def on_run_failure_alert(context: dict[str, Any]) -> None:
    """DAG-level failure callback: alert only for what no task reported (a run timeout); a failed
    task has already sent its own alert with its exception."""
    from webinar_dwh.alerts import send_alert

    reason = str(context.get("reason") or "")
    if reason in {"", "task_failure"}:
        return
    dag_run = context.get("dag_run")
    send_alert(
        kind="run_failure",
        dag_id=getattr(dag_run, "dag_id", None) or "webinar_attendance",
        task_id=None,
        logical_date=str(context.get("logical_date")),
        reason=f"the run failed: {reason}",
    )


def _no_retry_type() -> type[BaseException]:
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException


def _log_url(ti: Any) -> str | None:
    try:
        return str(ti.log_url) if ti is not None and getattr(ti, "log_url", None) else None
    except Exception:  # the URL is a convenience: never let it hide the alert
        return None
