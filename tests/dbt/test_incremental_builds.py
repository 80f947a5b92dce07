"""Models that read only what changed equal a recount, or a full build, after later loads.

``int_audience_monthly`` and ``int_audience_cohorts`` add the rows their person-keyed upstreams
replaced (-1) and wrote (+1) to their previous counts (macros/aggregate_deltas.sql). After the
module's build, a later load moves a webinar to the previous month (its registrants change
groups), adds a new person and a returning one; the next ``dbt run`` applies the changes, and
every count must equal a recount of the upstream. A full build of an upstream makes its
aggregate rebuild in full.

``int_vendor_value_observations`` re-reads only the parents with raw rows loaded since its last
build: a later load with an unseen value appears in ``vendor_value_notices``, the notices of the
parents not re-read stay, and the result equals a full build.
"""

from __future__ import annotations

import json
import re

import psycopg
import pytest
from dbt_payloads import AS_OF, BM_CONFERENCES, C_DA, C_ENUS, C_PM, C_UNM, _registration, _with

from tests.dbt.conftest import DbtRun, land, run_dbt

pytestmark = pytest.mark.warehouse

MONTHLY_DIFF = """
with recount as (
    select webinar_month, course, language, count(*) as registrants,
           count(*) filter (where is_new) as new_registrants,
           count(*) filter (where attended) as attendees,
           count(*) filter (where repeat_attended) as repeat_attendees
    from intermediate.int_audience_person_months group by 1, 2, 3
), kept as (
    select webinar_month, course, language, registrants, new_registrants, attendees, repeat_attendees
    from intermediate.int_audience_monthly
)
select count(*) from ((select * from recount except select * from kept)
                      union all (select * from kept except select * from recount)) as diff
"""

COHORTS_DIFF = """
with recount as (
    select cohort_month, first_course, first_language, count(*) as cohort_size,
           count(*) filter (where days_to_registration <= 30) as registered_again_30,
           count(*) filter (where days_to_registration <= 90) as registered_again_90,
           count(*) filter (where days_to_registration <= 180) as registered_again_180,
           count(*) filter (where days_to_attendance <= 30) as attended_again_30,
           count(*) filter (where days_to_attendance <= 90) as attended_again_90,
           count(*) filter (where days_to_attendance <= 180) as attended_again_180
    from intermediate.int_audience_people group by 1, 2, 3
), kept as (
    select cohort_month, first_course, first_language, cohort_size, registered_again_30,
           registered_again_90, registered_again_180, attended_again_30, attended_again_90,
           attended_again_180
    from intermediate.int_audience_cohorts
)
select count(*) from ((select * from recount except select * from kept)
                      union all (select * from kept except select * from recount)) as diff
"""


def _counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        return {
            "monthly_diff": one(MONTHLY_DIFF),
            "cohorts_diff": one(COHORTS_DIFF),
            "monthly_log": one("select count(*) from intermediate.audience_month_changes"),
            "cohort_log": one("select count(*) from intermediate.audience_cohort_changes"),
            "mart_registrants": one("select sum(registrants) from marts_build.audience_monthly"),
            "person_months": one("select count(*) from intermediate.int_audience_person_months"),
        }


def _run(dbt_run: DbtRun, *args: str) -> str:
    result = run_dbt(["run", *args, "--vars", json.dumps({"as_of": AS_OF})], dbt_run.env)
    assert result.returncode == 0, result.stdout[-6000:]
    return result.stdout


def test_changes_are_applied_as_deltas_and_equal_a_recount(dbt_run: DbtRun) -> None:
    assert dbt_run.result.returncode == 0, dbt_run.result.stdout[-6000:]
    before = _counts(dbt_run.dsn)
    assert before["monthly_diff"] == 0 and before["cohorts_diff"] == 0
    # The module's payloads put every webinar in the last load: its next build re-derives every
    # registration, which the people models take for a full rebuild of fct_registrations (and
    # so rebuild in full). A later load of one unchanged conference moves the watermark past it.
    (unchanged,) = [row for row in BM_CONFERENCES if row[0] == C_UNM]
    land(dbt_run.dsn, {"bigmarker_conferences": [unchanged]})
    _run(dbt_run)

    (moved,) = [_with(row, start_time="2025-02-24T18:00:00+01:00", end_time="2025-02-24T19:00:00+01:00")
                for row in BM_CONFERENCES if row[0] == C_DA]
    land(dbt_run.dsn, {
        "bigmarker_conferences": [moved],  # its registrants move from March to February
        "bigmarker_registrations": [
            _registration(C_PM, "b9", "erin@example.com", "2025-03-02T09:00:00Z"),  # new person
            _registration(C_ENUS, "b1", "ann@example.com", "2025-03-06T09:00:00Z"),  # returning
        ],
    })
    out = _run(dbt_run)

    assert "int_audience_monthly: applying" in out and "int_audience_cohorts: applying" in out, out[-4000:]
    after = _counts(dbt_run.dsn)
    assert after["monthly_diff"] == 0 and after["cohorts_diff"] == 0, after
    assert after["monthly_log"] == 0 and after["cohort_log"] == 0  # applied rows are cleaned up
    assert after["mart_registrants"] == after["person_months"]
    with psycopg.connect(dbt_run.dsn) as conn:
        months = {r[0].isoformat() for r in conn.execute(
            "select webinar_month from marts_build.audience_monthly where course = 'Data Analytics'")}
    assert "2025-02-01" in months, months


def test_a_full_build_of_the_upstream_rebuilds_the_aggregate_in_full(dbt_run: DbtRun) -> None:
    _run(dbt_run, "--full-refresh", "--select", "int_audience_person_months")
    out = _run(dbt_run, "--select", "int_audience_monthly")

    assert "int_audience_monthly: built in full (int_audience_person_months was rebuilt" in out, out[-4000:]
    assert _counts(dbt_run.dsn)["monthly_diff"] == 0


NOTICES = (
    "select field, raw_value, bucket, example_webinar_ids, webinars, records"
    " from marts_build.vendor_value_notices"
)


def test_vendor_value_notices_re_read_only_new_parents_and_equal_a_full_build(dbt_run: DbtRun) -> None:
    with psycopg.connect(dbt_run.dsn) as conn:
        before = set(conn.execute(NOTICES).fetchall())
    assert any(row[1] == "ru" for row in before), before  # C_RU's language, from the module's build
    (enus,) = [_with(row, language="tlh") for row in BM_CONFERENCES if row[0] == C_ENUS]
    land(dbt_run.dsn, {"bigmarker_conferences": [enus]})

    out = _run(dbt_run, "--select", "int_vendor_value_observations", "vendor_value_notices")

    # C_ENUS, and the parents of the previous load (its rows are at the watermark, read again)
    (read,) = re.findall(r"int_vendor_value_observations: re-reading (\d+) parents", out)
    assert 1 <= int(read) <= 3, out[-4000:]
    with psycopg.connect(dbt_run.dsn) as conn:
        after = set(conn.execute(NOTICES).fetchall())
    assert ("bigmarker.conference.language", "tlh", "other", C_ENUS, 1, 1) in after
    assert any(row[1] == "ru" for row in after)  # not re-read, still reported

    out = _run(dbt_run, "--full-refresh", "--select", "int_vendor_value_observations", "vendor_value_notices")

    assert "int_vendor_value_observations: reading every parent" in out, out[-4000:]
    with psycopg.connect(dbt_run.dsn) as conn:
        assert set(conn.execute(NOTICES).fetchall()) == after
