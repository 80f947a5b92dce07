"""Run dbt commands in-process (dbtRunner) with the profile built from the warehouse connection.

Cosmos renders the model tasks; this module serves the few dbt commands that are not models
(``source freshness``) and the non-Airflow entry points (benchmark). The committed
``dbt_project/profiles.yml`` holds no secret: it reads ``DWH_*`` environment variables, which
are filled here from the ``dwh_default`` connection for the duration of the call only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from webinar_dwh import config
from webinar_dwh.contracts import PROJECT_DIR
from webinar_dwh.run import RunInfo

log = logging.getLogger(__name__)

#: Values of one run, handed to dbt as ``DWH_RUN_<NAME>`` (macro ``run_value``), never as ``--vars``.
RUN_VALUES = ("as_of", "dag_run_id")

#: Where these invocations keep their artifacts and partial-parse state. Not the project's own
#: ``target/``: Cosmos renders the DAG from ``target/manifest.json`` (written by ``make
#: manifest``), and dbt rewrites that file in place on every call, so a DAG parse running
#: meanwhile (the dag-processor, a task starting) could read half a file.
#: ``DWH_DBT_TARGET_DIR`` moves them out of the project: with several workers sharing the code
#: (a mounted volume, or two workers on one host), each keeps its own partial-parse state and
#: artifacts, so no task reads what a task on another worker wrote (tests/celery checks it).
TARGET_DIR = PROJECT_DIR / "target" / "run_dbt"


def target_dir() -> Path:
    """Where :func:`run_dbt` writes artifacts: ``DWH_DBT_TARGET_DIR``, else :data:`TARGET_DIR`."""
    return Path(config.dbt_target_dir() or TARGET_DIR)


def dbt_env(conn: config.ConnectionInfo) -> dict[str, str]:
    """``DWH_*`` variables the committed profiles.yml reads, from a warehouse connection."""
    return {
        "DWH_HOST": conn.host or "127.0.0.1",
        "DWH_PORT": str(conn.port or 5432),
        "DWH_USER": conn.login or "",
        "DWH_PASSWORD": conn.password or "",
        "DWH_DATABASE": conn.schema or "dwh",
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def run_dbt(args: list[str], *, conn: config.ConnectionInfo | None = None, dbt_vars: dict | None = None):
    """Invoke dbt in-process; returns dbt's ``dbtRunnerResult``.

    Artifacts go to :func:`target_dir` unless ``args`` name a ``--target-path`` themselves.
    """
    from dbt.cli.main import dbtRunner

    conn = conn or config.get_connection(config.dwh_conn_id())
    cli = [*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    if "--target-path" not in args:
        cli += ["--target-path", str(target_dir())]
    dbt_vars = dict(dbt_vars or {})
    # the run's own values go in as environment variables (macro run_value): passed as --vars
    # they would change dbt's parse checksum every run and force a full re-parse
    run_env = {f"DWH_RUN_{name.upper()}": str(dbt_vars.pop(name)) for name in RUN_VALUES if name in dbt_vars}
    if dbt_vars:
        cli += ["--vars", json.dumps(dbt_vars)]
    with config.patched_env({**dbt_env(conn), **run_env}):
        return dbtRunner().invoke(cli)


def run_source_freshness(run: RunInfo, sources: list[str] | None = None) -> dict[str, Any]:
    """``dbt source freshness`` of ``sources`` (default: all): which are stale (warn or error) at
    the run's interval end, by the thresholds ``DWH_FRESHNESS_WARN_HOURS`` / ``_ERROR_HOURS``."""
    # the thresholds: dbt reads DWH_FRESHNESS_*_HOURS itself (dbt_project.yml); validated here
    config.PipelineSettings.from_env()
    select = ["--select", *(f"source:{source}" for source in sources)] if sources else []
    res = run_dbt(["source", "freshness", *select], dbt_vars={"as_of": run.interval_end.isoformat()})
    stale: list[str] = []
    checked = 0
    for r in getattr(res.result, "results", None) or []:
        checked += 1
        status = str(getattr(r, "status", ""))
        if status.lower() in {"warn", "error", "runtime error"}:
            node = getattr(r, "node", None)
            stale.append(f"{getattr(node, 'source_name', '?')}.{getattr(node, 'name', '?')} ({status})")
    if res.exception is not None:
        log.warning("dbt source freshness could not run: %s", res.exception)
    return {"checked": checked, "stale": stale}
