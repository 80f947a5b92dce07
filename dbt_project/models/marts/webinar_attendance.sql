with

webinars as (

    select * from {{ ref('dim_webinars') }}

),

registrations as (

    select * from {{ ref('fct_registrations') }}

),

registration_keys as (

    select * from {{ ref('int_registrations_unioned') }}

),

attendance as (

    select * from {{ ref('int_attendance_by_person') }}

),

registration_stats as (

    select
        platform,
        webinar_id,
        count(*) as registered,
        count(*) filter (where attended) as attended,
        -- From whole seconds, so rounding sees the exact value (not a sum of 1/60 fractions).
        sum(seconds_attended) filter (where attended) as total_seconds
    from registrations
    group by platform, webinar_id

),

-- Walk-ins: attendees matching no registration of the webinar; never part of `attended`.
walk_ins as (

    select
        attendance.platform,
        attendance.webinar_id,
        count(distinct attendance.attendee_key) as walk_ins
    from attendance
    left join registration_keys
        on
            attendance.platform = registration_keys.platform
            and attendance.webinar_id = registration_keys.webinar_id
            and attendance.match_email = registration_keys.match_email
    where registration_keys.registration_id is null
    group by attendance.platform, attendance.webinar_id

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
        coalesce(registration_stats.registered, 0) as registered,
        coalesce(registration_stats.attended, 0) as attended,
        case when webinars.is_held then coalesce(walk_ins.walk_ins, 0) else 0 end as walk_ins,
        round(
            coalesce(registration_stats.attended, 0)::numeric
            / nullif(registration_stats.registered, 0),
            6
        ) as show_up_rate,
        round(
            registration_stats.total_seconds::numeric
            / nullif(60 * registration_stats.attended, 0),
            2
        ) as avg_minutes_attended,
        round(coalesce(registration_stats.total_seconds, 0)::numeric / 60, 2) as total_minutes,

        ----------  booleans
        webinars.is_held,

        ----------  dates and timestamps
        webinars.webinar_date,
        webinars.start_time

    from webinars
    left join registration_stats
        on
            webinars.platform = registration_stats.platform
            and webinars.webinar_id = registration_stats.webinar_id
    left join walk_ins
        on
            webinars.platform = walk_ins.platform
            and webinars.webinar_id = walk_ins.webinar_id

)

select * from final
