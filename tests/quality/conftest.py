"""Fixtures for the quality-gate tests: small hand-made marts in ``marts_build``.

The rows are "good data": every blocking and warn-level expectation of
``webinar_dwh.quality.suites`` holds for them, so each test breaks exactly one thing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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

create table marts_build.dim_webinars (
    webinar_id text, platform text, zoom_webinar_id text, title text, course text, language text,
    mapping_method text, time_zone text, duration_minutes integer, is_held boolean,
    webinar_date date, start_time timestamptz, end_time timestamptz
);
insert into marts_build.dim_webinars values
    ('c-101', 'bigmarker', null, 'Intro to SQL', 'sql', 'en', 'title_pattern', 'Berlin', 60, true,
     '2026-10-01', '2026-10-01 17:00+02', '2026-10-01 18:00+02'),
    ('c-102', 'bigmarker', null, 'SQL für Fortgeschrittene', 'sql', 'de', 'webinar_id', 'Berlin',
     60, true, '2026-10-08', '2026-10-08 17:00+02', '2026-10-08 18:00+02'),
    ('u-a', 'legacy', '9001', 'Python basics', 'python', 'en', 'title_pattern', 'Europe/Berlin', 90,
     true, '2026-11-02', '2026-11-02 17:00+01', '2026-11-02 18:30+01'),
    ('u-b', 'legacy', '9001', 'Python basics', 'python', 'en', 'title_pattern', 'Europe/Berlin', 90,
     true, '2026-11-09', '2026-11-09 17:00+01', '2026-11-09 18:30+01'),
    ('u-c', 'legacy', '9002', 'Misc Q&A', 'unmapped', 'en', 'unmapped', 'Europe/Berlin', 30,
     true, '2026-11-20', '2026-11-20 17:00+01', '2026-11-20 17:30+01'),
    ('u-d', 'legacy', '9003', 'Future talk', 'python', 'en', 'title_pattern', 'Europe/Berlin', 60,
     false, '2027-02-01', '2027-02-01 17:00+01', '2027-02-01 18:00+01');

create table marts_build.webinar_attendance (
    webinar_id text, platform text, title text, course text, language text, registered integer,
    attended integer, walk_ins integer, show_up_rate numeric, avg_minutes_attended numeric,
    total_minutes numeric, is_held boolean, webinar_date date, start_time timestamptz
);
insert into marts_build.webinar_attendance
select d.webinar_id, d.platform, d.title, d.course, d.language, v.registered, v.attended,
       v.walk_ins, v.attended::numeric / nullif(v.registered, 0), v.avg_minutes, v.total_minutes,
       d.is_held, d.webinar_date, d.start_time
from marts_build.dim_webinars as d
join (values
    ('c-101', 4, 3, 1, 42.50, 127.50),
    ('c-102', 2, 0, 0, null, 0),
    ('u-a',   3, 3, 0, 55.00, 165.00),
    ('u-b',   0, 0, 2, null, 0),
    ('u-c',   1, 1, 0, 10.00, 10.00),
    ('u-d',   1, null, null, null, null)
) as v (webinar_id, registered, attended, walk_ins, avg_minutes, total_minutes)
    on v.webinar_id = d.webinar_id;

create table marts_build.fct_registrations (
    registration_id text, webinar_id text, platform text, person_key text,
    registration_source text, seconds_attended numeric, minutes_attended numeric, attended boolean,
    registered_at timestamptz, _watermark timestamptz
);

create table marts_build.attendance_by_course_language as
select date_trunc('month', webinar_date)::date as webinar_month, platform, course, language,
       count(*)::integer as webinars, sum(registered)::integer as registered,
       sum(attended)::integer as attended, sum(walk_ins)::integer as walk_ins,
       sum(attended)::numeric / nullif(sum(registered), 0) as show_up_rate,
       sum(total_minutes) as total_minutes
from marts_build.webinar_attendance where is_held group by 1, 2, 3, 4;

create table marts_build.attendance_daily as
select webinar_date, platform, course, language,
       count(*)::integer as webinars, sum(registered)::integer as registered,
       sum(attended)::integer as attended, sum(walk_ins)::integer as walk_ins,
       sum(attended)::numeric / nullif(sum(registered), 0) as show_up_rate,
       sum(total_minutes) as total_minutes
from marts_build.webinar_attendance where is_held group by 1, 2, 3, 4;

-- Normally empty: no vendor value the pipeline does not know.
create table marts_build.vendor_value_notices (
    field text, platform text, raw_value text, bucket text, effect text,
    example_webinar_ids text, webinars bigint, records bigint
);

-- Two curve points of a held webinar and one of the upcoming one, with its band.
create table marts_build.registration_pace as
select * from (values
    ('bigmarker', 'c-101', 'Intro to SQL', 'sql', 'en', null, 1, 3, 4, 0.75, null::bigint,
     null::numeric, null::numeric, null::numeric, true, date '2026-10-01'),
    ('bigmarker', 'c-101', 'Intro to SQL', 'sql', 'en', null, 0, 4, 4, 1.0, null,
     null, null, null, true, date '2026-10-01'),
    ('legacy', 'u-d', 'Future talk', 'python', 'en', 'course', 60, 1, null, null, 6,
     0.5, 1.0, 2.0, false, date '2027-02-01')
) as t (platform, webinar_id, title, course, language, comparable_level, days_before,
        registrations, final_registrations, share_of_final, comparables,
        band_registrations_p25, band_registrations_p50, band_registrations_p75, is_held, webinar_date);

create table marts_build.webinar_forecast as
select 'u-d' as webinar_id, 'legacy' as platform, 'Future talk' as title, 'python' as course,
       'en' as language, 'course' as comparable_level, 'on track' as pace_status,
       60.5 as days_to_start, 1 as registered_so_far, 42 as pace_point,
       1 as registrations_at_pace_point, 6 as comparables, 0.5 as band_registrations_p25,
       1.0 as band_registrations_p50, 2.0 as band_registrations_p75,
       0.2 as expected_share_so_far, 5 as forecast_registrations,
       3 as forecast_registrations_low, 9 as forecast_registrations_high,
       0.5 as expected_show_up_rate, 3 as forecast_attendees, 1 as forecast_attendees_low,
       6 as forecast_attendees_high, date '2027-02-01' as webinar_date,
       timestamptz '2027-02-01 17:00+01' as start_time, timestamptz '2026-11-25 05:00+00' as forecast_at;

create table marts_build.forecast_backtest as
select 'c-102' as webinar_id, 'bigmarker' as platform, 'sql' as course, 'de' as language,
       'course' as comparable_level, 1 as horizon_days, 1 as registrations_at_horizon,
       2 as final_registrations, 2.5 as forecast_registrations, 4.0 as baseline_registrations,
       0.5 as forecast_abs_error, 2.0 as baseline_abs_error, date '2026-10-08' as webinar_date,
       timestamptz '2026-10-07 15:00+00' as forecast_at;

create table marts_build.webinar_flags as
select 'pace_well_behind' as flag, 'legacy:u-d' as flagged_key, 'legacy' as platform,
       'u-d' as webinar_id, 'Future talk' as title, 'python' as course, 'en' as language,
       '1 registrations 42 days before start; comparable webinars had 1-2 by then.' as reason,
       1::numeric as observed, 0.5 as expected_low, 2.0 as expected_high,
       date '2027-02-01' as webinar_date, date '2026-11-25' as flagged_on;

-- The columns the audience work added to the first marts (appended: inserts above stay valid).
alter table marts_build.dim_webinars add column is_internal boolean not null default false;
alter table marts_build.webinar_attendance
    add column on_demand_viewers integer, add column no_show_replay_viewers integer,
    add column reached integer, add column is_internal boolean not null default false;
update marts_build.webinar_attendance
set on_demand_viewers = 1, no_show_replay_viewers = 1, reached = attended + walk_ins + 1
where is_held and registered > attended;
update marts_build.webinar_attendance
set on_demand_viewers = 0, no_show_replay_viewers = 0, reached = attended + walk_ins
where is_held and on_demand_viewers is null;
alter table marts_build.fct_registrations
    add column engaged_minutes numeric, add column chats integer, add column questions integer,
    add column polls integer, add column attentiveness_score numeric,
    add column engagement_score numeric, add column replay_minutes numeric,
    add column watched_replay boolean not null default false;

create table marts_build.channel_performance as
select * from (values
    (date '2026-10-01', 'bigmarker', 'sql', 'en', 'email', 3, 2, 0, 0.666667, 0.75),
    (date '2026-10-01', 'bigmarker', 'sql', 'en', 'direct', 1, 1, 0, 1.0, 0.25),
    (date '2026-11-01', 'legacy', 'python', 'en', 'unknown', 3, 3, 0, 1.0, 1.0)
) as t (webinar_month, platform, course, language, channel, registrations, attended,
        no_show_replay_viewers, show_up_rate, share_of_registrations);

create table marts_build.unmapped_channel_values (
    signal text, raw_value text, platforms text, registrations bigint, webinars bigint,
    first_webinar_date date, last_webinar_date date
);

-- ann was re-derived by the build in marts_build (_built_at), bob by an earlier one
create table marts_build.audience_people as
select * from (values
    (md5('ann') || md5('ann'), 3, 2, 0, 2, date '2026-09-15', timestamptz '2026-09-15 10:00+00',
     timestamptz '2026-09-15 10:00+00', timestamptz '2026-11-25 05:10+00'),
    (md5('bob') || md5('bob'), 1, 1, 0, 1, date '2026-10-01', timestamptz '2026-10-01 10:00+00',
     timestamptz '2026-10-01 10:00+00', timestamptz '2026-11-23 05:10+00')
) as t (person_key, webinars_registered, webinars_attended, recordings_watched, courses_touched,
        first_seen_date, first_registered_at, last_registered_at, _built_at);

create table marts_build.audience_monthly as
select * from (values
    (date '2026-10-01', 'sql', 'en', 4, 3, 1, 3, 0, 0.25),
    (date '2026-11-01', 'python', 'en', 3, 2, 1, 3, 1, 0.333333)
) as t (webinar_month, course, language, registrants, new_registrants, returning_registrants,
        attendees, repeat_attendees, returning_share);

create table marts_build.audience_cohorts as
select date '2026-09-01' as cohort_month, 'sql' as first_course, 'en' as first_language,
       10 as cohort_size, 0.1 as registered_again_30d, 0.2 as registered_again_90d,
       null::numeric as registered_again_180d, 0.0 as attended_again_30d,
       0.1 as attended_again_90d, null::numeric as attended_again_180d;

create table marts_build.webinar_engagement as
select 'c-101' as webinar_id, 'bigmarker' as platform, 'Intro to SQL' as title, 'sql' as course,
       'en' as language, 4 as registered, 3 as attended, 3 as stayed_15m, 3 as stayed_30m,
       0 as stayed_60m, 42.5 as avg_minutes_attended, 30.0 as avg_engaged_minutes,
       4::numeric as chats, 1::numeric as questions, 2::numeric as polls,
       null::numeric as avg_attentiveness_score, 71.3 as avg_engagement_score,
       1 as replay_viewers, 1 as no_show_replay_viewers, false as is_internal,
       date '2026-10-01' as webinar_date;
"""

