"""A week of mornings, twice; then the next morning; then what BI may see and what on-call hears.

One warehouse and one sandbox (all three sources) for the module; the tests build on each other
in order: the 7-day backfill (run twice) ends on 2026-11-24, the late-data test adds 2026-11-25,
the BI-role test reads that warehouse, the alert tests make one of its sources stale.

Backfill semantics tested here: each day's ``extract_load`` runs with the sandbox clock at that
morning (what the vendors revealed then) and its own window from the stored cursor; dbt, the GX
gate and publish run once per pass, on the last day. The marts are tables rebuilt from raw with
``as_of``, so the intermediate days' builds cannot change the last day's marts — running them
would cost ~1 min per day on the 2-core machine without testing anything more.
"""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest

from tests.e2e.harness import make_stack
from tests.reliability.conftest import LAST_DAY
from tests.reliability.support import attendance_numbers, build_and_publish, load_all, truth_mismatches

pytestmark = pytest.mark.e2e

DAYS = [LAST_DAY - timedelta(days=n) for n in range(6, -1, -1)]  # 2026-11-18 .. 2026-11-24, 05:00Z
NEXT_DAY = LAST_DAY + timedelta(days=1)


@pytest.fixture(scope="module")
def stack(module_db):
    with make_stack(module_db, sources=("bigmarker", "calendly", "zoom")) as st:
        yield st


@pytest.fixture(scope="module")
def state() -> dict:
    """What one test leaves for the next (marts of the last day, timings)."""
    return {}


def _backfill(stack, *, seed: bool) -> dict:
    started = time.monotonic()
    windows = []
    for day in DAYS:
        loads = load_all(stack, day)
        windows.append({s: (r["window_start"][:10], r["batches"]) for s, r in loads.items()})
    build = build_and_publish(stack, DAYS[-1], seed=seed)
    return {"seconds": round(time.monotonic() - started, 1), "windows": windows, "build": build["timings"]}


def test_a_7_day_backfill_run_twice_gives_identical_marts_equal_to_the_truth(stack, state, clean_reference):
    first = _backfill(stack, seed=True)
    hash_first = stack.marts_hash()
    raw_first = stack.query("select count(*) from raw.bigmarker_registrations")[0][0]
    second = _backfill(stack, seed=False)
    hash_second = stack.marts_hash()
    print(f"\nbackfill pass 1: {first}\nbackfill pass 2: {second}")

    assert hash_second == hash_first
    # raw is append-only (the second pass re-pulled its windows); staging deduplicated it
    assert stack.query("select count(*) from raw.bigmarker_registrations")[0][0] > raw_first
    assert truth_mismatches(stack, stack.sandbox.truth(as_of=LAST_DAY)) == []
    # a week of mornings ends where one clean morning on another database ends
    assert hash_first == clean_reference
    state["before"] = attendance_numbers(stack)


def test_the_next_morning_picks_up_late_registrations_and_attendance(stack, state):
    if "before" not in state:
        pytest.skip("needs the backfill of the previous test")
    load_all(stack, NEXT_DAY)
    build_and_publish(stack, NEXT_DAY)
    after = attendance_numbers(stack)

    assert truth_mismatches(stack, stack.sandbox.truth(as_of=NEXT_DAY)) == []
    before = state["before"]
    changed = {k: (before[k], v) for k, v in after.items() if k in before and before[k] != v}
    print(f"\n(registered, attended) changed D -> D+1: {len(changed)} webinars, {list(changed.items())[:3]}")
    assert changed, "no late registration or attendance was picked up inside the lookback"


def _held_totals(stack) -> tuple:
    return stack.query(
        "select count(*), sum(registered), sum(attended) from marts.webinar_attendance where is_held",
        as_bi=True,
    )[0]


def _freshness(stack) -> list[tuple]:
    return stack.query("select source_name, data_as_of from marts.data_freshness order by 1", as_bi=True)


