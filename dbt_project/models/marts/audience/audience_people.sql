-- One row per person (keyed hash, never an e-mail) who registered for a webinar that is not
-- internal: when they were first seen, how many webinars they registered for, attended and
-- watched the recording of, how many courses they touched.

with

registrations as (

    select * from {{ ref('fct_registrations') }}

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where not is_internal

),

final as (

    select
        ----------  ids
        registrations.person_key,

        ----------  numerics
        count(*) as webinars_registered,
        count(*) filter (where registrations.attended) as webinars_attended,
        count(*) filter (where registrations.watched_replay) as recordings_watched,
        count(distinct webinars.course) as courses_touched,

        ----------  dates and timestamps
        (
            min(registrations.registered_at) at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}'
        )::date as first_seen_date,
        min(registrations.registered_at) as first_registered_at,
        max(registrations.registered_at) as last_registered_at

    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    group by registrations.person_key

)

select * from final
