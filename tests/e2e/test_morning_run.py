"""The morning run through Airflow, end to end: all three sources → raw → dbt → GX → published marts.

One warehouse and one sandbox for the module; the tests run in order and build on each other
(a full Airflow run costs ~40-60 s, so this module holds every check that needs Airflow itself):

1. a first run publishes exactly the sandbox's ground truth (computed from the generator, never
   from the pipeline); hostile titles served by the sandbox round-trip byte for byte; vendor
   values the pipeline has never seen (the sandbox's ``surprises``: languages, types, statuses,
   zone names, extra nesting, nulls, new fields) land in their documented buckets, are
   reported (``marts.vendor_value_notices``, a warning of ``run_report``) and block nothing; no
   secret appears in anything the run printed, logged, rendered or stored as XCom; the dbt docs
   are written on this first run already;
2. a rerun of the same date leaves identical marts; clearing the gate (with downstream) of that
   published run, or publishing again, changes nothing (BI never gets the previous build back);
3. a model that fails inside the morning's one `dbt build` fails its own task and blocks the
   publish; when the failure was transient, that task's retry rebuilds the model alone and
   the run publishes;
4. a run whose data breaks a mart expectation fails at `validate_marts` and `marts` keeps the
   previous good build (the broken marts are built with the pipeline's own extract + one
   `dbt build`; Airflow marks the tasks before the gate done and runs the gate and publish).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.e2e.harness import BI_PASSWORD, OWNER_PASSWORD, PII_KEY, make_stack
from tests.receivers import Received, http_receiver, smtp_receiver, text_part
from tests.reliability.support import load_all, truth_mismatches
from webinar_dwh.followups import export_csv

pytestmark = pytest.mark.e2e

# 06:00 Europe/Berlin on 2026-11-24: the data interval ends at the sandbox's default clock.
LOGICAL = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
#: The tasks up to the gate: the failed-expectation run marks them done (see that test).
BUILT_BEFORE_THE_GATE = r"prepare_warehouse|extract_load_\w+|loads_done|dbt_build\..+"
#: The run that published last (run id, run_after), for the test that clears its gate.
PUBLISHED_RUN: dict = {}


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory) -> Path:
    """The module's ``DWH_DOCS_DIR``: empty before the first run, like a fresh clone's."""
    return tmp_path_factory.mktemp("docs")


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[Received, Received]]:
    """The team's webhook and mailbox (real HTTP and SMTP servers) the morning digest goes to."""
    with http_receiver() as hook, smtp_receiver() as mailbox:
        yield hook, mailbox


@pytest.fixture(scope="module")
def stack(module_db, airflow_metadata_db, docs_dir, receivers):
    from sandbox.config import Faults
    from webinar_dwh.config import patched_env

    hook, mailbox = receivers
    host, port = mailbox.url.split(":")
    destinations = {
        "AIRFLOW_CONN_DIGEST_WEBHOOK": json.dumps(
            {"conn_type": "http", "host": hook.url, "extra": {"format": "json"}}
        ),
        "AIRFLOW_CONN_DIGEST_EMAIL": json.dumps(
            {
                "conn_type": "smtp",
                "host": host,
                "port": int(port),
                "extra": {"to": "team@example.com", "from_email": "dwh@example.com"},
            }
        ),
        "DWH_DASHBOARD_URL": "https://bi.example.com/webinars",
    }
    sources = ("bigmarker", "calendly", "zoom")
    with (
        patched_env({"DWH_DOCS_DIR": str(docs_dir), **destinations}),
        make_stack(module_db, sources=sources, faults=Faults(hostile_titles=True, surprises=True)) as st,
    ):
        yield st


def _task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _secrets(stack) -> dict[str, str]:
    creds = stack.sandbox.config.credentials
    return {
        "BigMarker API key": creds.bigmarker_api_key,
        "Calendly token": creds.calendly_token,
        "Zoom client secret": creds.zoom_client_secret,
        "warehouse owner password": OWNER_PASSWORD,
        "BI reader password": BI_PASSWORD,
        "DWH_PII_KEY": PII_KEY,
    }


