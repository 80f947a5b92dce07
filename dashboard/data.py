"""Data access for the dashboard: parameterised queries on the published marts, nothing else.

The dashboard connects as ``bi_reader`` (``DWH_BI_DSN``), which can read schema ``marts`` only,
in read-only transactions with a statement timeout. Every query here is a constant SQL text
with bound parameters; user choices (dates, platforms, courses, languages, webinars) only ever
travel as parameters, and the one dynamic identifier (the breakdown dimension) is picked from
a whitelist and quoted with :class:`psycopg.sql.Identifier`.

Semantics (see docs/design.md, "Business rules"):

* the date filter selects webinars by ``webinar_date`` (reporting time zone), inclusive on both
  ends in the UI, queried half-open ``[start, end + 1 day)``;
* only held webinars count unless ``include_upcoming``. An upcoming webinar has registrations
  but no attendance yet: the marts leave its attended, walk-ins, rate and minutes null (never 0),
  and even when upcoming webinars are included they only add to ``webinars`` and ``registered``;
* ``show_up_rate`` of a group = ``sum(attended) / sum(registered of its held webinars)`` (not an
  average of rates; upcoming registrations never dilute it); null without a held registration;
* ``avg_minutes`` of a group = ``sum(total_minutes) / sum(attended)`` — the mean over attended
  registrations, the same definition as ``webinar_attendance.avg_minutes_attended``;
* ``attended`` / ``walk_ins`` of a group without a held webinar are ``None`` (unknown), not 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import psycopg
from psycopg import errors, sql

DSN_ENV: Final = "DWH_BI_DSN"
TIMEZONE_ENV: Final = "DWH_TIMEZONE"
DEFAULT_TIMEZONE: Final = "Europe/Berlin"
CACHE_TTL_ENV: Final = "DASHBOARD_CACHE_TTL_S"
DEFAULT_CACHE_TTL_S: Final = 600
STATEMENT_TIMEOUT_MS: Final = 30_000
UNMAPPED: Final = "unmapped"

Dimension = Literal["course", "language", "platform"]
_DIMENSIONS: Final[frozenset[str]] = frozenset({"course", "language", "platform"})


class DashboardConfigError(RuntimeError):
    """The dashboard cannot reach the marts; the message says what to set."""


def bi_dsn() -> str:
    """The BI role's DSN from ``DWH_BI_DSN``.

    Raises:
        DashboardConfigError: the variable is missing or empty.
    """
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        raise DashboardConfigError(
            f"{DSN_ENV} is not set. It must be the PostgreSQL URI of the read-only role bi_reader, "
            f"e.g. postgresql://bi_reader:<password>@<host>:5432/dwh. Locally, `make dashboard` "
            f"sets it from .local/env.sh (written by `make stack`)."
        )
    return dsn


def reporting_timezone() -> ZoneInfo:
    """The reporting time zone from ``DWH_TIMEZONE`` (default Europe/Berlin), as the pipeline uses it.

    Raises:
        DashboardConfigError: the value is not an IANA time zone name.
    """
    name = os.environ.get(TIMEZONE_ENV, "").strip() or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DashboardConfigError(
            f"{TIMEZONE_ENV}={name!r} is not an IANA time zone name (e.g. Europe/Berlin, UTC): "
            f"set it to the pipeline's reporting time zone."
        ) from None


def cache_ttl_seconds() -> int:
    """How long query results are cached: ``DASHBOARD_CACHE_TTL_S`` (default 600), in seconds.

    Raises:
        DashboardConfigError: the value is not a whole number of seconds >= 0.
    """
    raw = os.environ.get(CACHE_TTL_ENV, "").strip()
    if not raw:
        return DEFAULT_CACHE_TTL_S
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise DashboardConfigError(
            f"{CACHE_TTL_ENV}={raw!r} is not a whole number of seconds >= 0 "
            f"(default {DEFAULT_CACHE_TTL_S})."
        )
    return value


def error_line(exc: BaseException) -> str:
    """One line for the reader: the exception's class and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def connect(dsn: str) -> psycopg.Connection:
    """A read-only autocommit connection with a statement timeout (BI must never block publishing)."""
    return psycopg.connect(
        dsn,
        autocommit=True,
        application_name="webinar_dashboard",
        connect_timeout=10,
        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c default_transaction_read_only=on",
    )


