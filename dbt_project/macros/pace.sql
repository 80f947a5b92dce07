{#-
    The comparable held webinars of a forecast target, as a lateral subquery: the
    `pace_comparables` most recent webinars that ended before the target's `forecast_at`, with at
    least one registration, at the same point of their curve (`days_before`), filtered by
    `level`: 'course_language' (same course and language), 'course' or 'all'. Internal
    webinars (course 'unmapped') are never comparables. Returns count, the 10/25/50/75/90th
    percentiles of their share of final registrations, of their registrations at that point and of
    their show-up rate, and their mean final registrations. `target` is the alias of a relation
    with platform, webinar_id, course, language, days_before and forecast_at.
-#}
{% macro comparable_band(target, level) -%}
    (
        select
            count(*) as comparables,
            {%- for measure in ['share_of_final', 'registrations', 'show_up_rate'] %}
            {%- for p in [10, 25, 50, 75, 90] %}
            percentile_cont({{ p / 100 }}) within group (order by recent.{{ measure }}) as {{ measure }}_p{{ p }},
            {%- endfor %}
            {%- endfor %}
            avg(recent.final_registrations) as mean_final_registrations
        from (
            select
                history.share_of_final,
                history.registrations,
                history.show_up_rate,
                history.final_registrations
            from {{ ref('int_registration_pace') }} as history
            where
                history.days_before = {{ target }}.days_before
                and history.start_time < {{ target }}.forecast_at
                and history.end_time <= {{ target }}.forecast_at
                and history.final_registrations > 0
                and history.course <> 'unmapped'
                {%- if level in ('course_language', 'course') %}
                and history.course = {{ target }}.course
                {%- endif %}
                {%- if level == 'course_language' %}
                and history.language = {{ target }}.language
                {%- endif %}
                and (history.platform, history.webinar_id)
                <> ({{ target }}.platform, {{ target }}.webinar_id)
            order by history.start_time desc
            limit {{ var('pace_comparables') }}
        ) as recent
    )
{%- endmacro %}
