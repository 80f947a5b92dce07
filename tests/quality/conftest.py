"""Fixtures for the quality-gate tests: small hand-made marts in ``marts_build``.

The rows are "good data": every blocking and warn-level expectation of
``webinar_dwh.quality.suites`` holds for them, so each test breaks exactly one thing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import psycopg
import pytest

#: Run date the tests validate with; latest plausible webinar_date is then 2028-11-25.
RUN_DATE = dt.date(2026, 11, 25)


def person_key(email: str) -> str:
    """A 64-hex stand-in for the warehouse's keyed SHA-256 of the normalised e-mail."""
    return hashlib.sha256(b"test-key:" + email.strip().lower().encode()).hexdigest()


MARTS_DDL = """
create schema marts_build;

create table marts_build.webinar_attendance (
    platform text, webinar_id text, title text, webinar_date date, course text, language text,
    registered integer, attended integer, walk_ins integer, show_up_rate numeric,
    avg_minutes_attended numeric(10, 2), total_minutes numeric
);
insert into marts_build.webinar_attendance values
    ('bigmarker', 'c-101', 'Intro to SQL',       '2026-10-01', 'sql',    'en', 4, 3, 1, 0.75, 42.5, 127.5),
    ('bigmarker', 'c-102', 'Fortgeschrittenes',  '2026-10-08', 'sql',    'de', 2, 0, 0, 0.00, null, 0),
    ('zoom',      '9001:a', 'Python basics',     '2026-11-02', 'python', 'en', 3, 3, 0, 1.00, 55.0, 165),
    ('zoom',      '9001:b', 'Python basics',     '2026-11-09', 'python', 'en', 0, 0, 2, null, null, 0),
    ('zoom',      '9002:a', 'Misc Q&A',          '2026-11-20', 'unmapped', 'en', 1, 1, 0, 1.00, 10.0, 10);

create table marts_build.dim_webinars (
    platform text, webinar_id text, title text, start_time timestamptz, webinar_date date,
    course text, language text, is_held boolean
);
insert into marts_build.dim_webinars
select platform, webinar_id, title, webinar_date + time '17:00', webinar_date, course, language, true
from marts_build.webinar_attendance
union all
select 'zoom', '9003:a', 'Future talk', timestamptz '2027-02-01 17:00+01', date '2027-02-01',
       'python', 'en', false;

create table marts_build.fct_registrations (
    platform text, webinar_id text, person_key text, registered_at timestamptz, attended boolean,
    minutes_attended numeric
);

create table marts_build.attendance_by_course_language (
    month date, platform text, course text, language text, webinars integer, registered integer,
    attended integer, show_up_rate numeric
);
insert into marts_build.attendance_by_course_language
select date_trunc('month', webinar_date)::date, platform, course, language, count(*),
       sum(registered), sum(attended), sum(attended)::numeric / nullif(sum(registered), 0)
from marts_build.webinar_attendance group by 1, 2, 3, 4;

create table marts_build.attendance_daily (
    webinar_date date, platform text, course text, language text, webinars integer,
    registered integer, attended integer, show_up_rate numeric
);
insert into marts_build.attendance_daily
select webinar_date, platform, course, language, count(*), sum(registered), sum(attended),
       sum(attended)::numeric / nullif(sum(registered), 0)
from marts_build.webinar_attendance group by 1, 2, 3, 4;
"""

REGISTRATIONS = [
    # platform, webinar_id, e-mail, attended, minutes
    ("bigmarker", "c-101", "ann@example.com", True, 40.0),
    ("bigmarker", "c-101", "bob@example.com", True, 45.0),
    ("bigmarker", "c-101", "cyd@example.com", True, 42.5),
    ("bigmarker", "c-101", "dan@example.com", False, None),
    ("bigmarker", "c-102", "ann@example.com", False, None),
    ("bigmarker", "c-102", "eve@example.com", False, None),
    ("zoom", "9001:a", "ann@example.com", True, 50.0),
    ("zoom", "9001:a", "fay@example.com", True, 60.0),
    ("zoom", "9001:a", "gus@example.com", True, 55.0),
    ("zoom", "9002:a", "hal@example.com", True, 10.0),
    ("zoom", "9003:a", "ivy@example.com", False, None),
]


@pytest.fixture
def marts_db(fresh_db: str) -> str:
    """DSN of a fresh database whose ``marts_build`` holds small, valid marts."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(MARTS_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts_build.fct_registrations values "
                "(%s, %s, %s, timestamptz '2026-09-15 10:00+00', %s, %s)",
                [(p, w, person_key(e), a, m) for p, w, e, a, m in REGISTRATIONS],
            )
    return fresh_db


@pytest.fixture
def run_sql(marts_db: str) -> Callable[[str], None]:
    """Execute SQL (autocommit) in the marts database, to break one thing per test."""

    def run(statement: str) -> None:
        with psycopg.connect(marts_db, autocommit=True) as conn:
            conn.execute(statement)

    return run