@dataclass(frozen=True)
class Filters:
    """The dashboard's selection. ``None`` in a multi-choice field means "all".

    Attributes:
        start: first webinar date included (reporting time zone).
        end: last webinar date included.
        platforms: ``'bigmarker'`` / ``'legacy'``.
        courses: course names (``'unmapped'`` allowed).
        languages: language codes (``'unmapped'`` allowed).
        webinar_ids: specific webinars.
        include_upcoming: also count webinars that had not started at the cut-off.
        include_internal: also count internal and test webinars (seed ``internal_webinars``);
            KPIs leave them out by default.
        compare: what the deltas compare with: ``previous`` (the period of equal length just
            before) or ``year`` (the same dates a year earlier).
    """

    start: date
    end: date
    platforms: tuple[str, ...] | None = None
    courses: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    webinar_ids: tuple[str, ...] | None = None
    include_upcoming: bool = False
    include_internal: bool = False
    compare: Literal["previous", "year"] = "previous"

    @property
    def days(self) -> int:
        """Length of the period in days (both ends included)."""
        return (self.end - self.start).days + 1

    def previous_period(self) -> Filters:
        """The period the deltas compare with (same other filters): the one of equal length that
        ends the day before ``start``, or with ``compare='year'`` the same dates a year earlier
        (29 February → 28 February)."""
        if self.compare == "year":
            return replace(self, start=_year_earlier(self.start), end=_year_earlier(self.end))
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def params(self) -> dict[str, Any]:
        """Bind parameters for :data:`_WHERE` (half-open date window)."""

        def arr(values: tuple[str, ...] | None) -> list[str] | None:
            return list(values) if values else None

        return {
            "start": self.start,
            "end_excl": self.end + timedelta(days=1),
            "platforms": arr(self.platforms),
            "courses": arr(self.courses),
            "languages": arr(self.languages),
            "webinar_ids": arr(self.webinar_ids),
            "include_upcoming": self.include_upcoming,
            "include_internal": self.include_internal,
        }


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


PRESETS: Final = (
    "This month", "Last month", "This quarter", "Last quarter", "This year", "Last year",
)


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period relative to ``today`` (both included)."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "Last month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "This quarter":
        return quarter_start, today
    if preset == "Last quarter":
        end = quarter_start - timedelta(days=1)
        return date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end
    if preset == "This year":
        return date(today.year, 1, 1), today
    if preset == "Last year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    raise ValueError(f"unknown period {preset!r}; use one of {', '.join(PRESETS)}")


# One filter clause shared by every query on marts.webinar_attendance: constant text, bound values.
_WHERE: Final = """
    where webinar_date >= %(start)s and webinar_date < %(end_excl)s
      and (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[]))
      and (%(courses)s::text[] is null or course = any(%(courses)s::text[]))
      and (%(languages)s::text[] is null or language = any(%(languages)s::text[]))
      and (%(webinar_ids)s::text[] is null or webinar_id = any(%(webinar_ids)s::text[]))
      and (%(include_upcoming)s or is_held)
      and (%(include_internal)s or not is_internal)
"""

# attended, walk_ins and total_minutes are null for upcoming webinars: sum() skips them, and the
# rate's denominator takes the registrations of held webinars only.
_TOTALS: Final = """
    count(*)::int as webinars,
    coalesce(sum(registered), 0)::bigint as registered,
    sum(attended)::bigint as attended,
    sum(walk_ins)::bigint as walk_ins,
    (sum(attended)::numeric / nullif(sum(registered) filter (where is_held), 0))::float8 as show_up_rate,
    (sum(total_minutes) / nullif(sum(attended), 0))::float8 as avg_minutes,
    (count(*) filter (where not is_held))::int as upcoming
"""


