"""The forecast, replayed on the held webinars of the reference morning, beats the naive baseline.

``marts.forecast_backtest`` of the session's ``clean_morning`` (read-only): at 14, 7, 3 and 1
days before their start, the pace-ratio forecast made from what was known then against the
course's mean final registrations. Deterministic per sandbox seed (no timing involved); the
figures at scale 1 are in bench/RESULTS.md.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.e2e.harness import PublishedWarehouse

pytestmark = pytest.mark.e2e


def test_the_forecast_beats_the_course_average_at_every_horizon(clean_morning: PublishedWarehouse) -> None:
    with psycopg.connect(clean_morning.bi_dsn) as conn:
        rows = conn.execute(
            """
            select horizon_days, count(*),
                   avg(forecast_abs_error / final_registrations),
                   avg(baseline_abs_error / final_registrations),
                   sum(forecast_abs_error) / sum(final_registrations),
                   sum(baseline_abs_error) / sum(final_registrations)
            from marts.forecast_backtest group by 1 order by 1 desc
            """
        ).fetchall()
    assert [r[0] for r in rows] == [14, 7, 3, 1]
    for horizon, n, mape, base_mape, wape, base_wape in rows:
        assert n >= 50, (horizon, n)
        assert mape < base_mape and wape < base_wape, (
            horizon,
            float(mape),
            float(base_mape),
            float(wape),
            float(base_wape),
        )
    # closer to the start, better: the last day's forecast is within 15 % of the final number
    assert rows[-1][4] < 0.15


def test_an_upcoming_webinar_is_compared_with_held_webinars_only(clean_morning: PublishedWarehouse) -> None:
    """The band of an upcoming webinar never uses another upcoming one, and its forecast is at
    least what is registered already."""
    with psycopg.connect(clean_morning.bi_dsn) as conn:
        upcoming = conn.execute(
            "select count(*), count(*) filter (where forecast_registrations < registered_so_far), "
            "count(*) filter (where comparables is null) from marts.webinar_forecast"
        ).fetchone()
        held_band = conn.execute(
            "select count(*) from marts.registration_pace "
            "where is_held and band_registrations_p50 is not null"
        ).fetchone()
    assert upcoming is not None and upcoming[0] > 0
    assert upcoming[1:] == (0, 0)
    assert held_band == (0,)
