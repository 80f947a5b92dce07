-- New and returning registrants and repeat attendees per month (of the webinar) x course x
-- language; internal webinars left out. A registration is a person's first when no
-- registration of theirs is older; an attendee repeats when they attended a webinar that
-- started earlier.

with

registrations as (

    select * from {{ ref('fct_registrations') }}

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where not is_internal and webinar_date is not null

),

joined as (

    select
        registrations.registration_id,
        registrations.person_key,
        registrations.attended,
        date_trunc('month', webinars.webinar_date)::date as webinar_month,
        webinars.course,
        webinars.language,
        registrations.registered_at,
        webinars.start_time,
        min(registrations.registered_at) over (partition by registrations.person_key)
            as first_registered_at,
        min(webinars.start_time) filter (where registrations.attended) over (
            partition by registrations.person_key
        ) as first_attended_start
    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id

),

aggregated as (

    select
        webinar_month,
        course,
        language,
        count(distinct person_key) as registrants,
        count(distinct person_key) filter (where registered_at = first_registered_at) as new_registrants,
        count(distinct person_key) filter (where attended) as attendees,
        count(distinct person_key) filter (where attended and start_time > first_attended_start)
            as repeat_attendees
    from joined
    group by webinar_month, course, language

),

final as (

    select
        ----------  dates
        webinar_month,

        ----------  strings
        course,
        language,

        ----------  numerics
        registrants,
        new_registrants,
        registrants - new_registrants as returning_registrants,
        attendees,
        repeat_attendees,
        round((registrants - new_registrants)::numeric / nullif(registrants, 0), 6) as returning_share

    from aggregated

)

select * from final
