-- Cohorts of people by the month of their first registration (reporting time zone) and the
-- course and language of that first webinar: how many registered again, and attended a
-- webinar again, within 30 / 90 / 180 days of the first registration. A share is null until
-- every member of the cohort has had the whole window (month end + window <= the build's
-- as_of): an incomplete window would read as a drop. Internal webinars are left out.

with

-- Counted per cohort by int_audience_cohorts, which applies the people whose registrations
-- changed instead of counting everyone again.
aggregated as (

    select
        *,
        -- Whole windows only: the cohort's last member registered before the month's end
        -- (midnight in the reporting time zone).
        (cohort_month + interval '1 month')::timestamp
        at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}' as cohort_end
    from {{ ref('int_audience_cohorts') }}

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
