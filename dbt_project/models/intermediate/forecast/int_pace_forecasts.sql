{{ config(pre_hook="set local enable_bitmapscan = off") }}
-- No bitmap scans in this model's transaction: each comparable band reads the 30 most recent
-- comparables through an index on (days_before, course[, language], start_time). Expecting a
-- handful of rows per lookup, the planner prefers bitmap scans that fetch and sort every
-- earlier comparable (scale 10: 2.3 M heap blocks, 4 s); a backward index scan stops at 30 (2 s).

-- Comparable bands and registration forecasts for three kinds of targets, with one formula:
--   'live'     every upcoming webinar at every curve point (the band its curve is drawn
--              against), forecast made at the run's cut-off;
--   'backtest' every held webinar of the last `backtest_days` at each forecast horizon (days
--              before start), forecast made at that moment from what was known then;
--   'held'     webinars held in the last `flag_recent_days`, at their start: the show-up band.
-- Comparables: the most recent held webinars of the same course and language that had ended
-- before the forecast was made (macros/pace.sql); fewer than `pace_min_comparables` there ->
-- same course, then all webinars. The forecast is the pace ratio: registrations so far divided
-- by the comparables' median share of final registrations reached at the same point; the
-- interval divides by their 75th and 25th percentiles. No registrations yet (or no share):
-- the comparables' mean final registrations.
{%- set levels = ['course_language', 'course', 'all'] %}
{%- set min_n = var('pace_min_comparables') %}

with

pace as (

    select * from {{ ref('int_registration_pace') }}

),

webinars as (

    select * from {{ ref('int_webinars_unioned') }}
    where start_time is not null

),

catalog as (

    select * from {{ ref('int_webinar_catalog') }}

),

upcoming_points as (

    select
        webinars.platform,
        webinars.webinar_id,
        coalesce(catalog.course, 'unmapped') as course,
        coalesce(catalog.language, 'unmapped') as language,
        points.days_before,
        webinars.start_time
    from webinars
    left join catalog
        on
            webinars.platform = catalog.platform
            and webinars.webinar_id = catalog.webinar_id
    cross join generate_series(0, {{ var('pace_max_days') }}) as points (days_before)
    where webinars.start_time >= {{ as_of_timestamp() }}

),

targets as (

    select
        'live' as kind,
        upcoming_points.platform,
        upcoming_points.webinar_id,
        upcoming_points.course,
        upcoming_points.language,
        upcoming_points.days_before,
        upcoming_points.start_time,
        {{ as_of_timestamp() }} as forecast_at,
        pace.registrations,
        null::int as final_registrations
    from upcoming_points
    left join pace
        on
            upcoming_points.platform = pace.platform
            and upcoming_points.webinar_id = pace.webinar_id
            and upcoming_points.days_before = pace.days_before

    union all

    select
        'backtest' as kind,
        platform,
        webinar_id,
        course,
        language,
        days_before,
        start_time,
        start_time - days_before * interval '1 day' as forecast_at,
        registrations,
        final_registrations
    from pace
    where
        is_held
        and final_registrations > 0
        and course <> 'unmapped'
        and days_before in ({{ var('forecast_horizons') | join(', ') }})
        and start_time >= {{ as_of_timestamp() }} - interval '{{ var("backtest_days") }} days'

    union all

    select
        'held' as kind,
        platform,
        webinar_id,
        course,
        language,
        days_before,
        start_time,
        start_time as forecast_at,
        registrations,
        final_registrations
    from pace
    where
        is_held
        and days_before = 0
        and start_time >= {{ as_of_timestamp() }} - interval '{{ var("flag_recent_days") }} days'

),

banded as (

    {%- set columns = [] %}
    {%- for level in levels %}
        {%- do columns.append('band_' ~ level ~ '.comparables as ' ~ level ~ '_n') %}
        {%- do columns.append('band_' ~ level ~ '.mean_final_registrations as ' ~ level ~ '_mean_final') %}
        {%- for measure in ['share_of_final', 'registrations', 'show_up_rate'] %}
            {%- for p in [10, 25, 50, 75, 90] %}
                {%- set field = measure ~ '_p' ~ p %}
                {%- do columns.append('band_' ~ level ~ '.' ~ field ~ ' as ' ~ level ~ '_' ~ field) %}
            {%- endfor %}
        {%- endfor %}
    {%- endfor %}

    select
        targets.*,
        {{ columns | join(',\n        ') }}
    from targets
    {%- for level in levels %}
        left join lateral {{ comparable_band('targets', level) }} as band_{{ level }} on true  -- noqa: ST05
    {%- endfor %}

),

chosen as (

    select
        banded.*,
        case
            {%- for level in levels[:-1] %}
                when {{ level }}_n >= {{ min_n }} then '{{ level }}'
            {%- endfor %}
            when banded.all_n > 0 then 'all'
        end as comparable_level
    from banded

),

band as (

    select
        kind,
        platform,
        webinar_id,
        course,
        language,
        days_before,
        start_time,
        forecast_at,
        registrations,
        final_registrations,
        comparable_level,
        -- The naive baseline the backtest compares with: the course's mean final registrations.
        course_mean_final as course_mean_registrations,
        {%- set fields = ['n', 'mean_final'] %}
        {%- for measure in ['share_of_final', 'registrations', 'show_up_rate'] %}
            {%- for p in [10, 25, 50, 75, 90] %}
                {%- do fields.append(measure ~ '_p' ~ p) %}
            {%- endfor %}
        {%- endfor %}
        {%- set picks = [] %}
        {%- for field in fields %}
            {%- set whens = [] %}
            {%- for level in levels %}
                {%- do whens.append("when '" ~ level ~ "' then " ~ level ~ '_' ~ field) %}
            {%- endfor %}
            {%- do picks.append('case comparable_level ' ~ whens | join(' ') ~ ' end as band_' ~ field) %}
        {%- endfor %}
        {{ picks | join(',\n        ') }}
    from chosen

),

final as (

    select
        *,
        case
            when registrations > 0 and band_share_of_final_p50 > 0
                then registrations / band_share_of_final_p50
            else band_mean_final
        end as forecast_registrations,
        -- No interval without registrations: the mean alone says too little.
        case
            when registrations > 0 and band_share_of_final_p75 > 0
                then registrations / band_share_of_final_p75
        end as forecast_registrations_low,
        case
            when registrations > 0 and band_share_of_final_p25 > 0
                then registrations / band_share_of_final_p25
        end as forecast_registrations_high
    from band

)

select * from final
