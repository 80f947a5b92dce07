-- One row per upcoming webinar: registrations so far, the pace point they are compared at,
-- the comparable band there, and the forecast of final registrations and attendees with an
-- interval (int_pace_forecasts; method in docs/design.md "Forecast").

with

live as (

    select * from {{ ref('int_pace_forecasts') }}
    where kind = 'live'

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where not is_held and not is_internal and start_time is not null

),

attendance as (

    select * from {{ ref('webinar_attendance') }}

),

-- The latest curve point already known: whole days to start, rounded up (capped at the curve).
now_point as (

    select
        webinars.platform,
        webinars.webinar_id,
        least(
            ceil(extract(epoch from webinars.start_time - {{ as_of_timestamp() }}) / 86400)::int,
            {{ var('pace_max_days') }}
        ) as days_before,
        extract(epoch from webinars.start_time - {{ as_of_timestamp() }}) / 86400 as days_to_start
    from webinars

),

forecasts as (

    select
        live.*,
        now_point.days_to_start,
        greatest(live.forecast_registrations, attendance.registered, 0) as forecast_final,
        case
            when live.forecast_registrations_low is not null
                then least(
                        greatest(live.forecast_registrations_low, attendance.registered),
                        greatest(live.forecast_registrations, attendance.registered)
                    )
        end as forecast_final_low,
        case
            when live.forecast_registrations_high is not null
                then greatest(
                        live.forecast_registrations_high, live.forecast_registrations, attendance.registered
                    )
        end as forecast_final_high
    from now_point
    left join attendance
        on
            now_point.platform = attendance.platform
            and now_point.webinar_id = attendance.webinar_id
    inner join live
        on
            now_point.platform = live.platform
            and now_point.webinar_id = live.webinar_id
            and now_point.days_before = live.days_before

),

final as (

    select
        ----------  ids
        webinars.webinar_id,
        webinars.platform,

        ----------  strings
        webinars.title,
        webinars.course,
        webinars.language,
        forecasts.comparable_level,
        case
            when forecasts.comparable_level is null then 'no comparables'
            when forecasts.registrations is null then 'not started'
            when forecasts.registrations < forecasts.band_registrations_p10 then 'well behind'
            when forecasts.registrations < forecasts.band_registrations_p25 then 'behind'
            when forecasts.registrations > forecasts.band_registrations_p75 then 'ahead'
            else 'on track'
        end as pace_status,

        ----------  numerics
        round(forecasts.days_to_start::numeric, 2) as days_to_start,
        coalesce(attendance.registered, 0) as registered_so_far,
        forecasts.days_before as pace_point,
        forecasts.registrations as registrations_at_pace_point,
        forecasts.band_n as comparables,
        round(forecasts.band_registrations_p25::numeric, 1) as band_registrations_p25,
        round(forecasts.band_registrations_p50::numeric, 1) as band_registrations_p50,
        round(forecasts.band_registrations_p75::numeric, 1) as band_registrations_p75,
        round(forecasts.band_share_of_final_p50::numeric, 4) as expected_share_so_far,
        -- Never below what is already registered; the interval contains the forecast. No upper
        -- bound (null) while more than a quarter of the comparables had no registration yet.
        round(forecasts.forecast_final::numeric)::int as forecast_registrations,
        round(forecasts.forecast_final_low::numeric)::int as forecast_registrations_low,
        round(forecasts.forecast_final_high::numeric)::int as forecast_registrations_high,
        round(forecasts.band_show_up_rate_p50::numeric, 4) as expected_show_up_rate,
        round((forecasts.forecast_final * forecasts.band_show_up_rate_p50)::numeric)::int
            as forecast_attendees,
        round((forecasts.forecast_final_low * forecasts.band_show_up_rate_p25)::numeric)::int
            as forecast_attendees_low,
        round((forecasts.forecast_final_high * forecasts.band_show_up_rate_p75)::numeric)::int
            as forecast_attendees_high,

        ----------  dates and timestamps
        webinars.webinar_date,
        webinars.start_time,
        {{ as_of_timestamp() }} as forecast_at

    from webinars
    left join forecasts
        on
            webinars.platform = forecasts.platform
            and webinars.webinar_id = forecasts.webinar_id
    left join attendance
        on
            webinars.platform = attendance.platform
            and webinars.webinar_id = attendance.webinar_id

)

select * from final
