"""A load killed mid-flight leaves only whole batches, and a rerun ends where a clean run ends.

``extract_load('bigmarker', ...)`` runs in a child process with five conferences per batch and
gets SIGKILL once two batches are committed — no ``finally``, no rollback by the client: only
PostgreSQL's transaction boundaries protect the warehouse. Then the same source is loaded
again normally, the other two sources too, dbt + GX + publish, and the marts must equal both
the ground truth and the marts of a clean run on another database.

The second scenario gives two conferences the same cursor value (the sandbox universe has two
starting at the same second) and fails the landing between them: the rerun, even with no
lookback at all, must land both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.e2e.harness import ROOT, make_stack
from tests.reliability.conftest import LAST_DAY
from tests.reliability.support import build_and_publish, load_all, truth_mismatches
from webinar_dwh.warehouse.bootstrap import RAW_TABLES

pytestmark = pytest.mark.e2e

BIGMARKER_TABLES = tuple(table for (source, _), table in RAW_TABLES.items() if source == "bigmarker")

CHILD = (
    "from datetime import datetime, UTC\n"
    "from webinar_dwh import pipeline\n"
    "pipeline.extract_load('bigmarker', pipeline.RunInfo.manual(datetime.fromisoformat({end!r})))\n"
)


def _committed_batches(stack) -> int:
    return stack.query("select count(*) from meta.load_batches where source = 'bigmarker'")[0][0]


def _kill_after_batches(stack, batches: int, *, timeout: float = 120.0) -> dict:
    env = {
        **os.environ,
        "DWH_BATCH_PARENTS": "5",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(end=LAST_DAY.isoformat())],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    started = time.monotonic()
    try:
        while _committed_batches(stack) < batches:
            if proc.poll() is not None:
                tail = proc.stderr.read()[-2000:]
                raise AssertionError(f"the load ended before it could be killed: {tail!r}")
            if time.monotonic() - started > timeout:
                raise AssertionError("no batches committed in time")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return {"returncode": proc.returncode, "seconds_to_kill": round(time.monotonic() - started, 2)}


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@pytest.fixture(scope="module")
def stack(module_db):
    with make_stack(module_db, sources=("bigmarker", "calendly", "zoom")) as st:
        st.sandbox.configure(as_of=LAST_DAY)
        yield st


def test_a_load_killed_mid_flight_leaves_whole_batches_and_a_cursor_they_cover(stack):
    killed = _kill_after_batches(stack, 2)
    batches = {
        row[0]: row[1]
        for row in stack.query(
            "select batch_id, entity_counts from meta.load_batches where source = 'bigmarker'"
        )
    }
    print(f"\nkilled: {killed}; committed batches: {len(batches)}")
    assert killed["returncode"] == -signal.SIGKILL
    assert len(batches) >= 2

    # no partial batch: every raw row belongs to a committed batch, and each batch holds what it recorded
    for table in BIGMARKER_TABLES:
        orphans = stack.query(
            f"select count(*) from raw.{table} r "
            "where not exists (select 1 from meta.load_batches b where b.batch_id = r._batch_id)"
        )[0][0]
        assert orphans == 0, f"raw.{table} holds {orphans} row(s) of an uncommitted batch"
    per_batch: dict = {}
    for table in BIGMARKER_TABLES:
        for batch_id, n in stack.query(f"select _batch_id, count(*) from raw.{table} group by 1"):
            per_batch.setdefault(batch_id, {})[table.removeprefix("bigmarker_")] = n
    for batch_id, counts in batches.items():
        recorded = {entity: c["loaded"] for entity, c in counts.items() if c["loaded"]}
        assert per_batch.get(batch_id, {}) == recorded, batch_id

    # the cursor is a committed batch's and equals the latest started conference those batches hold
    ((cursor_value, cursor_batch),) = stack.query(
        "select cursor_value, batch_id from meta.cursors where source = 'bigmarker'"
    )
    assert cursor_batch in batches
    starts = [
        (_utc(start), batch_id)
        for start, batch_id in stack.query(
            "select payload->>'start_time', _batch_id from raw.bigmarker_conferences"
        )
    ]
    covered = max(s for s, _ in starts if s < LAST_DAY)
    assert _utc(cursor_value) == covered
    assert cursor_batch in {b for s, b in starts if s == covered}
    # and it was a real interruption: conferences that had started were still missing
    started = {c.id for c in stack.sandbox.universe.conferences if c.start_ts < LAST_DAY.timestamp()}
    assert started - {r[0] for r in stack.query("select _record_key from raw.bigmarker_conferences")}


def test_the_rerun_after_the_crash_publishes_the_clean_runs_marts(stack, clean_reference):
    (crashed_cursor,) = stack.query("select cursor_value from meta.cursors where source = 'bigmarker'")[0]
    loads = load_all(stack, LAST_DAY)
    print(f"\nrerun after the crash: {loads['bigmarker']['rows']} from {loads['bigmarker']['window_start']}")
    (cursor,) = stack.query("select cursor_value from meta.cursors where source = 'bigmarker'")[0]
    assert _utc(cursor) > _utc(crashed_cursor)
    build_and_publish(stack, LAST_DAY, seed=True)

    assert truth_mismatches(stack, stack.sandbox.truth(as_of=LAST_DAY)) == []
    assert stack.marts_hash() == clean_reference


# --------------------------------------------------------------------------- same cursor value


@pytest.fixture
def tie_stack(fresh_db):
    with make_stack(fresh_db, sources=("bigmarker",)) as st:
        st.sandbox.configure(as_of=LAST_DAY)
        yield st


def test_two_conferences_sharing_a_cursor_value_survive_a_failure_between_them(tie_stack, monkeypatch):
    from webinar_dwh import pipeline
    from webinar_dwh.warehouse import landing

    universe = tie_stack.sandbox.universe
    by_start: dict[int, list[str]] = {}
    for conf in universe.conferences:
        if conf.end_ts < LAST_DAY.timestamp():
            by_start.setdefault(conf.start_ts, []).append(conf.id)
    tie_start, tied = min((s, sorted(ids)) for s, ids in by_start.items() if len(ids) > 1)
    first, second = tied[:2]
    print(f"\nconferences {first} and {second} both start at {datetime.fromtimestamp(tie_start, UTC)}")

    real_land_batch = landing.land_batch

    def failing_land_batch(conn, *, items, **kwargs):
        items = list(items)
        if any(getattr(i, "entity", None) == "conferences" and i.key == second for i in items):
            raise ConnectionError("warehouse connection lost (injected)")
        return real_land_batch(conn, items=items, **kwargs)

    monkeypatch.setenv("DWH_BATCH_PARENTS", "1")
    monkeypatch.setattr(landing, "land_batch", failing_land_batch)
    run = pipeline.RunInfo.manual(LAST_DAY)
    with pytest.raises(ConnectionError, match="injected"):
        pipeline.extract_load("bigmarker", run)
    (cursor,) = tie_stack.query("select cursor_value from meta.cursors where source = 'bigmarker'")[0]
    landed = {r[0] for r in tie_stack.query("select _record_key from raw.bigmarker_conferences")}
    assert _utc(cursor).timestamp() == tie_start
    assert first in landed and second not in landed

    monkeypatch.setattr(landing, "land_batch", real_land_batch)
    monkeypatch.setenv("DWH_LOOKBACK_DAYS", "0")  # the sharpest rerun: from the cursor itself
    summary = pipeline.extract_load("bigmarker", run)
    landed = {r[0] for r in tie_stack.query("select _record_key from raw.bigmarker_conferences")}
    print(f"rerun window starts {summary['window_start']}: {summary['rows']}")
    assert {first, second} <= landed
    started_before = {c.id for c in universe.conferences if c.start_ts < LAST_DAY.timestamp()}
    assert started_before - landed == set(), "conferences lost"
    # the second conference travelled with its children
    truth = {w["webinar_id"]: w for w in tie_stack.sandbox.truth(as_of=LAST_DAY)["webinars"]}
    (registrations,) = tie_stack.query(
        "select count(distinct _record_key) from raw.bigmarker_registrations where _parent_key = %s",
        (second,),
    )[0]
    assert registrations >= truth[second]["registered"] > 0
