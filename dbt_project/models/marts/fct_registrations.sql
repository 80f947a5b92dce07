with

registrations as (

    select * from {{ ref('int_registrations_unioned') }}

),

attendance as (

    select * from {{ ref('int_attendance_by_person') }}

),

webinars as (

    select * from {{ ref('dim_webinars') }}

),

final as (

    select
        ----------  ids
        registrations.registration_id,
        registrations.webinar_id,
        registrations.platform,
        -- Keyed hash of the normalised e-mail: marts never carry a clear-text e-mail.
        registrations.email_hash as person_key,

        ----------  strings
        registrations.registration_source,

        ----------  numerics
        -- Seconds summed over all of the person's attendee rows / sessions (rejoins).
        case
            when coalesce(webinars.is_held, false) and attendance.attendee_key is not null
                then attendance.attended_seconds
            else 0
        end as seconds_attended,
        case
            when coalesce(webinars.is_held, false) and attendance.attendee_key is not null
                then attendance.attended_seconds / 60.0
            else 0
        end as minutes_attended,

        ----------  booleans
        -- Future webinars have no attendance yet, whatever the sources say.
        coalesce(webinars.is_held, false)
        and attendance.attendee_key is not null as attended,

        ----------  timestamps
        registrations.registered_at

    from registrations
    left join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    left join attendance
        on
            registrations.platform = attendance.platform
            and registrations.webinar_id = attendance.webinar_id
            and registrations.match_email = attendance.match_email

)

select * from final
