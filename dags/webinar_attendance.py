"""
### Webinar attendance — the morning run

Pulls **BigMarker** (and the legacy **Calendly** registrations + **Zoom** attendance pair) into the
PostgreSQL warehouse, builds the dbt models, validates the new marts with Great Expectations and
only then publishes them to the `marts` schema that BI tools read (write-audit-publish).

1. `prepare_warehouse` - creates/updates schemas, raw and meta tables (idempotent).
   Fails? Check connection `dwh_default`.
2. `extract_load_<source>` - pulls the window `[cursor - lookback, interval end + lookahead)`,
   lands raw JSON with COPY, one transaction per batch; bad records go to `raw.quarantine`.
   Fails? 401/403 name the connection to fix; 429/5xx are retried with backoff.
3. `dbt_build` - staging, intermediate, marts, built in `marts_build` (invisible to BI),
   each model with its dbt tests. Fails? The log names the model or test.
4. `validate_marts` - Great Expectations suites on `marts_build`, beside the dbt tests (publish
   waits for both). Fails? The log lists each
   failed expectation with the observed value; `marts` stays exactly as it was. Skipped when
   this run's build is already published (the task was cleared after a successful publish).
5. `publish_marts` - swaps `marts_build` into `marts` in one transaction (BI sees old or new),
   only the build this run's gate validated and never one older than what BI reads; a no-op
   when this run's build is already published. A refusal says which tasks to clear.
6. `run_report` - rows per source; a warning counts quarantined records. Beside it,
   `refresh_docs` writes the dbt docs (`make docs`), off the way to the digest.
7. `source_freshness` - `dbt source freshness` on raw once the build is published (or was
   already): a stale source alerts, nothing else. Not beside the build, whose cores it would
   take; not after a failed load or build, which has alerted already.
8. `build_followups` - the sales team's follow-up lists (schema `crm`, role `crm_reader`) from
   the marts just published: no-shows, attendees, highly engaged attendees with their e-mails.
9. `send_digest` - the morning digest (yesterday, the coming week with forecasts, flags, data
   health) to the connections in `DWH_DIGEST_CONN_IDS`; once per morning; never fails the run.

A source whose connection is missing is **skipped** with a log line saying which connection to set.
Rerunning any date is safe: raw is append-only and staging keeps the latest record per key, and
the marts are rebuilt as of the newest morning ever published (BI never moves back).
Params: `full_refresh` (re-pull from `DWH_HISTORY_START`), `lookback_days` (override).
Runbook: README.md → "Operations".
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from webinar_dwh.config import SOURCES, PipelineSettings
from webinar_dwh.orchestration import (
    dbt_build_group,
    default_args,
    fail_fast,
    gate_beside_tests,
    on_run_failure_alert,
)

# From the environment only (no I/O at parse time), and never raises: with an invalid setting the
# DAG parses with the defaults and prepare_warehouse, which validates again, fails naming it.
PARSE_SETTINGS, SETTINGS_ERROR = PipelineSettings.for_parsing()


@dag(
    dag_id="webinar_attendance",
    schedule=CronTriggerTimetable(
        PARSE_SETTINGS.schedule_cron, timezone=PARSE_SETTINGS.timezone, interval=pendulum.duration(days=1)
    ),
    start_date=pendulum.datetime(2025, 1, 1, tz=PARSE_SETTINGS.timezone),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(PARSE_SETTINGS),
    dagrun_timeout=pendulum.duration(hours=2),
    tags=["webinars", *SOURCES, "dbt", "great-expectations"],
    # An invalid setting shows on the DAG's page too; prepare_warehouse fails with it.
    doc_md=__doc__ if SETTINGS_ERROR is None else f"**Configuration error:** {SETTINGS_ERROR}\n\n{__doc__}",
    params={
        "full_refresh": Param(
            False, type="boolean", description="Re-pull everything since DWH_HISTORY_START."
        ),
        "lookback_days": Param(
            None, type=["null", "integer"], minimum=0, description="Override DWH_LOOKBACK_DAYS for this run."
        ),
    },
    on_failure_callback=on_run_failure_alert,
)
def webinar_attendance() -> None:
    @task
    def prepare_warehouse(**context) -> dict:
        """Create or update the warehouse schemas, raw tables and meta tables (idempotent).

        Returns the cut-off (`as_of`) the dbt build uses: the interval end, or the newest one ever
        published if later, so a rerun of an older date never moves BI back.
        """
        from webinar_dwh import pipeline

        with fail_fast():
            return pipeline.prepare_warehouse(pipeline.RunInfo.from_context(context))

    @task
    def extract_load(source: str, **context) -> dict:
        """Pull one source for this run's window and land it in `raw` (skipped if not configured).

        Window: `[min(cursor, interval end) - lookback, interval end + lookahead)` on the webinar start
        time; every webinar in it is re-pulled with all its registrations and attendees. Returns
        small counts only (rows per entity, quarantined, retries).
        """
        from airflow.sdk.exceptions import AirflowSkipException

        from webinar_dwh import pipeline

        try:
            with fail_fast():
                return pipeline.extract_load(source, pipeline.RunInfo.from_context(context))
        except AirflowSkipException as skipped:
            # loads_done reads every source's result: a disabled one leaves a note, not a gap
            context["ti"].xcom_push(key="return_value", value={"source": source, "skipped": str(skipped)})
            raise

    @task(trigger_rule="none_failed")
    def loads_done(summaries: list[dict | None]) -> dict:
        """Join point after the sources: skipped (disabled) sources do not block the build."""
        return {s["source"]: s for s in summaries if s and not s.get("skipped")}

    @task(trigger_rule="none_failed")
    def source_freshness(**context) -> dict:
        """Run `dbt source freshness`; a stale source sends an alert but does not stop the run."""
        from webinar_dwh import pipeline

        with fail_fast():
            return pipeline.source_freshness(pipeline.RunInfo.from_context(context))

    @task
    def validate_marts(**context) -> dict:
        """Great Expectations on the freshly built marts in `marts_build` (blocking checks fail the run)."""
        from webinar_dwh import pipeline

        with fail_fast():
            return pipeline.validate_build(pipeline.RunInfo.from_context(context))

    @task
    def publish_marts(**context) -> dict:
        """Atomically swap the validated marts into `marts` (what BI reads)."""
        from webinar_dwh import pipeline

        with fail_fast():
            return pipeline.publish(pipeline.RunInfo.from_context(context))

    @task
    def run_report(loads: dict, published: dict) -> dict:
        """Log what the run did; warn when records were quarantined."""
        from webinar_dwh import pipeline

        return pipeline.report(loads, published)

    @task
    def refresh_docs() -> dict:
        """dbt docs (models, columns, tests, lineage, catalog) for `make docs`; never fails the run."""
        from webinar_dwh import pipeline

        return {"dbt_docs": pipeline.build_dbt_docs()}

    @task
    def build_followups(**context) -> dict:
        """Build the sales team's follow-up lists (schema `crm`) from the marts just published."""
        from webinar_dwh import pipeline

        with fail_fast():
            return pipeline.build_followups(pipeline.RunInfo.from_context(context))

    @task
    def send_digest(report: dict, **context) -> dict:
        """Send the morning digest to the team (webhook and/or e-mail); never fails the run."""
        from webinar_dwh import pipeline

        return pipeline.send_digest(pipeline.RunInfo.from_context(context), report)

    prepared = prepare_warehouse()
    summaries = [extract_load.override(task_id=f"extract_load_{src}")(source=src) for src in SOURCES]
    prepared >> summaries
    loaded = loads_done(summaries)
    freshness = source_freshness()
    dbt_build = dbt_build_group(
        project_dir=os.path.join(os.path.dirname(__file__), "..", "dbt_project"), settings=PARSE_SETTINGS
    )
    validated = validate_marts()
    published = publish_marts()
    loaded >> dbt_build
    # the gate reads the built marts while dbt's tests run; publish waits for both
    gate_beside_tests(dbt_build, validated, published)
    # the freshness check only alerts: after publish (done or skipped as already published),
    # so that its dbt process does not take the build's cores; a failed run alerted already
    [loaded, published] >> freshness
    published >> [build_followups(), refresh_docs()]
    send_digest(run_report(loaded, published))


webinar_attendance()