#: ``fct_registrations._watermark`` of each platform's rows: the build that last (re)wrote them.
#: A published version with :data:`PUBLISHED_WATERMARK` puts the legacy rows (5 of 11) in the
#: incremental scope and leaves the BigMarker ones out.
WATERMARKS = {"bigmarker": "2026-11-23 05:00:00+00", "legacy": "2026-11-25 05:00:00+00"}
PUBLISHED_WATERMARK = "2026-11-24 05:00:00+00"

REGISTRATIONS = [
    # platform, webinar_id, e-mail, attended, minutes_attended
    ("bigmarker", "c-101", "ann@example.com", True, 40.0),
    ("bigmarker", "c-101", "bob@example.com", True, 45.0),
    ("bigmarker", "c-101", "cyd@example.com", True, 42.5),
    ("bigmarker", "c-101", "dan@example.com", False, 0),
    ("bigmarker", "c-102", "ann@example.com", False, 0),
    ("bigmarker", "c-102", "eve@example.com", False, 0),
    ("legacy", "u-a", "ann@example.com", True, 50.0),
    ("legacy", "u-a", "fay@example.com", True, 60.0),
    ("legacy", "u-a", "gus@example.com", True, 55.0),
    ("legacy", "u-c", "hal@example.com", True, 10.0),
    ("legacy", "u-d", "ivy@example.com", False, 0),
]


