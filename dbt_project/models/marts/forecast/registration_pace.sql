-- Registration curves for the dashboard's pace chart: one row per webinar and curve point
-- (days before start, 0 .. pace_max_days). Held webinars carry their whole curve; upcoming
-- ones their curve so far (`registrations` null where the point lies after the cut-off) and,
-- at every point, the band of comparable held webinars (int_pace_forecasts).

with

pace as (

    select * from {{ ref('int_registration_pace') }}

),

live as (

    select * from {{ ref('int_pace_forecasts') }}
    where kind = 'live'

),

webinars as (

    select * from {{ ref('dim_webinars') }}

),

points as (

    select
        platform,
        webinar_id,
        days_before,
        registrations,
        final_registrations,
        share_of_final
    from pace
    where is_held

    union all

    select
        live.platform,
        live.webinar_id,
        live.days_before,
        live.registrations,
        null::int as final_registrations,
        null::numeric as share_of_final
    from live

),

final as (

    select
        ----------  ids
        points.platform,
        points.webinar_id,

        ----------  strings
        webinars.title,
        webinars.course,
        webinars.language,
        live.comparable_level,

        ----------  numerics
        points.days_before,
        points.registrations,
        points.final_registrations,
        points.share_of_final,
        live.band_n as comparables,
        round(live.band_registrations_p25::numeric, 1) as band_registrations_p25,
        round(live.band_registrations_p50::numeric, 1) as band_registrations_p50,
        round(live.band_registrations_p75::numeric, 1) as band_registrations_p75,

        ----------  booleans
        webinars.is_held,

        ----------  dates
        webinars.webinar_date

    from points
    inner join webinars
        on
            points.platform = webinars.platform
            and points.webinar_id = webinars.webinar_id
    left join live
        on
            points.platform = live.platform
            and points.webinar_id = live.webinar_id
            and points.days_before = live.days_before

)

select * from final