def _metadata_rows(run_id: str) -> dict[str, list[str]]:
    """The run's rendered template fields and XComs, as text, from the metadata DB (SQLite)."""
    db = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    out: dict[str, list[str]] = {}
    with sqlite3.connect(db) as conn:
        for table in ("rendered_task_instance_fields", "xcom"):
            rows = conn.execute(
                f"select * from {table} where dag_id = ? and run_id = ?", ("webinar_attendance", run_id)
            ).fetchall()
            out[table] = [
                " ".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row)
                for row in rows
            ]
    return out



def test_first_run_publishes_the_ground_truth_without_leaking_secrets(stack, docs_dir, capfd, caplog):
    from sandbox.server import HOSTILE_TITLES

    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        dag_run = stack.run(LOGICAL)
    seconds = time.monotonic() - started
    out, err = capfd.readouterr()
    states = _task_states(dag_run)
    failed = {task: state for task, state in states.items() if state == "failed"}
    assert str(dag_run.state) == "success", (failed, (out + err)[-6000:])
    print(f"\nAirflow run {dag_run.run_id}: {dag_run.state} in {seconds:.0f} s")

    # the numbers: every webinar of both platforms equals the generator's ground truth
    hostile_ids = sorted(stack.sandbox.universe.bad_date_ids)
    truth = stack.sandbox.truth()
    assert truth_mismatches(stack, truth, ignore_catalog_for=hostile_ids) == []
    platforms = {r[0] for r in stack.query("select distinct platform from marts.webinar_attendance")}
    assert platforms == {"bigmarker", "legacy"}

    # unseen vendor values: published in their buckets (the truth above buckets them on its own)
    # and reported - the field, the raw value, the bucket, the webinars; never an e-mail
    notices = {
        (r[0], r[1]): r[2:]
        for r in stack.query(
            "select field, raw_value, bucket, example_webinar_ids from marts.vendor_value_notices",
            as_bi=True,
        )
    }
    assert notices[("bigmarker.conference.language", "ru")][0] == "other"
    assert notices[("calendly.invitee.status", "awaiting_payment")][0] == "other"
    assert {f for f, _ in notices} >= {
        "bigmarker.conference.type",
        "bigmarker.conference.time_zone",
        "zoom.webinar.type",
        "zoom.webinar.timezone",
        "zoom.participant.status",
        "calendly.event.status",
        "calendly.invitee.timezone",
    }
    # the marts equal the truth (above), which has webinars in the bucket 'other'
    assert any(w["language"] == "other" for w in truth["webinars"])
    # run_report warned about them (its XCom counts the lines it logged)
    xcoms = "\n".join(_metadata_rows(dag_run.run_id)["xcom"])
    assert {int(n) for n in re.findall(r'"vendor_value_notices":\s*(\d+)', xcoms)} == {len(notices)}
    # the first run of a fresh warehouse already writes the dbt docs (refresh_docs, after publish)
    assert (docs_dir / "dbt" / "index.html").is_file(), "refresh_docs wrote no dbt docs"
    assert (docs_dir / "dbt" / "catalog.json").is_file()

    # hostile titles (SQL, quotes, shell, emoji, RTL, %s, Jinja) arrive byte for byte
    titles = dict(
        stack.query(
            "select webinar_id, title from marts.dim_webinars "
            "where platform = 'bigmarker' and webinar_id = any(%s)",
            (hostile_ids,),
            as_bi=True,
        )
    )
    assert {titles[i] for i in hostile_ids} == set(HOSTILE_TITLES)

    # no secret in stdout/stderr, logs, rendered templates or XComs
    metadata = _metadata_rows(dag_run.run_id)
    assert metadata["rendered_task_instance_fields"] and metadata["xcom"]
    places = {
        "stdout": out,
        "stderr": err,
        "logging": caplog.text,
        **{table: "\n".join(rows) for table, rows in metadata.items()},
    }
    leaks = [
        (what, where)
        for what, secret in _secrets(stack).items()
        for where, text in places.items()
        if secret in text
    ]
    assert leaks == []


