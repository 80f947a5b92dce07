"""Pure parts of the dashboard's query layer: periods, bind parameters, the DSN check."""

from __future__ import annotations

from datetime import date

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
