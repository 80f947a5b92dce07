with

webinars as (

    select * from {{ ref('dim_webinars') }}

),

-- Per-webinar counts, maintained incrementally; `is_held` is applied here (the null rule).
stats as (

    select * from {{ ref('int_webinar_attendance_stats') }}

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

        ----------  numerics
        coalesce(stats.registered, 0) as registered,
        -- Not held yet (is_held false): attendance, walk-ins, rate and minutes are unknown, so
        -- null, never 0 (a 0 would read as "nobody came" and drag every average down).
        case
            when webinars.is_held then coalesce(stats.matched_registrations, 0)
        end as attended,
        case when webinars.is_held then coalesce(stats.walk_ins, 0) end as walk_ins,
        round(
            case when webinars.is_held then coalesce(stats.matched_registrations, 0) end::numeric
            / nullif(stats.registered, 0),
            6
        ) as show_up_rate,
        round(
            case when webinars.is_held then stats.matched_seconds end::numeric
            / nullif(60 * stats.matched_registrations, 0),
            2
        ) as avg_minutes_attended,
        case
            when webinars.is_held then round(coalesce(stats.matched_seconds, 0)::numeric / 60, 2)
        end as total_minutes,
        -- The recording (BigMarker on-demand viewers; 0 for legacy webinars): viewers so far,
        -- registered no-shows among them, and everyone reached live or by the recording once.
        case when webinars.is_held then coalesce(stats.on_demand_viewers, 0) end as on_demand_viewers,
        case
            when webinars.is_held then coalesce(stats.no_show_replay_viewers, 0)
        end as no_show_replay_viewers,
        case when webinars.is_held then coalesce(stats.reached, 0) end as reached,

        ----------  booleans
        webinars.is_held,
        webinars.is_internal,

        ----------  dates and timestamps
        webinars.webinar_date,
        webinars.start_time

    from webinars
    left join stats
        on
            webinars.platform = stats.platform
            and webinars.webinar_id = stats.webinar_id

)

select * from final
