-- One row per person (keyed hash, never an e-mail) who registered for a webinar that is not
-- internal: when they were first seen, how many webinars they registered for, attended and
-- watched the recording of, how many courses they touched. Per person in
-- int_audience_people, which re-derives only the people whose registrations changed.

with

people as (

    select * from {{ ref('int_audience_people') }}

),

final as (

    select
        ----------  ids
        person_key,

        ----------  numerics
        webinars_registered,
        webinars_attended,
        recordings_watched,
        courses_touched,

        ----------  dates and timestamps
        first_seen_date,
        first_registered_at,
        last_registered_at

    from people

)

select * from final
