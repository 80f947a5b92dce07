"""The morning digest: what the team needs to know, sent after a successful publish.

It reads the **published** marts only (what BI shows, never a build in progress):

* yesterday's held webinars — registered, attended, show-up rate against the course's usual rate
  (its held webinars of the 90 days before);
* the coming seven days — registrations so far, pace against comparable webinars, the forecast
  of final registrations and attendees with its interval (``marts.webinar_forecast``);
* the anomaly flags (``marts.webinar_flags``), with their reasons in words;
* data freshness per source (``marts.data_freshness``) and, from this run, quarantined records
  and unseen vendor values; a link to the dashboard.

"Yesterday" and "this week" are reporting dates (``DWH_TIMEZONE``) of the published cut-off
(``data_as_of``). Each destination (``DWH_DIGEST_CONN_IDS``, see :mod:`webinar_dwh.notify`) gets
one digest per reporting date (``meta.digest_deliveries``): a rerun or a cleared task does not
send the same morning twice. A digest that cannot be built or delivered never fails the run: it
is logged, one alert names the destinations that failed, and the task succeeds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from webinar_dwh.notify import Message, Section

log = logging.getLogger(__name__)

USUAL_RATE_DAYS = 90
UPCOMING_DAYS = 7
MAX_LINES = 15


@dataclass(frozen=True)
class DigestData:
    """The digest's numbers, as read from the published marts."""

    day: date  # the reporting date of the cut-off ("this morning")
    data_as_of: datetime
    yesterday: list[dict[str, Any]]
    upcoming: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    freshness: list[dict[str, Any]]
    quarantined: int
    vendor_value_notices: int


def _rows(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [c.name for c in cur.description or []]
        return [
            {n: (float(v) if isinstance(v, Decimal) else v) for n, v in zip(names, row, strict=True)}
            for row in cur.fetchall()
        ]


def collect(
    conn: psycopg.Connection,
    *,
    timezone: str,
    quarantined: int = 0,
    vendor_value_notices: int = 0,
    day: date | None = None,
) -> DigestData | None:
    """Read the digest's numbers from ``marts``; ``None`` when nothing is published yet.

    ``day`` is "this morning" (default: the published cut-off's reporting date); "yesterday"
    and "the coming 7 days" are relative to it.
    """
    row = conn.execute("select max(data_as_of) from marts.data_freshness").fetchone()
    if row is None or row[0] is None:
        return None
    data_as_of: datetime = row[0]
    day = day or data_as_of.astimezone(ZoneInfo(timezone)).date()
    params = {
        "yesterday": day - timedelta(days=1),
        "usual_from": day - timedelta(days=1 + USUAL_RATE_DAYS),
        "today": day,
        "week_end": day + timedelta(days=UPCOMING_DAYS),
    }
    yesterday = _rows(
        conn,
        """
        with usual as (
            select course, sum(attended)::numeric / nullif(sum(registered), 0) as rate
            from marts.webinar_attendance
            where is_held and webinar_date >= %(usual_from)s and webinar_date < %(yesterday)s
            group by course
        )
        select w.webinar_id, w.platform, w.title, w.course, w.language, w.registered, w.attended,
               w.walk_ins, w.show_up_rate, round(usual.rate, 6) as course_usual_rate
        from marts.webinar_attendance as w
        left join usual on usual.course = w.course
        where w.is_held and w.webinar_date = %(yesterday)s
        order by w.start_time, w.title
        """,
        params,
    )
    upcoming = _rows(
        conn,
        """
        select webinar_id, platform, title, course, language, start_time, webinar_date,
               registered_so_far, pace_status, forecast_registrations, forecast_registrations_low,
               forecast_registrations_high, forecast_attendees
        from marts.webinar_forecast
        where webinar_date >= %(today)s and webinar_date < %(week_end)s
        order by start_time, title
        """,
        params,
    )
    flags = _rows(
        conn,
        "select flag, webinar_id, title, course, reason from marts.webinar_flags "
        "order by flag, webinar_date, title",
        {},
    )
    freshness = _rows(
        conn,
        "select source_name, last_loaded_at from marts.data_freshness order by source_name",
        {},
    )
    return DigestData(
        day=day,
        data_as_of=data_as_of,
        yesterday=yesterday,
        upcoming=upcoming,
        flags=flags,
        freshness=freshness,
        quarantined=quarantined,
        vendor_value_notices=vendor_value_notices,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _capped(lines: list[str], what: str) -> tuple[str, ...]:
    if len(lines) <= MAX_LINES:
        return tuple(lines)
    return (*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more {what} on the dashboard")


def compose(data: DigestData, *, dashboard_url: str, timezone: str) -> Message:
    """The digest as a :class:`~webinar_dwh.notify.Message` (every format renders from it)."""
    tz = ZoneInfo(timezone)
    yesterday = [
        f"**{w['title']}** ({w['course']}, {w['language']}): {w['registered']} registered, "
        f"{w['attended']} attended, show-up {_pct(w['show_up_rate'])} "
        f"(usual for {w['course']}: {_pct(w['course_usual_rate'])})"
        for w in data.yesterday
    ] or ["No webinar was held yesterday."]
    upcoming = []
    for w in data.upcoming:
        low, high = w["forecast_registrations_low"], w["forecast_registrations_high"]
        if low is not None and high is not None:
            interval = f" ({low} to {high})"
        else:
            interval = f" (at least {low})" if low is not None else ""
        start = w["start_time"].astimezone(tz).strftime("%a %d %b %H:%M")
        upcoming.append(
            f"{start} **{w['title']}**: {w['registered_so_far']} registered, {w['pace_status']}; "
            f"forecast {w['forecast_registrations']} registrations{interval}, "
            f"~{w['forecast_attendees']} attendees"
        )
    flags = [f"**{f['title'] or f['course']}**: {f['reason']}" for f in data.flags] or ["Nothing unusual."]
    now = data.data_as_of
    health = [
        f"{f['source_name']}: last loaded "
        + (
            f"{(now - f['last_loaded_at']).total_seconds() / 3600:.0f} h before the cut-off"
            if f["last_loaded_at"]
            else "never"
        )
        for f in data.freshness
    ]
    health.append(f"Records quarantined this run: {data.quarantined}")
    if data.vendor_value_notices:
        health.append(
            f"Vendor values the pipeline did not know: {data.vendor_value_notices} (see the dashboard)"
        )
    return Message(
        title=f"Webinars — morning of {data.day:%a %d %b %Y}",
        sections=(
            Section(f"Yesterday ({data.day - timedelta(days=1):%d %b})", _capped(yesterday, "webinars")),
            Section("Coming 7 days", _capped(upcoming or ["No webinar scheduled."], "webinars")),
            Section("Flags", _capped(flags, "flags")),
            Section("Data", tuple(health)),
        ),
        link=("Open the dashboard", dashboard_url),
        data={
            "day": data.day.isoformat(),
            "data_as_of": data.data_as_of.isoformat(),
            "yesterday": data.yesterday,
            "upcoming": data.upcoming,
            "flags": data.flags,
            "freshness": data.freshness,
            "quarantined": data.quarantined,
            "vendor_value_notices": data.vendor_value_notices,
            "dashboard_url": dashboard_url,
        },
    )