def test_rerunning_an_older_date_and_backfilling_a_week_never_move_bi_back(stack, state):
    """After the newest morning (D+1) is published, a rerun of an older date and then a 7-day
    backfill of older dates re-pull their windows from the vendors (as they answer today) but
    build as of the newest published cut-off: held webinars stay held, ``data_as_of`` stays, and
    the marts' content is unchanged."""
    from webinar_dwh import pipeline

    if "before" not in state:
        pytest.skip("needs the mornings of the previous tests")
    newest = (stack.marts_hash(), _held_totals(stack), _freshness(stack))
    publications = stack.query("select count(*) from meta.publications")[0][0]
    stack.sandbox.configure(as_of=NEXT_DAY)  # the vendors answer as of today
    older = DAYS[2]
    mornings = [older, *DAYS]  # the rerun, then the backfill
    for n, day in enumerate(mornings):
        run = pipeline.RunInfo.manual(day)
        loads = {src: pipeline.extract_load(src, run) for src in ("bigmarker", "calendly", "zoom")}
        assert all(s["rows"] for s in loads.values()), loads  # its own window was re-pulled
        if n in (0, len(mornings) - 1):  # the rerun, and the backfill's last morning
            assert pipeline.build_as_of(run) == NEXT_DAY
            result = build_and_publish(stack, day)
            assert not result["published"].get("already_published")
            assert (stack.marts_hash(), _held_totals(stack), _freshness(stack)) == newest
    assert stack.query("select count(*) from meta.publications")[0][0] == publications + 2
    latest = stack.query("select as_of from meta.publications order by publication_id desc limit 2")
    assert {as_of for (as_of,) in latest} == {NEXT_DAY}


SCHEMAS_HIDDEN_FROM_BI = ("raw", "staging", "intermediate", "meta", "marts_build")


def test_bi_reader_reads_marts_only_and_no_mart_holds_an_email(stack):
    with psycopg.connect(stack.owner_dsn, autocommit=True) as owner:
        # publish moved the build's tables into marts: give the empty build schema one to try
        owner.execute("create table if not exists marts_build._bi_probe as select 1 as x")
        try:
            for schema in SCHEMAS_HIDDEN_FROM_BI:
                (table,) = owner.execute(
                    "select table_name from information_schema.tables where table_schema = %s "
                    "order by 1 limit 1",
                    (schema,),
                ).fetchone()
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    stack.query(f'select 1 from "{schema}"."{table}" limit 1', as_bi=True)
        finally:
            owner.execute("drop table if exists marts_build._bi_probe")
    (published,) = stack.query("select count(*) from marts.webinar_attendance", as_bi=True)[0]
    assert published > 0

    text_columns = stack.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and data_type in ('text', 'character varying')"
    )
    assert text_columns
    with psycopg.connect(stack.bi_dsn) as conn:
        for table, column in text_columns:
            (n,) = conn.execute(
                f'select count(*) from marts."{table}" where "{column}" like %s', ("%@%",)
            ).fetchone()
            assert n == 0, f"marts.{table}.{column} holds {n} value(s) with '@'"


# --------------------------------------------------------------------------- alerts


def test_a_stale_source_posts_an_alert_naming_dag_task_date_and_source(stack, webhook):
    from webinar_dwh import pipeline

    stack.query("select 1")  # warehouse reachable
    with psycopg.connect(stack.owner_dsn) as conn:
        conn.execute("update raw.zoom_webinars set _loaded_at = _loaded_at - interval '5 days'")
    run = pipeline.RunInfo.manual(NEXT_DAY)
    result = pipeline.source_freshness(run)
    print(f"\nfreshness: {result}\nalerts: {webhook}")

    assert any(s.startswith("zoom.webinars") for s in result["stale"]), result
    assert len(webhook) == 1
    alert = webhook[0]
    assert alert["path"] == "/hook"
    assert alert["kind"] == "stale_source"
    assert alert["dag_id"] == "webinar_attendance" and alert["task_id"] == "source_freshness"
    assert alert["logical_date"] == run.logical_date.isoformat()
    assert "zoom.webinars" in alert["reason"]
    assert not [s for s in result["stale"] if s.startswith(("bigmarker.", "calendly."))], result


def test_a_failed_task_posts_an_alert_through_the_failure_callback(webhook):
    from types import SimpleNamespace

    from webinar_dwh.orchestration import on_failure_alert

    context = {
        "dag_run": SimpleNamespace(dag_id="webinar_attendance", run_id="scheduled__2026-11-25T05:00:00"),
        "task_instance": SimpleNamespace(task_id="extract_load_zoom"),
        "logical_date": NEXT_DAY,
        "exception": RuntimeError("Zoom GET /report/webinars failed after 6 attempts"),
    }
    on_failure_alert(context)

    assert len(webhook) == 1
    alert = webhook[0]
    assert alert["kind"] == "failure"
    assert alert["dag_id"] == "webinar_attendance" and alert["task_id"] == "extract_load_zoom"
    assert alert["logical_date"].startswith("2026-11-25")
    assert "failed after 6 attempts" in alert["reason"]