def test_the_morning_digest_and_the_follow_up_lists_are_the_published_numbers(stack, receivers):
    """After the first run: one digest per destination whose numbers are the published marts;
    the follow-up lists tie out with the marts, readable by crm_reader and never by bi_reader."""
    hook, mailbox = receivers
    (body,) = hook.items
    data = body["data"]
    assert data["day"] == "2026-11-24" and data["dashboard_url"] == "https://bi.example.com/webinars"
    held = stack.query(
        "select webinar_id, registered, attended from marts.webinar_attendance "
        "where is_held and webinar_date = '2026-11-23' order by start_time, title",
        as_bi=True,
    )
    yesterday = [[w["webinar_id"], w["registered"], w["attended"]] for w in data["yesterday"]]
    assert yesterday == [list(r) for r in held]
    coming = stack.query(
        "select webinar_id, registered_so_far, forecast_registrations, forecast_attendees, pace_status "
        "from marts.webinar_forecast where webinar_date between '2026-11-24' and '2026-11-30' "
        "order by start_time, title",
        as_bi=True,
    )
    assert coming, "the sandbox schedules webinars in the coming week"
    upcoming = [
        [w[k] for k in ("webinar_id", "registered_so_far", "forecast_registrations", "forecast_attendees")]
        + [w["pace_status"]]
        for w in data["upcoming"]
    ]
    assert upcoming == [list(r) for r in coming]
    assert len(data["flags"]) == stack.query("select count(*) from marts.webinar_flags", as_bi=True)[0][0]
    (mail,) = mailbox.items
    text = text_part(mail)
    assert mail["Subject"] == "Webinars — morning of Tue 24 Nov 2026"
    for w in data["upcoming"]:
        assert f"{w['title']}: {w['registered_so_far']} registered, {w['pace_status']}" in text
    assert "https://bi.example.com/webinars" in text
    assert stack.query("select count(*) from meta.digest_deliveries") == [(2,)]

    # follow-up lists: no-shows + attendees per webinar are its registrations, as published
    lists = {
        (r[0], r[1]): r[2:]
        for r in stack.query(
            "select platform, webinar_id, count(*) filter (where segment = 'no_show'), "
            "count(*) filter (where segment = 'attendee'), count(*) filter (where is_highly_engaged) "
            "from crm_followups group by 1, 2",
            as_crm=True,
        )
    }
    published = {
        (r[0], r[1]): (r[2] - r[3], r[3])
        for r in stack.query(
            "select platform, webinar_id, registered, attended from marts.webinar_attendance "
            "where is_held and start_time >= timestamptz '2026-11-24 05:00+00' - interval '90 days' "
            "and registered > 0"
        )
    }
    assert {k: v[:2] for k, v in lists.items()} == published
    assert all(engaged <= attendees for _, attendees, engaged in lists.values())
    assert stack.query("select count(*) from followup_no_shows where email !~ '@'", as_crm=True) == [(0,)]
    # the CSV export (make followups) as crm_reader: the list of one webinar, header first
    (_, webinar_id), (no_shows, _, _) = max(lists.items(), key=lambda item: item[1][0])
    out = io.BytesIO()
    assert export_csv(stack.crm_dsn, "no_shows", out, webinar_id=webinar_id) == no_shows
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert len(rows) == no_shows and {r["webinar_id"] for r in rows} == {webinar_id}
    assert all("@" in r["email"] for r in rows)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        stack.query("select email from crm.crm_followups limit 1", as_bi=True)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        stack.query("select count(*) from marts.fct_registrations", as_crm=True)


