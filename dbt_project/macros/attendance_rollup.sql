{#-
    The per-period roll-ups of webinar_attendance (attendance_daily, attendance_by_course_language):
    one row per (period, platform, course, language), show-up rate recomputed from the sums.
    `period` is the SQL expression of the period, `period_name` its column name.
    Internal webinars are never rolled up; by default (var aggregate_held_only) only held
    webinars are. With it false,
    upcoming webinars add to `webinars` and `registered`, while attended, walk-ins, minutes and
    the show-up rate stay those of the held ones (null for a group with no held webinar).
-#}
{% macro attendance_rollup(period, period_name) -%}
with

webinar_attendance as (

    select * from {{ ref('webinar_attendance') }}
    -- Internal and test webinars (seed internal_webinars) are never part of a KPI.
    where not is_internal
    {% if var('aggregate_held_only', true) -%}
        -- Future webinars have registrations but no attendance yet: they would dilute rates.
        and is_held
    {%- endif %}

),

aggregated as (

    select
        {{ period }} as {{ period_name }},
        platform,
        course,
        language,
        count(*) as webinars,
        sum(registered) as registered,
        -- Sums over held webinars (upcoming ones have null attendance); the rate's denominator
        -- takes the registrations of held webinars only, so upcoming ones never dilute it.
        sum(attended) as attended,
        sum(walk_ins) as walk_ins,
        sum(total_minutes) as total_minutes,
        sum(registered) filter (where is_held) as registered_held
    from webinar_attendance
    group by 1, 2, 3, 4

),

final as (

    select
        ----------  ids
        {{ period_name }},
        platform,
        course,
        language,

        ----------  numerics
        webinars,
        registered,
        attended,
        walk_ins,
        round(attended::numeric / nullif(registered_held, 0), 6) as show_up_rate,
        total_minutes

    from aggregated

)

select * from final
{%- endmacro %}
