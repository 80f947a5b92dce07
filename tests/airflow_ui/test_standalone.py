"""``scripts/airflow_standalone.sh`` for real: UI/API up, DAG parsed, a run triggered over REST succeeds.

The script runs with its own ``AIRFLOW_HOME`` (SQLite metadata) in a temp folder, the API on a
free port, against a fresh warehouse database and an in-process API sandbox (all three
sources). Everything goes through Airflow's public REST API v2: health, DAG listing, import
errors, unpause, trigger, poll (see ``standalone.py``). The scheduler's own cron schedule is
off (``[scheduler] use_job_schedule = False``) so only the triggered run executes.

The walk-through starts in the background when the session reaches the DAG layers (tests/
conftest.py) and this test collects what it saw; run alone, the test starts it itself.
Measured on 2 cores: UI healthy + DAG listed in ~20 s, the run ~100 s (~33 task processes).
The run timeout is ``AIRFLOW_UI_TEST_RUN_TIMEOUT_S`` (default 600 s).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.airflow_ui.standalone import COMPONENTS, StandaloneRun, standalone_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def standalone(request: pytest.FixtureRequest, pg_server: str) -> Iterator[StandaloneRun]:
    """The session's background walk-through, or a new one when the session did not start it."""
    run = request.config.stash.get(standalone_key, None)
    own = run is None
    if own:
        run = StandaloneRun(pg_server)
        run.start()
    yield run
    if own:
        run.stop()


def test_standalone_ui_parses_the_dag_and_runs_it_via_rest(standalone: StandaloneRun) -> None:
    seen = standalone.wait()
    print(f"ready in {seen.ready_s} s, run done in {seen.run_s} s: {seen.tasks}")
    assert seen.error is None, f"{seen.error}\n{seen.log_tail()}"
    assert all(seen.health[c]["status"] == "healthy" for c in COMPONENTS), seen.health
    assert seen.import_errors["total_entries"] == 0, seen.import_errors
    assert seen.dag["is_paused"] is True  # paused at creation, as in production
    assert seen.run_state == "success", f"run {seen.run_state}: {seen.tasks}\n{seen.log_tail()}"
    assert seen.tasks["publish_marts"][0] == "success"
    assert seen.published_webinars