# The dashboard's queries, named so that the benchmark times exactly these texts.
KPIS_SQL: Final = f"select {_TOTALS} from marts.webinar_attendance {_WHERE}"
WEEKLY_TREND_SQL: Final = (
    f"select date_trunc('week', webinar_date)::date as week_start, {_TOTALS} "
    f"from marts.webinar_attendance {_WHERE} group by 1 order by 1"
)
WEBINARS_SQL: Final = (
    "select webinar_date, platform, title, course, language, registered, attended, walk_ins, "
    "show_up_rate::float8, avg_minutes_attended::float8, total_minutes::float8, is_held, webinar_id "
    f"from marts.webinar_attendance {_WHERE} order by webinar_date desc, platform, title"
)


def breakdown_sql(dimension: Dimension) -> sql.Composed:
    """Totals per ``dimension`` value (an identifier from :data:`_DIMENSIONS`, never user text)."""
    if dimension not in _DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; use one of {sorted(_DIMENSIONS)}")
    return sql.SQL(
        "select {dim} as {alias}, " + _TOTALS + " from marts.webinar_attendance " + _WHERE
        + " group by 1 order by registered desc, 1"
    ).format(dim=sql.Identifier(dimension), alias=sql.Identifier(dimension))


@dataclass(frozen=True)
class Kpis:
    """Headline numbers of one period (see the module docstring for the definitions)."""

    webinars: int
    registered: int
    attended: int | None  # None: no held webinar in the selection
    walk_ins: int | None
    show_up_rate: float | None
    avg_minutes: float | None
    upcoming: int = 0  # upcoming webinars among ``webinars`` (only with include_upcoming)


def _frame(conn: psycopg.Connection, query: str | sql.Composed, params: dict[str, Any]) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query, params)
        cols = [c.name for c in cur.description or []]
        return pd.DataFrame(cur.fetchall(), columns=cols)


def kpis(dsn: str, filters: Filters) -> Kpis:
    """Totals over the webinars selected by ``filters``."""
    with connect(dsn) as conn:
        row = conn.execute(KPIS_SQL, filters.params()).fetchone()
    assert row is not None
    return Kpis(*row)


def weekly_trend(dsn: str, filters: Filters) -> pd.DataFrame:
    """One row per ISO week (Monday) with webinars, registered, attended, show-up rate, avg minutes."""
    with connect(dsn) as conn:
        return _frame(conn, WEEKLY_TREND_SQL, filters.params())


