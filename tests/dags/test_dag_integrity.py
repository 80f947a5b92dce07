"""DAG integrity: the DAG folder imports cleanly and the morning DAG follows the team's policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dags

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="module")
def dag(dagbag):
    # .dags, not get_dag(): get_dag() consults the metadata DB, which this layer does not need
    return dagbag.dags["webinar_attendance"]


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "webinar_attendance" in dagbag.dag_ids


def test_dag_file_parses_with_no_connections_and_does_no_io_at_import():
    """Parsing must not call APIs or the warehouse: it works with no connections defined at all."""
    code = f"import runpy; runpy.run_path({str(ROOT / 'dags' / 'webinar_attendance.py')!r})"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["PYTHONPATH"] = f"{ROOT / 'plugins'}:{ROOT}"
    # the timeout only stops a hang (an import that waits on a network call); parse time is not asserted
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]


def test_policy_schedule_is_a_timezone_aware_morning_cron(dag):
    timetable = dag.timetable
    assert type(timetable).__name__ == "CronTriggerTimetable"
    expected_tz = __import__("os").environ.get("DWH_TIMEZONE", "Europe/Berlin")
    assert getattr(timetable._timezone, "name", str(timetable._timezone)) == expected_tz
    assert timetable._expression.startswith("0 6")
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_policy_tags_owner_retries_docs(dag):
    assert {"webinars", "bigmarker", "dbt"} <= set(dag.tags)
    assert dag.doc_md and "write-audit-publish" in dag.doc_md
    for t in dag.tasks:
        assert t.owner == "data-platform", t.task_id
        assert t.retries >= 1, t.task_id
    python_tasks = [t for t in dag.tasks if not t.task_id.startswith("dbt_build.")]
    assert all(t.retries >= 2 for t in python_tasks)
    undocumented = [t.task_id for t in python_tasks if not (t.doc_md or "").strip()]
    assert undocumented == [], "tasks without a docstring shown in the UI"


def test_structure_extract_then_dbt_then_validate_then_publish(dag):
    ids = set(dag.task_ids)
    for src in ("bigmarker", "calendly", "zoom"):
        assert f"extract_load_{src}" in ids
        assert dag.get_task(f"extract_load_{src}").upstream_task_ids == {"prepare_warehouse"}
    dbt_tasks = [t for t in ids if t.startswith("dbt_build.")]
    assert len(dbt_tasks) >= 5, dbt_tasks
    validate = dag.get_task("validate_marts")
    tests = dag.get_task("dbt_build.dbt_project_test")
    # the gate runs beside the dbt tests, after the same model tasks; publish waits for both
    assert validate.upstream_task_ids == tests.upstream_task_ids
    assert all(u.startswith("dbt_build.") for u in validate.upstream_task_ids)
    assert dag.get_task("publish_marts").upstream_task_ids == {"validate_marts", "dbt_build.dbt_project_test"}
    # every dbt task sits downstream of the loads
    # the freshness check alerts only: after publish (done or skipped), never after a failure
    freshness = dag.get_task("source_freshness")
    assert freshness.upstream_task_ids == {"loads_done", "publish_marts"}
    assert freshness.trigger_rule == "none_failed"
    assert dag.get_task("loads_done").trigger_rule == "none_failed"


def test_marts_are_built_where_bi_cannot_see_them():
    """No dbt model writes to the published schema, and only the follow-up lists (tag crm, built
    after publish) read it."""
    import json

    manifest = json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text())
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert [k for k, n in models.items() if n["schema"] == "marts"] == []
    published = {k for k, s in manifest["sources"].items() if s["schema"] == "marts"}
    readers = {k for k, n in models.items() if published & set(n["depends_on"]["nodes"])}
    assert readers and all("crm" in models[k]["tags"] for k in readers), readers
