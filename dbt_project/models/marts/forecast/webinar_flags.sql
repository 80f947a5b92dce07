-- What deserves a look this morning, one row per flag, with the reason in words:
--   show_up_outside_band     a webinar held in the last `flag_recent_days` whose show-up rate
--                            lies outside the 10th-90th percentile of its comparables;
--   pace_well_behind         an upcoming webinar with fewer registrations than 90 % of its
--                            comparables had at the same point;
--   course_registrations_drop a course whose registrations last week fell below half of its
--                            weekly mean over the four weeks before.
-- Webinars with fewer than `flag_min_registrations` registrations are not flagged (noise).
{%- set tz = var("reporting_timezone", "Europe/Berlin") %}
{%- set min_regs = var('flag_min_registrations') %}

with

held as (

    select * from {{ ref('int_pace_forecasts') }}
    where kind = 'held'

),

attendance as (

    select * from {{ ref('webinar_attendance') }}

),

forecast as (

    select * from {{ ref('webinar_forecast') }}

),

-- Registrations of the last weeks belong to webinars that start at most a few days before
-- them (registrations after the start are rare): the webinars of the last 6 weeks and later.
registrations as (

    select registrations.*
    from {{ ref('int_registrations_unioned') }} as registrations
    inner join {{ ref('int_webinars_unioned') }} as webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    where
        registrations.registration_id is not null
        and webinars.start_time >= {{ as_of_timestamp() }} - interval '42 days'

),

catalog as (

    select * from {{ ref('int_webinar_catalog') }}

),

show_up as (

    select
        'show_up_outside_band' as flag,
        attendance.platform,
        attendance.webinar_id,
        attendance.title,
        attendance.course,
        attendance.language,
        attendance.webinar_date,
        attendance.show_up_rate::numeric as observed,
        round(held.band_show_up_rate_p10::numeric, 4) as expected_low,
        round(held.band_show_up_rate_p90::numeric, 4) as expected_high,
        format(
            'Show-up %s %% is %s the usual %s-%s %% of comparable webinars (%s, %s recent held).',
            round(100 * attendance.show_up_rate, 1),
            case when attendance.show_up_rate < held.band_show_up_rate_p10 then 'below' else 'above' end,
            round(100 * held.band_show_up_rate_p10::numeric, 1),
            round(100 * held.band_show_up_rate_p90::numeric, 1),
            replace(held.comparable_level, '_', ' and '),
            held.band_n
        ) as reason
    from held
    inner join attendance
        on
            held.platform = attendance.platform
            and held.webinar_id = attendance.webinar_id
    where
        attendance.registered >= {{ min_regs }}
        and held.band_n >= {{ var('pace_min_comparables') }}
        and (
            attendance.show_up_rate < held.band_show_up_rate_p10
            or attendance.show_up_rate > held.band_show_up_rate_p90
        )

),

pace as (

    select
        'pace_well_behind' as flag,
        platform,
        webinar_id,
        title,
        course,
        language,
        webinar_date,
        registrations_at_pace_point::numeric as observed,
        band_registrations_p25 as expected_low,
        band_registrations_p75 as expected_high,
        format(
            '%s registrations %s days before start; comparable webinars had %s-%s by then '
            '(%s, %s recent held).',
            registrations_at_pace_point,
            pace_point,
            round(band_registrations_p25),
            round(band_registrations_p75),
            replace(comparable_level, '_', ' and '),
            comparables
        ) as reason
    from forecast
    where pace_status = 'well behind' and band_registrations_p50 >= {{ min_regs }}

),

-- Registrations per course and reporting-time-zone week (Monday), over the last five
-- complete weeks before the cut-off.
weekly as (

    select
        catalog.course,
        date_trunc(
            'week', registrations.registered_at at time zone '{{ tz }}'
        )::date as week_start,
        count(*) as registrations
    from registrations
    inner join catalog
        on
            registrations.platform = catalog.platform
            and registrations.webinar_id = catalog.webinar_id
    where
        catalog.course <> 'unmapped'
        and registrations.registered_at
        >= (date_trunc('week', {{ as_of_timestamp() }} at time zone '{{ tz }}') - interval '5 weeks')
        at time zone '{{ tz }}'
        and registrations.registered_at
        < date_trunc('week', {{ as_of_timestamp() }} at time zone '{{ tz }}') at time zone '{{ tz }}'
    group by 1, 2

),

course_weeks as (

    select
        course,
        coalesce(sum(registrations) filter (
            where week_start = (
                date_trunc('week', {{ as_of_timestamp() }} at time zone '{{ tz }}')
                - interval '1 week'
            )::date
        ), 0) as last_week,
        coalesce(sum(registrations) filter (
            where week_start < (
                date_trunc('week', {{ as_of_timestamp() }} at time zone '{{ tz }}')
                - interval '1 week'
            )::date
        ), 0) / 4.0 as usual_week,
        (
            date_trunc('week', {{ as_of_timestamp() }} at time zone '{{ tz }}')
            - interval '1 week'
        )::date as week_start
    from weekly
    group by 1

),

course_drop as (

    select
        'course_registrations_drop' as flag,
        null as platform,
        null as webinar_id,
        null as title,
        course,
        null as language,
        week_start as webinar_date,
        last_week::numeric as observed,
        round(usual_week / 2, 1) as expected_low,
        round(usual_week, 1) as expected_high,
        format(
            '%s registrations in the week of %s, against %s a week over the four weeks before (%s %%).',
            last_week,
            to_char(week_start, 'DD Mon YYYY'),
            round(usual_week, 1),
            round(100 * (last_week - usual_week) / usual_week)
        ) as reason
    from course_weeks
    where usual_week >= {{ min_regs }} and last_week < usual_week / 2

),

final as (

    select * from show_up
    union all
    select * from pace
    union all
    select * from course_drop

)

select
    ----------  ids
    flag,
    -- What is flagged: the webinar ('<platform>:<webinar_id>') or the course ('course:<name>').
    coalesce(platform || ':' || webinar_id, 'course:' || course) as flagged_key,
    platform,
    webinar_id,

    ----------  strings
    title,
    course,
    language,
    reason,

    ----------  numerics
    observed,
    expected_low,
    expected_high,

    ----------  dates
    webinar_date,
    ({{ as_of_timestamp() }} at time zone '{{ tz }}')::date as flagged_on

from final
