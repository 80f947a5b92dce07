-- New and returning registrants and repeat attendees per month (of the webinar) x course x
-- language; internal webinars left out. A registration is a person's first when no
-- registration of theirs is older; an attendee repeats when they attended a webinar that
-- started earlier.

with

-- Counted per month x course x language by int_audience_monthly (a person once per group),
-- which applies the people whose registrations changed instead of counting everyone again.
aggregated as (

    select * from {{ ref('int_audience_monthly') }}

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
