{{ config(indexes=[{'columns': ['_built_at']}]) }}

-- One row per person (keyed hash, never an e-mail) who registered for a webinar that is not
-- internal: when they were first seen, how many webinars they registered for, attended and
-- watched the recording of, how many courses they touched. Per person in
-- int_audience_people, which re-derives only the people whose registrations changed.
-- `_built_at` is indexed: the quality gate and the data tests read the people of the latest
-- build through it.

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
        last_registered_at,

        ----------  load metadata
        _built_at

    from people

)

select * from final