def load_marts(dsn: str) -> None:
    """Create ``marts_build`` with small, valid marts in the database at ``dsn``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(MARTS_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts_build.fct_registrations values (md5(%s || %s || %s), %s, %s, %s, %s, "
                "%s * 60, %s, %s, timestamptz '2026-09-15 10:00+00', %s::timestamptz)",
                [
                    (
                        p,
                        w,
                        k,
                        w,
                        p,
                        k,
                        "bigmarker" if p == "bigmarker" else "calendly",
                        m,
                        m,
                        a,
                        WATERMARKS[p],
                    )
                    for p, w, e, a, m in REGISTRATIONS
                    for k in [person_key(e)]
                ],
            )


@pytest.fixture
def marts_db(fresh_db: str) -> str:
    """DSN of a fresh database whose ``marts_build`` holds small, valid marts."""
    load_marts(fresh_db)
    return fresh_db


#: ``as_of`` (the held cut-off) dbt records in the table comment of both versions by default.
AS_OF = "2026-11-25T05:00:00+00:00"


def publish_registrations(
    dsn: str, watermark: str | None = PUBLISHED_WATERMARK, *, as_of: str = AS_OF, build_as_of: str = AS_OF
) -> None:
    """A published ``marts.fct_registrations`` built with watermark ``watermark`` (``None``: a
    published version that predates the column); the comments record ``as_of`` (published) and
    ``build_as_of`` (the build in ``marts_build``), as dbt's post-hook does."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"comment on table marts_build.fct_registrations is '{_stamp(build_as_of)}'")
        conn.execute("create schema if not exists marts")
        conn.execute("drop table if exists marts.fct_registrations")
        conn.execute("create table marts.fct_registrations as select * from marts_build.fct_registrations")
        if watermark is None:
            conn.execute("alter table marts.fct_registrations drop column _watermark")
        else:
            conn.execute("update marts.fct_registrations set _watermark = %s", (watermark,))
        conn.execute(f"comment on table marts.fct_registrations is '{_stamp(as_of)}'")


def _stamp(as_of: str) -> str:
    """A build stamp as ``macros/build_stamp.sql`` writes it."""
    return json.dumps({"as_of": as_of, "dag_run_id": "test", "invocation_id": f"dbt-{as_of}"})


@pytest.fixture
def published_db(marts_db: str) -> str:
    """:func:`marts_db` plus a published ``fct_registrations`` (latest watermark
    :data:`PUBLISHED_WATERMARK`): the legacy registrations are the rows changed since."""
    publish_registrations(marts_db)
    return marts_db


@pytest.fixture
def run_sql(marts_db: str) -> Callable[[str], None]:
    """Execute SQL (autocommit) in the marts database, to break one thing per test."""

    def run(statement: str) -> None:
        with psycopg.connect(marts_db, autocommit=True) as conn:
            conn.execute(statement)

    return run
