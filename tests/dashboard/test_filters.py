"""Pure parts of the dashboard's query layer: periods, bind parameters, the DSN check."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard import data

pytestmark = [pytest.mark.dashboard, pytest.mark.unit]


def test_previous_period_has_equal_length_and_ends_the_day_before():
    march = data.Filters(start=date(2026, 3, 1), end=date(2026, 3, 31), platforms=("legacy",))
    before = march.previous_period()
    assert (before.start, before.end) == (date(2026, 1, 29), date(2026, 2, 28))
    assert before.days == march.days == 31
    assert before.platforms == ("legacy",)  # only the dates move


def test_params_are_a_half_open_window_and_empty_choices_mean_all():
    params = data.Filters(start=date(2026, 3, 1), end=date(2026, 3, 31), courses=()).params()
    assert params["start"] == date(2026, 3, 1)
    assert params["end_excl"] == date(2026, 4, 1)
    assert params["courses"] is None and params["platforms"] is None
    assert params["include_upcoming"] is False


def test_missing_dsn_names_the_variable_and_the_role(monkeypatch):
    monkeypatch.delenv("DWH_BI_DSN", raising=False)
    with pytest.raises(data.DashboardConfigError, match=r"DWH_BI_DSN is not set.*bi_reader"):
        data.bi_dsn()
    monkeypatch.setenv("DWH_BI_DSN", "  ")
    with pytest.raises(data.DashboardConfigError):
        data.bi_dsn()


def test_an_invalid_timezone_or_cache_ttl_is_one_clear_message(monkeypatch):
    monkeypatch.setenv("DWH_TIMEZONE", "Mars/Olympus")
    with pytest.raises(data.DashboardConfigError, match=r"DWH_TIMEZONE='Mars/Olympus' is not an IANA"):
        data.reporting_timezone()
    monkeypatch.setenv("DWH_TIMEZONE", "UTC")
    assert data.reporting_timezone().key == "UTC"
    monkeypatch.setenv("DASHBOARD_CACHE_TTL_S", "ten")
    with pytest.raises(data.DashboardConfigError, match="DASHBOARD_CACHE_TTL_S='ten'"):
        data.cache_ttl_seconds()
    monkeypatch.delenv("DASHBOARD_CACHE_TTL_S")
    assert data.cache_ttl_seconds() == 600
    assert data.error_line(OSError("refused\nsecond line")) == "OSError: refused"


def test_the_weekly_trend_has_every_week_of_the_period_labelled_by_its_monday():
    trend = pd.DataFrame(
        {"week_start": [date(2026, 11, 16)], "webinars": [1], "registered": [40], "attended": [20],
         "walk_ins": [1], "show_up_rate": [0.5], "avg_minutes": [30.0]}
    )
    one = data.complete_weeks(trend, date(2026, 11, 18), date(2026, 11, 18))
    assert list(one.week) == ["16 Nov 2026"] and list(one.registered) == [40]
    # a gap week stays in the chart, empty, instead of joining its neighbours
    three = data.complete_weeks(trend, date(2026, 11, 4), date(2026, 11, 24))
    assert list(three.week) == ["02 Nov 2026", "09 Nov 2026", "16 Nov 2026", "23 Nov 2026"]
    assert list(three.webinars) == [0, 0, 1, 0]
    assert three.registered.isna().tolist() == [True, True, False, True]
    empty = data.complete_weeks(trend.iloc[0:0], date(2026, 11, 16), date(2026, 11, 22))
    assert list(empty.week) == ["16 Nov 2026"] and list(empty.webinars) == [0]
