{#-
    Vendor timestamp text -> timestamptz, independent of the session time zone:
    ISO-8601 with an offset or `Z` is cast as is, unix seconds go through to_timestamp, and a
    timestamp without an offset is read as UTC (all three vendors document UTC).
-#}
{% macro to_timestamptz(expr) -%}
    case
        when {{ expr }} is null or trim({{ expr }}) = '' then null
        when {{ expr }} ~ '^\d+(\.\d+)?$' then to_timestamp(({{ expr }})::double precision)
        when {{ expr }} ~ '(Z|z|[+-]\d{2}(:?\d{2})?)$' then ({{ expr }})::timestamptz
        else ({{ expr }})::timestamp at time zone 'UTC'
    end
{%- endmacro %}

{#- Cut-off for "held": var('as_of') (the Airflow data-interval end) or the run start time. -#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}
        '{{ var("as_of") }}'::timestamptz
    {%- else -%}
        '{{ run_started_at.isoformat() }}'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#- The last path segment of a vendor URI (Calendly ids are URIs). -#}
{% macro uri_id(expr) -%}
    nullif(regexp_replace({{ expr }}, '^.*/', ''), '')
{%- endmacro %}
