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

{#- Cut-off for "held": the run's `as_of` (run_value: the Airflow data-interval end, or the newest
    published cut-off) or the run start time. -#}
{% macro as_of_timestamp() -%}
    {%- set as_of = run_value('as_of') -%}
    {%- if as_of -%}
        '{{ as_of }}'::timestamptz
    {%- else -%}
        '{{ run_started_at.isoformat() }}'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#-
    A value of this run (`as_of`, `dag_run_id`): the var when one is given (`dbt build --vars
    '{as_of: ...}'` by hand), else the environment variable DWH_RUN_<NAME> the pipeline sets.
    The pipeline does not pass them as vars: dbt re-parses the whole project whenever `--vars`
    differ from the last parse (~5 s per invocation, every task of every morning). The variable
    is read only while executing, so parsing never records it and partial parsing survives.
-#}
{% macro run_value(name) -%}
    {%- if var(name, none) -%}
        {{- return(var(name)) -}}
    {%- elif execute -%}
        {{- return(env_var('DWH_RUN_' ~ (name | upper), '') or none) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#- The last path segment of a vendor URI (Calendly ids are URIs). -#}
{% macro uri_id(expr) -%}
    nullif(regexp_replace({{ expr }}, '^.*/', ''), '')
{%- endmacro %}
