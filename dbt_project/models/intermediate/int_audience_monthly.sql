{{
    config(
        indexes=[{'columns': ['_log_id']}],
        post_hook="{{ delta_state_finish(ref('int_audience_person_months'), audience_month_changes_log()) }}",
    )
}}

-- Registrants, new registrants, attendees and repeat attendees per month (of the webinar) x
-- course x language: the rows of int_audience_person_months counted, a person once per group.
-- Maintained by deltas (macros/aggregate_deltas.sql): a build adds to its previous counts the
-- person-month rows int_audience_person_months replaced (-1) and wrote (+1) since, instead of
-- counting millions of rows again; built in full when that table was.
{%- set log_table = audience_month_changes_log() %}
{%- set state = delta_state(ref('int_audience_person_months'), log_table) %}

with

-- On a full build, every person-month row counted once; on a delta build, the log's rows with
-- their signs.
changes as (

    select
        webinar_month,
        course,
        language,
        sum(sign) as registrants,
        coalesce(sum(sign) filter (where is_new), 0) as new_registrants,
        coalesce(sum(sign) filter (where attended), 0) as attendees,
        coalesce(sum(sign) filter (where repeat_attended), 0) as repeat_attendees
    from {{ delta_rows(state, log_table, ref('int_audience_person_months')) }} as changed_rows
    group by webinar_month, course, language

),

-- Plus the previous counts on a delta build.
counted as (

    select
        webinar_month,
        course,
        language,
        sum(registrants) as registrants,
        sum(new_registrants) as new_registrants,
        sum(attendees) as attendees,
        sum(repeat_attendees) as repeat_attendees
    from (
        select * from changes
        {%- if not state.full %}
            union all
            select
                webinar_month,
                course,
                language,
                registrants,
                new_registrants,
                attendees,
                repeat_attendees
            from {{ this }}
        {%- endif %}
    ) as previous_and_changes
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
        registrants::bigint as registrants,
        new_registrants::bigint as new_registrants,
        attendees::bigint as attendees,
        repeat_attendees::bigint as repeat_attendees,

        ----------  load metadata
        -- The end of the change log this build applied (the next build starts after it).
        {{ state.to_id }}::bigint as _log_id

    from counted
    -- A group nobody is left in is gone.
    where registrants > 0

)

select * from final