def test_published_marts_are_readable_by_bi_and_hold_no_emails(stack):
    rows = stack.query("select count(*) from marts.fct_registrations", as_bi=True)
    assert rows[0][0] > 0
    cols = stack.query(
        "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    )
    assert not [c for c in cols if "email" in c[1] and "hash" not in c[1]]
    keys = stack.query("select person_key from marts.fct_registrations limit 50", as_bi=True)
    assert all(len(k[0]) == 64 and "@" not in k[0] for k in keys)


def test_rerun_of_the_same_date_leaves_identical_marts(stack, receivers):
    before = stack.marts_hash()
    raw_before = stack.query("select count(*) from raw.bigmarker_registrations")[0][0]
    dag_run = stack.run(LOGICAL)
    assert str(dag_run.state) == "success", _task_states(dag_run)
    assert stack.marts_hash() == before
    PUBLISHED_RUN.update(run_id=dag_run.run_id, run_after=dag_run.run_after)
    # raw is append-only: the rerun appended what it re-pulled, staging deduplicated it
    assert stack.query("select count(*) from raw.bigmarker_registrations")[0][0] >= raw_before
    # the team got this morning's digest already: not a second time
    assert [len(r.items) for r in receivers] == [1, 1]


def test_clearing_the_gate_of_a_published_run_or_publishing_again_changes_nothing(stack):
    """The operator clears `validate_marts` (with downstream) of the run that published, or runs
    `publish_marts` alone again: `marts_build` holds the version the swap moved back, which BI
    saw before; nothing is validated or published, BI keeps this run's marts."""
    from dataclasses import replace

    from webinar_dwh import pipeline

    if not PUBLISHED_RUN:
        pytest.skip("needs the published rerun of the previous test")
    before = stack.marts_hash()
    freshness_sql = "select source_name, built_at, data_as_of from marts.data_freshness order by 1"
    freshness = stack.query(freshness_sql)
    publications = stack.query("select count(*) from meta.publications")[0][0]

    # the same run (same run id) with the tasks before the gate done: Airflow runs gate + downstream
    dag_run = stack.run(LOGICAL, mark_success=BUILT_BEFORE_THE_GATE, run_after=PUBLISHED_RUN["run_after"])
    states = _task_states(dag_run)
    assert dag_run.run_id == PUBLISHED_RUN["run_id"]
    assert str(dag_run.state) == "success", states
    assert states["validate_marts"] == "skipped" and states["publish_marts"] == "skipped", states
    # publish_marts alone (`airflow tasks test … publish_marts`): a no-op naming the publication
    again = pipeline.publish(replace(pipeline.RunInfo.manual(LOGICAL), dag_run_id=PUBLISHED_RUN["run_id"]))
    assert again["already_published"] and again["dag_run_id"] == PUBLISHED_RUN["run_id"]

    assert stack.marts_hash() == before
    assert stack.query(freshness_sql) == freshness
    assert stack.query("select count(*) from meta.publications")[0][0] == publications


#: The tasks a failing-model run marks done: the raw layer holds this date's data already.
LOADED = r"prepare_warehouse|extract_load_\w+"
MODEL_TASK = "dbt_build.attendance_daily_run"


def _dbt_retries(retries: int):
    """The dbt tasks' retries, one second apart (a deployment waits minutes)."""

    def adjust(dag) -> None:
        for task in dag.tasks:
            if task.task_id.startswith("dbt_build."):
                task.retries = retries
                task.retry_delay = timedelta(seconds=1)
                task.retry_exponential_backoff = False

    return adjust


@contextmanager
def _table_locked(stack, table: str, *, until_failed: tuple[str, str] | None = None) -> Iterator[None]:
    """Another session holds ``table`` locked (the warehouse owner waits 2 s, then errors);
    released when the task ``until_failed`` = (run id, task id) has failed (or waits for its
    retry), or at the end."""
    role_in_db = f"role dwh_owner in database {stack.superuser_dsn.rsplit('/', 1)[1]}"
    released = threading.Event()
    with psycopg.connect(stack.superuser_dsn, autocommit=True) as admin:
        admin.execute(f"alter {role_in_db} set lock_timeout = '2s'")
        locker = psycopg.connect(stack.superuser_dsn)
        try:
            locker.execute(f"lock table {table} in access exclusive mode")

            def release_when_failed() -> None:
                db = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
                while not released.wait(0.2):
                    with sqlite3.connect(db) as meta:
                        failed = meta.execute(
                            "select 1 from task_instance where run_id = ? and task_id = ? "
                            "and state in ('failed', 'up_for_retry')",
                            until_failed,
                        ).fetchone()
                    if failed:
                        locker.rollback()
                        return

            watcher = threading.Thread(target=release_when_failed, daemon=True)
            if until_failed:
                watcher.start()
            yield
        finally:
            released.set()
            if until_failed:
                watcher.join()
            locker.close()
            admin.execute(f"alter {role_in_db} reset lock_timeout")


def test_a_model_that_fails_in_the_dbt_build_fails_its_own_task_and_blocks_publish(stack, caplog):
    """One model fails inside the morning's single `dbt build` (its table is locked by another
    session for good): its own task fails with dbt's error while every other model's task
    reports success; the tests, the gate and publish do not run and BI keeps its marts."""
    before = stack.marts_hash()
    with _table_locked(stack, "marts_build.attendance_daily"), caplog.at_level("ERROR"):
        failed = stack.run(LOGICAL, mark_success=LOADED, run_after=datetime.now(UTC), adjust=_dbt_retries(0))
    states = _task_states(failed)
    assert str(failed.state) == "failed", states
    assert states["dbt_build.dbt_producer_watcher"] == "failed"
    assert states[MODEL_TASK] == "failed", states
    models = {t: s for t, s in states.items() if t.endswith(("_run", "_seed")) and t != MODEL_TASK}
    assert models and set(models.values()) == {"success"}, models
    # the gate runs beside the tests, after the same model tasks: it does not run either
    assert {
        states["dbt_build.dbt_project_test"],
        states["validate_marts"],
        states["publish_marts"],
    } == {"upstream_failed"}
    assert "attendance_daily" in caplog.text and "lock timeout" in caplog.text
    assert stack.marts_hash() == before


def test_a_model_whose_build_failed_once_is_rebuilt_by_its_own_task_retry_and_published(stack):
    """The same failure, transient: the table is free again when the build has failed. The
    model's task retries on its own — `dbt run --select attendance_daily`, never a second
    `dbt build` — the tests and the gate pass and BI gets the morning's marts."""
    before = stack.marts_hash()
    publications = stack.query("select count(*) from meta.publications")[0][0]
    run_after = datetime.now(UTC)
    producer = (f"manual__{run_after.isoformat()}", "dbt_build.dbt_producer_watcher")
    with _table_locked(stack, "marts_build.attendance_daily", until_failed=producer):
        run = stack.run(LOGICAL, mark_success=LOADED, run_after=run_after, adjust=_dbt_retries(1))
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    states = {t: str(ti.state) for t, ti in tis.items()}
    assert str(run.state) == "success", states
    # its own retry is skipped: Cosmos never starts a second `dbt build` in a run
    assert states["dbt_build.dbt_producer_watcher"] == "skipped"
    assert states[MODEL_TASK] == "success" and tis[MODEL_TASK].try_number == 2, states
    assert states["publish_marts"] == "success"
    assert stack.query("select count(*) from meta.publications")[0][0] == publications + 1
    assert stack.marts_hash() == before


def test_failed_expectation_blocks_publish_and_keeps_previous_marts(stack, caplog):
    from webinar_dwh.dbt_runner import run_dbt

    before = stack.marts_hash()
    publications = stack.query("select count(*) from meta.publications")[0][0]
    # The vendors' absurd durations reach marts_build through the pipeline's own extract and
    # dbt build (runs 1 and 2 proved those tasks under Airflow); Airflow then runs the gate
    # and what follows it for real.
    stack.sandbox.configure(absurd_durations=True)
    # the build carries the stamp of the Airflow run that gates it (its run id follows run_after)
    run_after = datetime.now(UTC)
    run_id = f"manual__{run_after.isoformat()}"
    try:
        load_all(stack, LOGICAL)
        built = run_dbt(["build"], dbt_vars={"as_of": LOGICAL.isoformat(), "dag_run_id": run_id})
    finally:
        stack.sandbox.configure(absurd_durations=False)
    assert built.success, built.exception
    with caplog.at_level("ERROR"):
        dag_run = stack.run(LOGICAL, mark_success=BUILT_BEFORE_THE_GATE, run_after=run_after)
    assert dag_run.run_id == run_id
    states = _task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["validate_marts"] == "failed"
    assert states["publish_marts"] in {"upstream_failed", "None"}
    assert stack.marts_hash() == before
    assert stack.query("select count(*) from meta.publications")[0][0] == publications
    # the on-call person reads which expectation failed, on which table, with the observed value
    assert "avg_minutes_attended" in caplog.text and "webinar_attendance" in caplog.text


def test_the_registered_numbers_tie_out_across_marts(stack):
    (total_fct,) = stack.query("select count(*) from marts.fct_registrations", as_bi=True)[0]
    (total_wa,) = stack.query("select sum(registered) from marts.webinar_attendance", as_bi=True)[0]
    assert Decimal(total_fct) == total_wa
