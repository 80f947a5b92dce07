"""dbt project on a real PostgreSQL: ``dbt build`` over hand-written payloads, marts checked by hand.

Every expected number below is derived from docs/design.md §Business rules and the payloads in
``dbt_payloads.py`` (never read back from the models under test).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from dbt_payloads import (
    C_DA,
    C_FUT,
    C_PM,
    C_UNM,
    EV_AMB,
    EV_NONE,
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
    assert dict(rows) == {"intermediate": 6, "marts_build": 7, "staging": 10}


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
        # Matched by start time (no join_url).
        I_PY2: (
            "legacy",
            "Python for Beginners",
            "de",
            1,
            1,
            0,
            D("1.000000"),
            D("30.00"),
            D("30.00"),
            True,
            date(2025, 3, 6),
        ),
        # Ivy's event is ambiguous, so she is a walk-in here.
        I_TEST: ("legacy", "unmapped", "unmapped", 0, 0, 1, None, None, D("0.00"), True, date(2025, 3, 7)),
        I_UX: ("legacy", "UX Design", "en", 0, 0, 0, None, None, D("0.00"), True, date(2025, 3, 7)),
    }


def test_fct_registrations_uses_keyed_hash_person_keys(mart_conn: psycopg.Connection) -> None:
    rows = _rows(
        mart_conn,
        "select webinar_id, person_key, attended, minutes_attended from marts_build.fct_registrations",
    )
    assert len(rows) == 9
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
        ("bigmarker", "Product Management", "de", 1, 1, 1, 0, D("1.000000")),
        ("bigmarker", "unmapped", "en", 1, 0, 0, 0, None),
        ("legacy", "Python for Beginners", "de", 2, 3, 3, 1, D("1.000000")),
        ("legacy", "UX Design", "en", 1, 0, 0, 0, None),
        ("legacy", "unmapped", "unmapped", 1, 0, 0, 1, None),
    ]
    future = _rows(
        mart_conn, "select count(*) from marts_build.attendance_daily where webinar_date >= '2025-04-01'"
    )
    assert future == [(0,)]


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
