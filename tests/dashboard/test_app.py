"""The Streamlit app driven headlessly (``AppTest``): KPI tiles equal SQL on the published marts.

Expected numbers are computed here with plain SQL over ``marts.webinar_attendance`` (as
``bi_reader``), independently of the dashboard's query module.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data

pytestmark = pytest.mark.dashboard

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _app(monkeypatch: pytest.MonkeyPatch, bi_dsn: str | None) -> AppTest:
    if bi_dsn is None:
        monkeypatch.delenv("DWH_BI_DSN", raising=False)
    else:
        monkeypatch.setenv("DWH_BI_DSN", bi_dsn)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _expected(bi_dsn: str, where: str, params: tuple) -> dict[str, str]:
    """KPI tile values as the app formats them, from SQL written for this test."""
    with psycopg.connect(bi_dsn) as conn:
        row = conn.execute(
            "select coalesce(sum(registered), 0), coalesce(sum(attended), 0), "
            # the mean as the warehouse divides it (numeric): a float division of the same sums
            # can land on the other side of a .x5 when formatted to one decimal
            "(sum(total_minutes) / nullif(sum(attended), 0))::float8 "
            f"from marts.webinar_attendance where is_held and not is_internal and {where}",
            params,
        ).fetchone()
    reg, att, mean = int(row[0]), int(row[1]), row[2]
    return {
        "Registered": f"{int(reg):,}",
        "Attended": f"{int(att):,}",
        "Show-up rate": f"{att / reg:.1%}" if reg else "n/a",
        "Avg minutes watched": f"{mean:.1f} min" if att else "n/a",
    }


def _tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _one(bi_dsn: str, query: str) -> tuple:
    with psycopg.connect(bi_dsn) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row


def test_without_dsn_the_app_says_what_to_set(monkeypatch):
    monkeypatch.delenv("DWH_BI_DSN", raising=False)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [e.value for e in at.error] and "DWH_BI_DSN is not set" in at.error[0].value
    assert not at.metric


def test_default_view_kpis_equal_sql_over_the_last_90_days(published_warehouse, monkeypatch):
    at = _app(monkeypatch, published_warehouse.bi_dsn)
    start, end = at.date_input(key="f_dates").value
    assert end == date(2026, 11, 24)  # the data's cut-off (data_as_of), not the wall clock
    assert (end - start).days == 89
    expected = _expected(published_warehouse.bi_dsn, "webinar_date between %s and %s", (start, end))
    assert expected["Registered"] != "0"
    assert _tiles(at) == expected


def test_header_shows_when_the_data_was_loaded(published_warehouse, monkeypatch):
    at = _app(monkeypatch, published_warehouse.bi_dsn)
    assert at.title[0].value == "Webinar attendance"
    header = at.caption[0].value
    assert header.startswith("Loaded at **2026-") or header.startswith("Loaded at **20"), header
    assert "data as of 2026-11-24" in header


def test_filters_drive_the_kpis(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    at = _app(monkeypatch, bi)
    first, last = _one(bi, "select min(webinar_date), max(webinar_date) from marts.webinar_attendance")
    at.date_input(key="f_dates").set_value((first, last)).run()
    assert _tiles(at) == _expected(bi, "true", ())

    at.multiselect(key="f_platform").set_value(["legacy"]).run()
    legacy = _expected(bi, "platform = 'legacy'", ())
    assert legacy["Registered"] != "0"
    assert _tiles(at) == legacy

    at.multiselect(key="f_platform").set_value([]).run()
    course, language = _one(
        bi,
        "select course, language from marts.webinar_attendance "
        "where is_held and not is_internal and course <> 'unmapped' "
        "group by 1, 2 order by sum(registered) desc limit 1",
    )
    at.multiselect(key="f_course").set_value([course]).run()
    assert _tiles(at) == _expected(bi, "course = %s", (course,))
    at.multiselect(key="f_language").set_value([language]).run()
    assert _tiles(at) == _expected(bi, "course = %s and language = %s", (course, language))

    webinar_id, reg, att, rate, avg = _one(
        bi,
        "select webinar_id, registered, attended, show_up_rate, avg_minutes_attended "
        "from marts.webinar_attendance where is_held and not is_internal and attended > 0 "
        "order by webinar_date desc, webinar_id limit 1",
    )
    at.multiselect(key="f_course").set_value([]).run()
    at.multiselect(key="f_language").set_value([]).run()
    at.multiselect(key="f_webinar").set_value([webinar_id]).run()
    assert _tiles(at) == {
        "Registered": f"{reg:,}",
        "Attended": f"{att:,}",
        "Show-up rate": f"{float(rate):.1%}",
        # the tile divides the exact minutes; the mart's avg_minutes_attended is already rounded
        # to 2 decimals (33.449 -> 33.45 -> "33.5" would round twice)
        "Avg minutes watched": _expected(bi, "webinar_id = %s", (webinar_id,))["Avg minutes watched"],
    }
    assert abs(float(avg) - float(_tiles(at)["Avg minutes watched"].removesuffix(" min"))) <= 0.051
    table = at.dataframe[-1].value
    assert list(table.webinar_id) == [webinar_id]


def test_deltas_compare_with_the_previous_period_of_equal_length(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    at = _app(monkeypatch, bi)
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    at.date_input(key="f_dates").set_value((start, end)).run()
    prev_start, prev_end = start - timedelta(days=31), start - timedelta(days=1)
    now = _one(bi, f"select sum(registered), sum(attended) from marts.webinar_attendance "
                   f"where is_held and not is_internal and webinar_date between '{start}' and '{end}'")
    before = _one(bi, f"select sum(registered), sum(attended) from marts.webinar_attendance "
                      "where is_held and not is_internal "
                      f"and webinar_date between '{prev_start}' and '{prev_end}'")
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["Registered"] == f"{(now[0] - before[0]) / before[0]:+.1%}"
    assert deltas["Attended"] == f"{(now[1] - before[1]) / before[1]:+.1%}"
    rate_delta = (now[1] / now[0] - before[1] / before[0]) * 100
    assert deltas["Show-up rate"] == f"{rate_delta:+.1f} pp"


def test_unmapped_webinars_are_counted_and_listed(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    (count,) = _one(
        bi, "select count(*) from marts.webinar_attendance where course = 'unmapped' or language = 'unmapped'"
    )
    at = _app(monkeypatch, bi)
    notices = [e.label for e in at.expander if "unmapped" in e.label]
    if count == 0:
        assert notices == []
        return
    assert notices and notices[0].startswith(f"⚠️ {count} unmapped webinar(s)")
    listed = at.expander[0].dataframe[0].value
    assert len(listed) == count
    assert ((listed.course == "unmapped") | (listed.language == "unmapped")).all()


def test_breakdowns_and_table_cover_the_same_webinars(published_warehouse):
    bi = published_warehouse.bi_dsn
    filters = data.Filters(start=date(2026, 1, 1), end=date(2026, 11, 24))
    table = data.webinars(bi, filters)
    by_course = data.breakdown(bi, filters, "course")
    by_language = data.breakdown(bi, filters, "language")
    trend = data.weekly_trend(bi, filters)
    total = int(table.registered.sum())
    assert total == int(by_course.registered.sum()) == int(by_language.registered.sum())
    assert total == int(trend.registered.sum()) == data.kpis(bi, filters).registered
    csv = table.to_csv(index=False)
    assert csv.splitlines()[0].split(",") == list(data.WEBINAR_COLUMNS)
    assert len(csv.splitlines()) == len(table) + 1


def test_user_input_travels_as_parameters_only(published_warehouse):
    hostile = "x') or true; drop table marts.webinar_attendance; --"
    filters = data.Filters(start=date(2026, 1, 1), end=date(2026, 12, 31), courses=(hostile,))
    assert data.kpis(published_warehouse.bi_dsn, filters).webinars == 0
    with pytest.raises(ValueError, match="unknown dimension"):
        data.breakdown(published_warehouse.bi_dsn, filters, "title; drop table x")  # type: ignore[arg-type]
    everything = data.Filters(date(2026, 1, 1), date(2026, 12, 31))
    assert data.kpis(published_warehouse.bi_dsn, everything).webinars > 0


def test_a_bad_setting_or_an_unreachable_warehouse_is_one_line_not_a_traceback(monkeypatch):
    monkeypatch.setenv("DWH_TIMEZONE", "Mars/Olympus")
    at = _app(monkeypatch, "postgresql://bi_reader:x@127.0.0.1:1/dwh")
    assert [e.value for e in at.error] == [
        "DWH_TIMEZONE='Mars/Olympus' is not an IANA time zone name (e.g. Europe/Berlin, UTC): "
        "set it to the pipeline's reporting time zone."
    ]
    assert not at.metric

    monkeypatch.delenv("DWH_TIMEZONE")
    at = _app(monkeypatch, "postgresql://bi_reader:x@127.0.0.1:1/dwh")  # nothing listens on port 1
    (error,) = [e.value for e in at.error]
    assert error.startswith("Cannot read the published marts with DWH_BI_DSN (OperationalError: ")
    assert "\n" not in error and "Traceback" not in error and ":x@" not in error
    assert not at.metric


def test_upcoming_webinars_show_empty_attendance_and_never_lower_the_rate(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    first, last_held, last = _one(
        bi,
        "select min(webinar_date), max(webinar_date) filter (where is_held), max(webinar_date) "
        "from marts.webinar_attendance",
    )
    assert last > last_held  # the clean morning has upcoming webinars
    at = _app(monkeypatch, bi)
    dates = at.date_input(key="f_dates")
    assert dates.max == last  # the input reaches the last upcoming webinar
    dates.set_value((first, last)).run()
    held_only = _tiles(at)
    at.toggle(key="f_upcoming").set_value(True).run()
    with_upcoming = _tiles(at)
    # upcoming webinars add registrations, but neither attendance nor a lower show-up rate
    assert with_upcoming["Show-up rate"] == held_only["Show-up rate"]
    assert with_upcoming["Attended"] == held_only["Attended"]
    assert with_upcoming["Registered"] != held_only["Registered"]
    table = at.dataframe[-1].value
    upcoming = table[~table.is_held]
    assert len(upcoming) and upcoming.registered.sum() > 0
    for column in ("attended", "walk_ins", "show_up_rate", "avg_minutes_attended", "total_minutes"):
        assert upcoming[column].isna().all(), column


def test_one_webinar_is_one_labelled_week_on_the_trend_axis(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    (webinar_id, webinar_date) = _one(
        bi, "select webinar_id, webinar_date from marts.webinar_attendance where is_held "
        "order by webinar_date desc, webinar_id limit 1",
    )
    at = _app(monkeypatch, bi)
    at.multiselect(key="f_webinar").set_value([webinar_id]).run()
    (chart, *_) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert chart["layout"]["xaxis"]["type"] == "category"
    monday = webinar_date - timedelta(days=webinar_date.weekday())
    assert f"{monday:%d %b %Y}" in chart["data"][0]["x"]


def test_upcoming_view_shows_pace_forecast_and_flags_of_the_marts(published_warehouse, monkeypatch):
    at = _app(monkeypatch, published_warehouse.bi_dsn)
    at.sidebar.radio(key="view").set_value("Upcoming").run()
    assert not at.exception, [e.message for e in at.exception]
    expected = _one(
        published_warehouse.bi_dsn,
        "select count(*), count(*) filter (where days_to_start < 7), "
        "coalesce(sum(registered_so_far) filter (where days_to_start < 7), 0), "
        "coalesce(sum(forecast_registrations) filter (where days_to_start < 7), 0), "
        "count(*) filter (where pace_status in ('behind', 'well behind')) from marts.webinar_forecast",
    )
    assert any(h.value == f"Upcoming webinars ({expected[0]})" for h in at.subheader)
    assert _tiles(at) == {
        "Next 7 days": f"{expected[1]:,}",
        "Registered so far": f"{expected[2]:,}",
        "Forecast registrations": f"{expected[3]:,}",
        "Behind their pace": f"{expected[4]:,}",
    }
    table = at.dataframe[0].value
    assert len(table) == expected[0] and table.webinar_id.is_unique
    (flags,) = _one(published_warehouse.bi_dsn, "select count(*) from marts.webinar_flags")
    assert any(h.value == f"Flags ({flags})" for h in at.subheader)
    # a course filter narrows the upcoming list like every other view
    course = table.course.iloc[0]
    at.sidebar.multiselect(key="f_course").set_value([course]).run()
    assert set(at.dataframe[0].value.course) == {course}


def test_audience_views_show_the_marts_within_the_filters(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    at = _app(monkeypatch, bi)
    start, end = at.sidebar.date_input(key="f_dates").value
    window = f"webinar_date between '{start}' and '{end}' and not is_internal"

    at.sidebar.radio(key="view").set_value("Funnel").run()
    assert not at.exception, [e.message for e in at.exception]
    reached, viewers = _one(
        bi, f"select coalesce(sum(reached), 0), coalesce(sum(on_demand_viewers), 0) "
        f"from marts.webinar_attendance where is_held and {window}",
    )
    tiles = _tiles(at)
    assert (tiles["Reached"], tiles["Recording viewers"]) == (f"{reached:,}", f"{viewers:,}")
    assert reached > 0 and viewers > 0

    at.sidebar.radio(key="view").set_value("Channels").run()
    assert not at.exception, [e.message for e in at.exception]
    (registrations,) = _one(
        bi, "select sum(registrations) from marts.channel_performance "
        f"where webinar_month >= date_trunc('month', date '{start}') and webinar_month <= '{end}'",
    )
    channels = at.dataframe[0].value
    assert channels.registrations.sum() == registrations and abs(channels.share.sum() - 1) < 1e-6
    assert {"email", "direct", "unknown"} <= set(channels.channel)

    at.sidebar.radio(key="view").set_value("Audience").run()
    assert not at.exception, [e.message for e in at.exception]
    monthly = at.dataframe[0].value
    assert (monthly.new_registrants + monthly.returning_registrants == monthly.registrants).all()
    assert any(h.value.startswith("Cohorts") for h in at.subheader)

    at.sidebar.radio(key="view").set_value("Engagement").run()
    assert not at.exception, [e.message for e in at.exception]
    (held,) = _one(bi, f"select count(*) from marts.webinar_engagement where {window}")
    assert any(h.value == f"Engagement ({held} held webinars)" for h in at.subheader)
    assert len(at.dataframe[0].value) == held

    # a course filter narrows them like every other view
    course = at.dataframe[0].value.course.iloc[0]
    at.sidebar.multiselect(key="f_course").set_value([course]).run()
    assert set(at.dataframe[0].value.course) == {course}


def test_period_presets_year_over_year_and_internal_webinars(published_warehouse, monkeypatch):
    bi = published_warehouse.bi_dsn
    at = _app(monkeypatch, bi)
    at.sidebar.selectbox(key="f_preset").set_value("This year").run()
    at.sidebar.radio(key="f_compare").set_value("year").run()
    assert not at.exception, [e.message for e in at.exception]
    # the preset's dates, as the sidebar shows them (calendar year up to the data's cut-off)
    shown = next(c.value for c in at.sidebar.caption if re.fullmatch(r"\d\d \w{3} \d{4} to .*", c.value))
    start, anchor = (datetime.strptime(part, "%d %b %Y").date() for part in shown.split(" to "))
    assert (start.month, start.day) == (1, 1) and start.year == anchor.year
    assert _tiles(at)["Registered"] == _expected(
        bi, "webinar_date between %s and %s", (start, anchor)
    )["Registered"]
    assert any("a year earlier" in c.value for c in at.caption)
    # the per course / language comparison and its CSV are on the overview
    assert any(h.value == "By course and language" for h in at.subheader)
    # internal webinars: out of the KPIs by default, in with the toggle
    (internal,) = _one(
        bi, f"select coalesce(sum(registered), 0) from marts.webinar_attendance "
        f"where is_held and is_internal and webinar_date between '{start}' and '{anchor}'",
    )
    before = int(_tiles(at)["Registered"].replace(",", ""))
    at.sidebar.toggle(key="f_internal").set_value(True).run()
    assert int(_tiles(at)["Registered"].replace(",", "")) == before + internal
