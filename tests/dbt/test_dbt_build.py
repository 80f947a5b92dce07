"""dbt project on a real PostgreSQL: ``dbt build`` over hand-written payloads, marts checked by hand.

Every expected number below is derived from docs/design.md §Business rules and the payloads in
``dbt_payloads.py`` (never read back from the models under test).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from dbt_payloads import (
    AS_OF,
    C_DA,
    C_ENUS,
    C_FUT,
    C_PM,
    C_RU,
    C_UNM,
    EV_AMB,
    EV_NONE,
    EV_TIME,
    I_PY1,
    I_PY2,
    I_TEST,
    I_UX,
    PII_KEY,
)

from tests.dbt.conftest import DbtRun, run_dbt

pytestmark = pytest.mark.warehouse

ATTENDANCE_COLUMNS = (
    "platform, course, language, registered, attended, walk_ins, show_up_rate, "
    "avg_minutes_attended, total_minutes, is_held, webinar_date"
)
D = Decimal


def _person_key(email: str) -> str:
    return hmac.new(PII_KEY.encode(), email.encode(), hashlib.sha256).hexdigest()


def _rows(conn: psycopg.Connection, query: str) -> list[tuple]:
    return conn.execute(query).fetchall()


def test_build_succeeds_with_all_data_and_unit_tests(dbt_run: DbtRun) -> None:
    out = dbt_run.result.stdout
    assert dbt_run.result.returncode == 0, out[-6000:] + dbt_run.result.stderr[-2000:]
    assert "ERROR=0" in out
    assert "unit_test" in out  # the unit tests ran as part of the build


def test_models_land_in_fixed_schemas_and_nothing_in_marts(mart_conn: psycopg.Connection) -> None:
    rows = _rows(
        mart_conn,
        "select table_schema, count(*) from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts_build', 'marts') group by 1 order by 1",
    )
    # the follow-up lists (tag crm) are not part of the build: built after publish
    # intermediate: 17 models + the change logs changed_people (macros/people_scope.sql),
    # audience_month_changes and audience_cohort_changes (macros/aggregate_deltas.sql)
    assert dict(rows) == {"intermediate": 20, "marts_build": 18, "staging": 13}


def test_webinar_attendance_numbers(mart_conn: psycopg.Connection) -> None:
    rows = {
        r[0]: r[1:]
        for r in _rows(
            mart_conn, f"select webinar_id, {ATTENDANCE_COLUMNS} from marts_build.webinar_attendance"
        )
    }
    assert rows == {
        # ann (600 + 900 s rejoin) and bob (1200 s) of 3 registered; dave walked in.
        C_DA: (
            "bigmarker",
            "Data Analytics",
            "en",
            3,
            2,
            1,
            D("0.666667"),
            D("22.50"),
            D("45.00"),
            True,
            date(2025, 3, 3),
        ),
        # Exact-id seed row beats the "Data Analytics" title; no seed language -> platform's "de".
        C_PM: (
            "bigmarker",
            "Product Management",
            "de",
            1,
            1,
            0,
            D("1.000000"),
            D("30.00"),
            D("30.00"),
            True,
            date(2025, 3, 4),
        ),
        # 23:30 UTC is the next day in Europe/Berlin; unmapped course, platform language.
        C_UNM: ("bigmarker", "unmapped", "en", 0, 0, 0, None, None, D("0.00"), True, date(2025, 3, 5)),
        # Future: registrations so far count; attendance, rate and minutes are unknown (null).
        C_FUT: (
            "bigmarker",
            "UX Design",
            "es",
            2,
            None,
            None,
            None,
            None,
            None,
            False,
            date(2025, 4, 1),
        ),
        # eve+promo@ registered, eve@ joined twice (900 s); frank rescheduled (counts once);
        # gina canceled; zed walked in.
        I_PY1: (
            "legacy",
            "Python for Beginners",
            "de",
            2,
            2,
            1,
            D("1.000000"),
            D("17.50"),
            D("35.00"),
            True,
            date(2025, 3, 5),
        ),
        # Matched by start time (no join_url); kim's unseen status is no cancellation.
        I_PY2: (
            "legacy",
            "Python for Beginners",
            "de",
            2,
            1,
            0,
            D("0.500000"),
            D("30.00"),
            D("30.00"),
            True,
            date(2025, 3, 6),
        ),
        # Ivy's event is ambiguous, so she is a walk-in here.
        I_TEST: ("legacy", "unmapped", "unmapped", 0, 0, 1, None, None, D("0.00"), True, date(2025, 3, 7)),
        I_UX: ("legacy", "UX Design", "en", 0, 0, 0, None, None, D("0.00"), True, date(2025, 3, 7)),
        # BigMarker's 'ru' is outside the accepted languages: bucket 'other', published.
        C_RU: ("bigmarker", "UX Design", "other", 0, 0, 0, None, None, D("0.00"), True, date(2025, 3, 8)),
        # ' EN-us ' normalises to 'en'.
        C_ENUS: (
            "bigmarker",
            "Digital Marketing",
            "en",
            0,
            0,
            0,
            None,
            None,
            D("0.00"),
            True,
            date(2025, 3, 9),
        ),
    }


def test_fct_registrations_uses_keyed_hash_person_keys(mart_conn: psycopg.Connection) -> None:
    rows = _rows(
        mart_conn,
        "select webinar_id, person_key, attended, minutes_attended from marts_build.fct_registrations",
    )
    assert len(rows) == 10
    by_key = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert by_key[(I_PY1, _person_key("eve+promo@example.com"))] == (True, D(15))
    assert by_key[(C_DA, _person_key("bob@example.com"))] == (True, D(20))
    assert by_key[(C_DA, _person_key("carl@example.com"))] == (False, D(0))
    assert by_key[(C_FUT, _person_key("ann@example.com"))] == (False, D(0))


def test_no_mart_column_holds_a_clear_email(mart_conn: psycopg.Connection) -> None:
    columns = _rows(
        mart_conn,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts_build' and data_type in ('text', 'character varying')",
    )
    assert columns
    for table, column in columns:
        hits = mart_conn.execute(
            psycopg.sql.SQL("select count(*) from {} where {} like '%@%'").format(
                psycopg.sql.Identifier("marts_build", table), psycopg.sql.Identifier(column)
            )
        ).fetchone()
        assert hits == (0,), f"marts_build.{table}.{column} holds e-mail-like values"


def test_legacy_match_issues_lists_ambiguous_and_unmatched_events(mart_conn: psycopg.Connection) -> None:
    rows = _rows(
        mart_conn,
        "select calendly_event_id, match_status, candidate_count, active_invitees "
        "from marts_build.legacy_match_issues order by calendly_event_id",
    )
    assert rows == [(EV_AMB, "ambiguous", 2, 1), (EV_NONE, "unmatched", 0, 1)]


def test_monthly_mart_aggregates_held_webinars(mart_conn: psycopg.Connection) -> None:
    rows = _rows(
        mart_conn,
        "select platform, course, language, webinars, registered, attended, walk_ins, show_up_rate "
        "from marts_build.attendance_by_course_language where webinar_month = date '2025-03-01' "
        "order by platform, course, language",
    )
    assert rows == [
        ("bigmarker", "Data Analytics", "en", 1, 3, 2, 1, D("0.666667")),
        ("bigmarker", "Digital Marketing", "en", 1, 0, 0, 0, None),
        ("bigmarker", "Product Management", "de", 1, 1, 1, 0, D("1.000000")),
        ("bigmarker", "UX Design", "other", 1, 0, 0, 0, None),
        ("bigmarker", "unmapped", "en", 1, 0, 0, 0, None),
        ("legacy", "Python for Beginners", "de", 2, 4, 3, 1, D("0.750000")),
        ("legacy", "UX Design", "en", 1, 0, 0, 0, None),
        ("legacy", "unmapped", "unmapped", 1, 0, 0, 1, None),
    ]
    future = _rows(
        mart_conn, "select count(*) from marts_build.attendance_daily where webinar_date >= '2025-04-01'"
    )
    assert future == [(0,)]


def test_unseen_vendor_values_publish_in_their_buckets_and_are_reported(
    dbt_run: DbtRun, mart_conn: psycopg.Connection
) -> None:
    # The 'ru' conference is built (webinar_attendance above: language 'other'); the notices
    # mart says what landed where, for which webinars, and what it does to the numbers.
    rows = _rows(
        mart_conn,
        "select field, platform, raw_value, bucket, example_webinar_ids, webinars, records "
        "from marts_build.vendor_value_notices order by field, raw_value",
    )
    assert rows == [
        ("bigmarker.conference.language", "bigmarker", "ru", "other", C_RU, 1, 1),
        ("bigmarker.conference.time_zone", "bigmarker", "Atlantis Standard Time", "other", C_RU, 1, 1),
        ("bigmarker.conference.type", "bigmarker", "hybrid_summit", "other", C_RU, 1, 1),
        ("calendly.invitee.status", "legacy", "awaiting_payment", "other", I_PY2, 1, 1),
        ("zoom.participant.status", "legacy", "in_breakout_room", "other", I_PY2, 1, 1),
    ]
    effects = dict(_rows(mart_conn, "select field, effect from marts_build.vendor_value_notices"))
    assert "counted as a registration" in effects["calendly.invitee.status"]
    staged = _rows(
        mart_conn,
        "select conference_id, language, language_raw, conference_type, conference_type_raw, "
        "stats_registrants from staging.stg_bigmarker__conferences "
        f"where conference_id in ('{C_RU}', '{C_ENUS}') order by conference_id",
    )
    assert staged == [
        (C_ENUS, "en", " EN-us ", "webcast", " Webcast ", 0),
        (C_RU, "other", "ru", "other", "hybrid_summit", None),
    ]
    assert _rows(
        mart_conn,
        "select invitee_status, is_active from staging.stg_calendly__invitees "
        f"where event_id = '{EV_TIME}' order by invitee_id",
    ) == [("active", True), ("other", True)]
    # dbt reports them as a warning (never an error), naming the values and the webinars.
    out = dbt_run.result.stdout
    assert "WARN=1" in out and "ERROR=0" in out
    warned = [line for line in out.splitlines() if "dbt test warn: no_rows on vendor_value_notices" in line]
    assert warned and "raw_value='ru'" in warned[0] and C_RU in warned[0]


def test_a_failing_test_logs_model_column_values_and_webinars(dbt_run: DbtRun) -> None:
    # The built tables hold 'de'; testing them against a list without it fails the accepted
    # values test of int_webinar_catalog.language (dbt test does not rebuild the models).
    result = run_dbt(
        [
            "test",
            "--select",
            "int_webinar_catalog,test_type:data",
            "--vars",
            json.dumps({"as_of": AS_OF, "accepted_languages": ["en", "es", "other", "unmapped"]}),
        ],
        dbt_run.env,
    )
    assert result.returncode != 0
    lines = [
        line
        for line in result.stdout.splitlines()
        if "dbt test failed: accepted_values on int_webinar_catalog.language" in line
    ]
    assert lines, result.stdout[-4000:]
    assert "value_field='de'" in lines[0]
    assert f"webinars: bigmarker:{C_PM}, legacy:{I_PY1}, legacy:{I_PY2}" in lines[0]


def test_source_freshness_passes_on_fresh_loads(dbt_run: DbtRun) -> None:
    # Loads landed 1-2 hours ago; the Zoom registrants table is empty, so it is selected out.
    result = run_dbt(
        [
            "source",
            "freshness",
            "--select",
            "source:bigmarker",
            "source:calendly",
            "source:zoom.participants",
        ],
        dbt_run.env,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASS=" in result.stdout or "PASS" in result.stdout