def complete_weeks(trend: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """``trend`` with one row per week (Monday) from ``start``'s week to ``end``'s, in order.

    Weeks without a webinar get ``webinars = 0`` and empty measures, so a chart shows the gap
    instead of drawing neighbouring weeks together. A ``week`` column holds the label of each
    week (``"16 Nov 2026"``): the chart's axis is categorical, so one selected webinar reads as
    one week, never as a time of day.
    """
    first = start - timedelta(days=start.weekday())
    last = end - timedelta(days=end.weekday())
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    full = pd.DataFrame({"week_start": weeks})
    if not trend.empty:
        full = full.merge(trend, on="week_start", how="left")
    for column in ("webinars", "registered", "attended", "walk_ins", "show_up_rate", "avg_minutes"):
        if column not in full:
            full[column] = None
    full["webinars"] = full["webinars"].fillna(0).astype(int)
    full["week"] = [f"{w:%d %b %Y}" for w in full["week_start"]]
    return full


def breakdown(dsn: str, filters: Filters, dimension: Dimension) -> pd.DataFrame:
    """Totals per ``dimension`` value (course, language or platform), largest registration first."""
    with connect(dsn) as conn:
        return _frame(conn, breakdown_sql(dimension), filters.params())


WEBINAR_COLUMNS: Final = (
    "webinar_date", "platform", "title", "course", "language", "registered", "attended",
    "walk_ins", "show_up_rate", "avg_minutes_attended", "total_minutes", "is_held", "webinar_id",
)


def webinars(dsn: str, filters: Filters) -> pd.DataFrame:
    """One row per selected webinar (newest first), the columns of :data:`WEBINAR_COLUMNS`."""
    with connect(dsn) as conn:
        return _frame(conn, WEBINARS_SQL, filters.params())


@dataclass(frozen=True)
class Options:
    """What the filters can offer (read from the marts, whole history)."""

    first_date: date | None
    last_date: date | None
    last_held_date: date | None
    platforms: tuple[str, ...]
    courses: tuple[str, ...]
    languages: tuple[str, ...]
    webinars: pd.DataFrame  # webinar_id, label, webinar_date, platform, course, language


def options(dsn: str) -> Options:
    """Filter choices: date bounds, distinct platforms / courses / languages, and the webinar list."""
    with connect(dsn) as conn:
        first, last, last_held = conn.execute(
            "select min(webinar_date), max(webinar_date), max(webinar_date) filter (where is_held) "
            "from marts.webinar_attendance"
        ).fetchone() or (None, None, None)
        dims = {
            dim: tuple(
                r[0] for r in conn.execute(
                    sql.SQL("select distinct {d} from marts.webinar_attendance order by 1").format(
                        d=sql.Identifier(dim)
                    )
                )
            )
            for dim in ("platform", "course", "language")
        }
        listing = _frame(
            conn,
            "select webinar_id, webinar_date::text || ' · ' || coalesce(title, webinar_id) "
            "|| ' (' || platform || ')' as label, webinar_date, platform, course, language "
            "from marts.webinar_attendance order by webinar_date desc, title",
            {},
        )
    return Options(first, last, last_held, dims["platform"], dims["course"], dims["language"], listing)


def unmapped_webinars(dsn: str) -> pd.DataFrame:
    """Webinars whose course or language the catalog seed could not map (whole history)."""
    query = (
        "select webinar_date, platform, webinar_id, title, course, language "
        "from marts.webinar_attendance where course = %(u)s or language = %(u)s "
        "order by webinar_date desc, platform, title"
    )
    with connect(dsn) as conn:
        return _frame(conn, query, {"u": UNMAPPED})


def vendor_value_notices(dsn: str) -> pd.DataFrame:
    """Vendor values the pipeline did not know and the bucket each landed in (empty if none).

    From ``marts.vendor_value_notices`` (no e-mail in it); an empty frame when the mart is absent.
    """
    query = (
        "select field, raw_value, bucket, effect, webinars, example_webinar_ids "
        "from marts.vendor_value_notices order by webinars desc, field, raw_value"
    )
    try:
        with connect(dsn) as conn:
            return _frame(conn, query, {})
    except errors.UndefinedTable:
        return pd.DataFrame()


def legacy_match_issue_count(dsn: str) -> int | None:
    """Calendly events not tied to exactly one Zoom occurrence (``None`` if the mart is absent)."""
    try:
        with connect(dsn) as conn:
            row = conn.execute("select count(*) from marts.legacy_match_issues").fetchone()
    except errors.UndefinedTable:
        return None
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Freshness:
    """When the data was loaded and which cut-off the marts describe."""

    loaded_at: datetime | None  # latest load over all sources
    data_as_of: datetime | None  # the run's data-interval end
    per_source: dict[str, datetime | None]


def freshness(dsn: str) -> Freshness | None:
    """Read ``marts.data_freshness``; ``None`` when that mart has not been published yet."""
    try:
        with connect(dsn) as conn:
            rows = conn.execute(
                "select source_name, last_loaded_at, data_as_of from marts.data_freshness order by 1"
            ).fetchall()
    except errors.UndefinedTable:
        return None
    per_source = {name: loaded for name, loaded, _ in rows}
    loaded = [t for t in per_source.values() if t is not None]
    as_of = max((r[2] for r in rows if r[2] is not None), default=None)
    return Freshness(max(loaded) if loaded else None, as_of, per_source)


# --------------------------------------------------------------------------- upcoming webinars

_CATALOG_FILTER: Final = """
      (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[]))
      and (%(courses)s::text[] is null or course = any(%(courses)s::text[]))
      and (%(languages)s::text[] is null or language = any(%(languages)s::text[]))
"""

UPCOMING_COLUMNS: Final = (
    "webinar_date", "start_time", "platform", "title", "course", "language", "registered_so_far",
    "pace_status", "forecast_registrations", "forecast_registrations_low",
    "forecast_registrations_high", "forecast_attendees", "forecast_attendees_low",
    "forecast_attendees_high", "days_to_start", "comparables", "comparable_level", "webinar_id",
)
UPCOMING_SQL: Final = (
    "select " + ", ".join(UPCOMING_COLUMNS).replace("days_to_start", "days_to_start::float8")
    + " from marts.webinar_forecast where" + _CATALOG_FILTER + " order by start_time, title"
)
PACE_SQL: Final = (
    "select days_before, registrations, band_registrations_p25::float8, "
    "band_registrations_p50::float8, band_registrations_p75::float8 "
    "from marts.registration_pace where platform = %(platform)s and webinar_id = %(webinar_id)s "
    "order by days_before desc"
)
FLAGS_SQL: Final = (
    "select flag, webinar_date, title, course, language, reason, webinar_id from marts.webinar_flags "
    "where (%(courses)s::text[] is null or course = any(%(courses)s::text[])) "
    "and (%(languages)s::text[] is null or language is null or language = any(%(languages)s::text[])) "
    "order by flag, webinar_date, title"
)


def upcoming(dsn: str, filters: Filters) -> pd.DataFrame:
    """Upcoming webinars with pace and forecast (``marts.webinar_forecast``), soonest first.

    The platform / course / language filters apply; the date range does not (these webinars
    are all ahead of the cut-off).
    """
    with connect(dsn) as conn:
        return _frame(conn, UPCOMING_SQL, filters.params())


def pace_curve(dsn: str, platform: str, webinar_id: str) -> pd.DataFrame:
    """One webinar's registration curve and its comparable band, earliest point first."""
    with connect(dsn) as conn:
        return _frame(conn, PACE_SQL, {"platform": platform, "webinar_id": webinar_id})


def flags(dsn: str, filters: Filters) -> pd.DataFrame:
    """Anomaly flags (``marts.webinar_flags``) of the selected courses and languages."""
    with connect(dsn) as conn:
        return _frame(conn, FLAGS_SQL, filters.params())


# --------------------------------------------------------------------------- audience views
# The same filters on the audience marts: per-webinar marts take them all; the monthly marts
# take the months the period touches (a month is the finest grain they have) and the platform,
# course and language (webinar choices do not apply to them: the views say so).

_WEBINAR_MART_WHERE: Final = """
    where webinar_date >= %(start)s and webinar_date < %(end_excl)s
      and (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[]))
      and (%(courses)s::text[] is null or course = any(%(courses)s::text[]))
      and (%(languages)s::text[] is null or language = any(%(languages)s::text[]))
      and (%(webinar_ids)s::text[] is null or webinar_id = any(%(webinar_ids)s::text[]))
      and (%(include_internal)s or not is_internal)
"""
_MONTHS: Final = """
    {month} >= date_trunc('month', %(start)s::date) and {month} < %(end_excl)s
      and (%(courses)s::text[] is null or {course} = any(%(courses)s::text[]))
      and (%(languages)s::text[] is null or {language} = any(%(languages)s::text[]))
"""
_MONTHLY_WHERE: Final = "where " + _MONTHS.format(month="webinar_month", course="course", language="language")

FUNNEL_SQL: Final = (
    "select count(*)::int as webinars, coalesce(sum(registered), 0)::bigint as registered, "
    "coalesce(sum(attended), 0)::bigint as attended, coalesce(sum(stayed_15m), 0)::bigint as stayed_15m, "
    "coalesce(sum(stayed_30m), 0)::bigint as stayed_30m, coalesce(sum(stayed_60m), 0)::bigint as stayed_60m, "
    "coalesce(sum(no_show_replay_viewers), 0)::bigint as no_show_replay_viewers, "
    "coalesce(sum(replay_viewers), 0)::bigint as replay_viewers "
    f"from marts.webinar_engagement {_WEBINAR_MART_WHERE}"
)
REACH_SQL: Final = (
    "select coalesce(sum(reached), 0)::bigint as reached, "
    "coalesce(sum(on_demand_viewers), 0)::bigint as on_demand_viewers, "
    "coalesce(sum(walk_ins), 0)::bigint as walk_ins "
    f"from marts.webinar_attendance {_WHERE}"
)
CHANNELS_SQL: Final = (
    "select channel, sum(registrations)::bigint as registrations, sum(attended)::bigint as attended, "
    "(sum(attended)::numeric / nullif(sum(registrations), 0))::float8 as show_up_rate, "
    "(sum(registrations)::numeric / nullif(sum(sum(registrations)) over (), 0))::float8 as share, "
    "sum(no_show_replay_viewers)::bigint as no_show_replay_viewers "
    f"from marts.channel_performance {_MONTHLY_WHERE} "
    "and (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[])) "
    "group by channel order by registrations desc, channel"
)
CHANNEL_TREND_SQL: Final = (
    "select webinar_month, channel, sum(registrations)::bigint as registrations "
    f"from marts.channel_performance {_MONTHLY_WHERE} "
    "and (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[])) "
    "group by 1, 2 order by 1, 2"
)
UNMAPPED_CHANNELS_SQL: Final = (
    "select signal, raw_value, platforms, registrations, webinars, last_webinar_date "
    "from marts.unmapped_channel_values order by registrations desc, signal, raw_value"
)
AUDIENCE_SQL: Final = (
    "select webinar_month, sum(registrants)::bigint as registrants, "
    "sum(new_registrants)::bigint as new_registrants, "
    "sum(returning_registrants)::bigint as returning_registrants, "
    "sum(attendees)::bigint as attendees, sum(repeat_attendees)::bigint as repeat_attendees "
    f"from marts.audience_monthly {_MONTHLY_WHERE} group by 1 order by 1"
)
COHORTS_SQL: Final = (
    "select cohort_month, sum(cohort_size)::bigint as cohort_size, "
    + ", ".join(
        f"(sum({kind}_again_{days}d * cohort_size) / nullif(sum(cohort_size) filter "
        f"(where {kind}_again_{days}d is not null), 0))::float8 as {kind}_again_{days}d"
        for kind in ("registered", "attended")
        for days in (30, 90, 180)
    )
    + " from marts.audience_cohorts where "
    + _MONTHS.format(month="cohort_month", course="first_course", language="first_language")
    + " group by 1 order by 1"
)
ENGAGEMENT_COLUMNS: Final = (
    "webinar_date", "platform", "title", "course", "language", "attended", "avg_minutes_attended",
    "avg_engaged_minutes", "avg_engagement_score", "avg_attentiveness_score", "chats", "questions",
    "polls", "stayed_30m", "replay_viewers", "webinar_id",
)
ENGAGEMENT_SQL: Final = (
    "select webinar_date, platform, title, course, language, attended, "
    "avg_minutes_attended::float8, avg_engaged_minutes::float8, avg_engagement_score::float8, "
    "avg_attentiveness_score::float8, chats::float8, questions::float8, polls::float8, stayed_30m, "
    f"replay_viewers, webinar_id from marts.webinar_engagement {_WEBINAR_MART_WHERE} "
    "order by webinar_date desc, platform, title"
)
COURSE_LANGUAGE_SQL: Final = (
    "select course, language, count(*)::int as webinars, coalesce(sum(registered), 0)::bigint as registered, "
    "sum(attended)::bigint as attended, "
    "(sum(attended)::numeric / nullif(sum(registered) filter (where is_held), 0))::float8 as show_up_rate "
    f"from marts.webinar_attendance {_WHERE} group by 1, 2"
)
MONTHLY_BY_COURSE_SQL: Final = (
    "select date_trunc('month', webinar_date)::date as month, course, "
    "coalesce(sum(registered), 0)::bigint as registered, sum(attended)::bigint as attended, "
    "(sum(attended)::numeric / nullif(sum(registered) filter (where is_held), 0))::float8 as show_up_rate "
    f"from marts.webinar_attendance {_WHERE} group by 1, 2 order by 1, 2"
)


def funnel(dsn: str, filters: Filters) -> dict[str, int]:
    """Registered → attended → stayed ≥ 15 / 30 / 60 minutes → missed live but watched the
    recording, over the selected held webinars; plus everyone reached live or by the recording."""
    with connect(dsn) as conn:
        row = _frame(conn, FUNNEL_SQL, filters.params()).iloc[0].to_dict()
        row.update(_frame(conn, REACH_SQL, filters.params()).iloc[0].to_dict())
    return {k: int(v) for k, v in row.items()}


def channels(dsn: str, filters: Filters) -> pd.DataFrame:
    """Registrations, attended, show-up rate and share per channel (months the period touches)."""
    with connect(dsn) as conn:
        return _frame(conn, CHANNELS_SQL, filters.params())


def channel_trend(dsn: str, filters: Filters) -> pd.DataFrame:
    """Registrations per month and channel."""
    with connect(dsn) as conn:
        return _frame(conn, CHANNEL_TREND_SQL, filters.params())


def unmapped_channels(dsn: str) -> pd.DataFrame:
    """Channel signal values the seed does not map yet (their registrations are 'unknown')."""
    with connect(dsn) as conn:
        return _frame(conn, UNMAPPED_CHANNELS_SQL, {})


def audience(dsn: str, filters: Filters) -> pd.DataFrame:
    """New and returning registrants and repeat attendees per month."""
    with connect(dsn) as conn:
        return _frame(conn, AUDIENCE_SQL, filters.params())


def cohorts(dsn: str, filters: Filters) -> pd.DataFrame:
    """Per cohort month (first registration): size and the shares who came back within
    30 / 90 / 180 days (weighted over the selected first courses / languages; null until every
    part of the cohort has had the whole window)."""
    with connect(dsn) as conn:
        return _frame(conn, COHORTS_SQL, filters.params())


def engagement(dsn: str, filters: Filters) -> pd.DataFrame:
    """One row per selected held webinar with its engagement figures, newest first."""
    with connect(dsn) as conn:
        return _frame(conn, ENGAGEMENT_SQL, filters.params())


def course_language_deltas(dsn: str, filters: Filters) -> pd.DataFrame:
    """Per course and language: the period's registered / attended / show-up rate next to the
    comparison period's (``filters.compare``), with the changes."""
    with connect(dsn) as conn:
        now = _frame(conn, COURSE_LANGUAGE_SQL, filters.params())
        before = _frame(conn, COURSE_LANGUAGE_SQL, filters.previous_period().params())
    merged = now.merge(before, on=["course", "language"], how="outer", suffixes=("", "_before"))
    for column in ("registered", "attended", "show_up_rate"):
        before = merged[f"{column}_before"].astype("Float64")
        merged[f"{column}_change"] = merged[column].astype("Float64") - before
    columns = [
        "course", "language", "registered", "registered_before", "registered_change", "attended",
        "attended_before", "attended_change", "show_up_rate", "show_up_rate_before", "show_up_rate_change",
    ]
    return merged[columns].sort_values(["registered", "course", "language"], ascending=[False, True, True],
                                       na_position="last").reset_index(drop=True)


def monthly_by_course(dsn: str, filters: Filters) -> pd.DataFrame:
    """Registered, attended and show-up rate per month and course (the trend lines)."""
    with connect(dsn) as conn:
        return _frame(conn, MONTHLY_BY_COURSE_SQL, filters.params())
