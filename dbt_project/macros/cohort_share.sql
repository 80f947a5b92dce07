{#- A cohort's share of `column` (people counted within `days`), or null until the window has
    passed for the whole cohort (its month's end + `days` <= the build's as_of). -#}
{% macro cohort_share(column, days) -%}
    case
        when cohort_end + interval '{{ days }} days' <= {{ as_of_timestamp() }}
            then round({{ column }}::numeric / cohort_size, 6)
    end
{%- endmacro %}
