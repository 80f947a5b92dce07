{{
    config(
        indexes=[{'columns': ['_log_id']}],
        post_hook="{{ delta_state_finish(ref('int_audience_people'), audience_cohort_changes_log()) }}",
    )
}}

-- Per cohort (month of the first registration, its course and language): how many people, and
-- how many of them registered again / attended a webinar again within 30, 90 and 180 days of
-- the first registration. audience_cohorts turns the counts into shares. Maintained by deltas
-- (macros/aggregate_deltas.sql): a build adds to its previous counts the people rows
-- int_audience_people replaced (-1) and wrote (+1) since; built in full when that table was.
{%- set log_table = audience_cohort_changes_log() %}
{%- set state = delta_state(ref('int_audience_people'), log_table) %}

with

-- On a full build, every person counted once; on a delta build, the log's rows with their signs.
changes as (

    select
        cohort_month,
        first_course,
        first_language,
        sum(sign) as cohort_size,
        coalesce(sum(sign) filter (where days_to_registration <= 30), 0) as registered_again_30,
        coalesce(sum(sign) filter (where days_to_registration <= 90), 0) as registered_again_90,
        coalesce(sum(sign) filter (where days_to_registration <= 180), 0) as registered_again_180,
        coalesce(sum(sign) filter (where days_to_attendance <= 30), 0) as attended_again_30,
        coalesce(sum(sign) filter (where days_to_attendance <= 90), 0) as attended_again_90,
        coalesce(sum(sign) filter (where days_to_attendance <= 180), 0) as attended_again_180
    from {{ delta_rows(state, log_table, ref('int_audience_people')) }} as changed_rows
    group by cohort_month, first_course, first_language

),

-- Plus the previous counts on a delta build.
counted as (

    select
        cohort_month,
        first_course,
        first_language,
        sum(cohort_size) as cohort_size,
        sum(registered_again_30) as registered_again_30,
        sum(registered_again_90) as registered_again_90,
        sum(registered_again_180) as registered_again_180,
        sum(attended_again_30) as attended_again_30,
        sum(attended_again_90) as attended_again_90,
        sum(attended_again_180) as attended_again_180
    from (
        select * from changes
        {%- if not state.full %}
            union all
            select
                cohort_month,
                first_course,
                first_language,
                cohort_size,
                registered_again_30,
                registered_again_90,
                registered_again_180,
                attended_again_30,
                attended_again_90,
                attended_again_180
            from {{ this }}
        {%- endif %}
    ) as previous_and_changes
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
        cohort_size::bigint as cohort_size,
        registered_again_30::bigint as registered_again_30,
        registered_again_90::bigint as registered_again_90,
        registered_again_180::bigint as registered_again_180,
        attended_again_30::bigint as attended_again_30,
        attended_again_90::bigint as attended_again_90,
        attended_again_180::bigint as attended_again_180,

        ----------  load metadata
        -- The end of the change log this build applied (the next build starts after it).
        {{ state.to_id }}::bigint as _log_id

    from counted
    -- A cohort nobody is left in is gone.
    where cohort_size > 0

)

select * from final
