-- The forecast replayed on held webinars: for each webinar held in the last `backtest_days`
-- and each horizon (`forecast_horizons`, days before start), what the forecast said from what
-- was known then, the naive baseline (mean final registrations of the course's recent held
-- webinars) and the actual final registrations. MAPE / WAPE per horizon: docs/bi_guide.md.

with

backtest as (

    select * from {{ ref('int_pace_forecasts') }}
    where kind = 'backtest'

),

webinars as (

    select * from {{ ref('dim_webinars') }}

),

final as (

    select
        ----------  ids
        backtest.webinar_id,
        backtest.platform,

        ----------  strings
        backtest.course,
        backtest.language,
        backtest.comparable_level,

        ----------  numerics
        backtest.days_before as horizon_days,
        backtest.registrations as registrations_at_horizon,
        backtest.final_registrations,
        round(backtest.forecast_registrations::numeric, 1) as forecast_registrations,
        round(backtest.course_mean_registrations::numeric, 1) as baseline_registrations,
        round(abs(backtest.forecast_registrations - backtest.final_registrations)::numeric, 1)
            as forecast_abs_error,
        round(abs(backtest.course_mean_registrations - backtest.final_registrations)::numeric, 1)
            as baseline_abs_error,

        ----------  dates
        webinars.webinar_date,
        backtest.forecast_at

    from backtest
    inner join webinars
        on
            backtest.platform = webinars.platform
            and backtest.webinar_id = webinars.webinar_id
    -- Comparable on the same rows: both the forecast and the baseline exist.
    where
        backtest.forecast_registrations is not null
        and backtest.course_mean_registrations is not null

)

select * from final
