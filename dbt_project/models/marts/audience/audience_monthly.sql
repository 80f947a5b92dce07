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

-- A person's first registration and first attended webinar (among the dated, not internal
-- ones) come from int_audience_people: no window over every registration of every person.
people as (

    select
        person_key,
        first_dated_registered_at as first_registered_at,
        first_dated_attended_start as first_attended_start
    from {{ ref('int_audience_people') }}

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
        people.first_registered_at,
        people.first_attended_start
    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    inner join people
        on registrations.person_key = people.person_key

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
