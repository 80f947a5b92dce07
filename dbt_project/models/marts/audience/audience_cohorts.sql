-- Cohorts of people by the month of their first registration (reporting time zone) and the
-- course and language of that first webinar: how many registered again, and attended a
-- webinar again, within 30 / 90 / 180 days of the first registration. A share is null until
-- every member of the cohort has had the whole window (month end + window <= the build's
-- as_of): an incomplete window would read as a drop. Internal webinars are left out.

with

registrations as (

    select * from {{ ref('fct_registrations') }}

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where not is_internal

),

joined as (

    select
        registrations.registration_id,
        registrations.person_key,
        registrations.registered_at,
        registrations.attended,
        webinars.start_time,
        webinars.course,
        webinars.language,
        row_number() over (
            partition by registrations.person_key
            order by registrations.registered_at, registrations.registration_id
        ) as registration_number
    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id

),

firsts as (

    select
        person_key,
        registered_at as first_registered_at,
        date_trunc(
            'month', registered_at at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}'
        )::date as cohort_month,
        course as first_course,
        language as first_language
    from joined
    where registration_number = 1

),

-- Per person: days from the first registration to the next one, and to the next webinar
-- attended (another registration of theirs, held and attended).
returns as (

    select
        firsts.person_key,
        min(extract(epoch from later.registered_at - firsts.first_registered_at) / 86400.0)
            as days_to_registration,
        min(
            extract(epoch from later.start_time - firsts.first_registered_at) / 86400.0
        ) filter (where later.attended) as days_to_attendance
    from firsts
    inner join joined as later
        on
            firsts.person_key = later.person_key
            and later.registration_number > 1
    group by firsts.person_key

),

people as (

    select
        firsts.*,
        returns.days_to_registration,
        returns.days_to_attendance
    from firsts
    left join returns
        on firsts.person_key = returns.person_key

),

aggregated as (

    select
        cohort_month,
        first_course,
        first_language,
        count(*) as cohort_size,
        count(*) filter (where days_to_registration <= 30) as registered_again_30,
        count(*) filter (where days_to_registration <= 90) as registered_again_90,
        count(*) filter (where days_to_registration <= 180) as registered_again_180,
        count(*) filter (where days_to_attendance <= 30) as attended_again_30,
        count(*) filter (where days_to_attendance <= 90) as attended_again_90,
        count(*) filter (where days_to_attendance <= 180) as attended_again_180,
        -- Whole windows only: the cohort's last member registered before the month's end
        -- (midnight in the reporting time zone).
        (cohort_month + interval '1 month')::timestamp
        at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}' as cohort_end
    from people
    group by cohort_month, first_course, first_language

),

final as (

    select
        ----------  dates
        cohort_month,

        ----------  strings
        first_course,
        first_language,

        ----------  numerics
        cohort_size,
        {{ cohort_share('registered_again_30', 30) }} as registered_again_30d,
        {{ cohort_share('registered_again_90', 90) }} as registered_again_90d,
        {{ cohort_share('registered_again_180', 180) }} as registered_again_180d,
        {{ cohort_share('attended_again_30', 30) }} as attended_again_30d,
        {{ cohort_share('attended_again_90', 90) }} as attended_again_90d,
        {{ cohort_share('attended_again_180', 180) }} as attended_again_180d

    from aggregated

)

select * from final
