-- New and returning registrants and repeat attendees per month (of the webinar) x course x
-- language; internal webinars left out. A registration is a person's first when no
-- registration of theirs is older; an attendee repeats when they attended a webinar that
-- started earlier.

with

-- Per person x month x course x language (int_audience_person_months, re-derived only for the
-- people whose registrations changed): a person counts once per group.
person_months as (

    select * from {{ ref('int_audience_person_months') }}

),

aggregated as (

    select
        webinar_month,
        course,
        language,
        count(*) as registrants,
        count(*) filter (where is_new) as new_registrants,
        count(*) filter (where attended) as attendees,
        count(*) filter (where repeat_attended) as repeat_attendees
    from person_months
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
