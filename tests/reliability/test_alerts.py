"""What on-call hears, under Airflow: a BigMarker-only deployment, a bad setting, rejected
credentials, a warehouse that is not there.

One warehouse and one sandbox serving BigMarker only (Calendly and Zoom disabled, as in a
deployment that never had the legacy pair) and a real webhook receiver on 127.0.0.1
(``webhook``, tests/reliability/conftest.py). The first run is a whole morning; the others fail
at their first or second task, so they cost seconds.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import MORNING, make_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(module_db, airflow_metadata_db):
    with make_stack(module_db, sources=("bigmarker",)) as st:
        yield st


def _tis(dag_run) -> dict:
    return {ti.task_id: ti for ti in dag_run.get_task_instances()}


def _states(dag_run) -> dict[str, str]:
    return {task_id: str(ti.state) for task_id, ti in _tis(dag_run).items()}


def test_a_bigmarker_only_morning_publishes_quietly(stack, webhook, capfd, caplog):
    with caplog.at_level(logging.INFO):
        dag_run = stack.run(MORNING)
    out, err = capfd.readouterr()
    states = _states(dag_run)
    assert str(dag_run.state) == "success", states
    assert states["extract_load_calendly"] == states["extract_load_zoom"] == "skipped"
    assert states["publish_marts"] == "success"
    # disabled sources are never stale, and the skipped tasks leave no errors behind
    assert webhook == []
    assert "XCom not found" not in out + err + caplog.text
    (platforms,) = stack.query("select array_agg(distinct platform) from marts.webinar_attendance")[0]
    assert platforms == ["bigmarker"]


def test_a_bad_setting_keeps_the_dag_and_fails_the_first_task_with_an_alert(stack, webhook, monkeypatch):
    monkeypatch.setenv("DWH_TIMEZONE", "Mars/Olympus")
    dag = stack.dag()  # asserts the DagBag has no import errors
    assert "DWH_TIMEZONE='Mars/Olympus'" in dag.doc_md
    dag_run = stack.run(MORNING)
    tis = _tis(dag_run)
    assert str(dag_run.state) == "failed"
    assert str(tis["prepare_warehouse"].state) == "failed"
    assert tis["prepare_warehouse"].try_number == 1
    assert [a["task_id"] for a in webhook] == ["prepare_warehouse"]
    alert = webhook[0]
    assert alert["kind"] == "failure" and alert["logical_date"].startswith("2026-11-24")
    assert "DWH_TIMEZONE='Mars/Olympus' is not an IANA time zone" in alert["reason"]
    assert "/dags/webinar_attendance/runs/" in alert["log_url"] and "prepare_warehouse" in alert["log_url"]


def test_a_bad_retries_setting_never_breaks_the_dag_import(stack):
    # a fresh interpreter, as Airflow's DAG processor parses the file
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags' / 'webinar_attendance.py')!r})\n"
        "dag = bag.get_dag('webinar_attendance')\n"
        "print(bag.import_errors == {}, dag.default_args['retries'], 'DWH_TASK_RETRIES' in dag.doc_md)\n"
    )
    env = {**os.environ, "DWH_TASK_RETRIES": "two", "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "True 2 True", done.stderr[-2000:]


def test_rejected_credentials_fail_at_once_and_the_alert_names_the_task(stack, webhook, monkeypatch):
    wrong_key = "wrong-bigmarker-key-6f1c2d"
    conn = json.loads(os.environ["AIRFLOW_CONN_BIGMARKER_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_BIGMARKER_DEFAULT", json.dumps({**conn, "password": wrong_key}))
    monkeypatch.setenv("DWH_TASK_RETRIES", "2")  # a transient failure would be retried twice
    dag_run = stack.run(MORNING)
    tis = _tis(dag_run)
    assert str(tis["extract_load_bigmarker"].state) == "failed"
    assert tis["extract_load_bigmarker"].try_number == 1
    assert [a["task_id"] for a in webhook] == ["extract_load_bigmarker"]
    reason = webhook[0]["reason"]
    assert reason.startswith("AuthError: BigMarker rejected the API key (HTTP 401")
    assert "'bigmarker_default'" in reason
    assert "not retried" in reason
    assert wrong_key not in json.dumps(webhook)


def test_a_warehouse_outage_names_the_connection(stack, webhook, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_DWH_DEFAULT", f"postgresql://dwh_owner:s3cret-pw@127.0.0.1:{port}/dwh")
    dag_run = stack.run(MORNING)
    assert str(_tis(dag_run)["prepare_warehouse"].state) == "failed"
    assert [a["task_id"] for a in webhook] == ["prepare_warehouse"]
    reason = webhook[0]["reason"]
    assert f"warehouse connection 'dwh_default' (127.0.0.1:{port}/dwh) failed" in reason
    assert "s3cret-pw" not in json.dumps(webhook)
