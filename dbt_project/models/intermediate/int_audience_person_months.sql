{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['person_key'],
        scope_marker_column='webinar_month',
        on_schema_change='fail',
        indexes=[
            {'columns': ['person_key']},
            {'columns': ['_watermark']},
            {'columns': ['_log_id']},
        ],
        changed_keys_log={
            'table': audience_month_changes_log(),
            'columns': ['webinar_month', 'course', 'language', 'is_new', 'attended', 'repeat_attended'],
            'signed': true,
        },
        pre_hook="{{ create_delta_log(audience_month_changes_log(), {
            'webinar_month': 'date', 'course': 'text', 'language': 'text',
            'is_new': 'boolean', 'attended': 'boolean', 'repeat_attended': 'boolean',
        }) }}",
        post_hook="{{ people_scope_finish(audience_people_fingerprint_sql(), [ref('int_audience_people')]) }}",
    )
}}

-- One row per person and month (of the webinar) x course x language they registered in (dated,
-- not internal webinars): whether the group holds their first registration, whether they
-- attended there, and whether they attended a webinar there that started after their first
-- attended one. int_audience_monthly counts these rows (a person once per group) instead of
-- sorting every registration by person: it applies the rows each build replaces and writes,
-- which go to a change log (config changed_keys_log, macros/aggregate_deltas.sql).
-- Incremental keyed on person like int_audience_people (macros/people_scope.sql); this model
-- runs after it and empties the people change log.
-- depends_on: {{ ref('int_audience_people') }}
-- depends_on: {{ ref('internal_webinars') }}
-- depends_on: {{ ref('webinar_catalog_map') }}
{%- set scope = people_scope(ref('fct_registrations'), audience_people_fingerprint_sql()) %}

with

registrations as (

    select * from {{ ref('fct_registrations') }}
    {%- if is_incremental() %}
        where {{ in_people_scope(scope) }}
    {%- endif %}

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where not is_internal and webinar_date is not null

),

joined as (

    select
        registrations.person_key,
        registrations.attended,
        date_trunc('month', webinars.webinar_date)::date as webinar_month,
        webinars.course,
        webinars.language,
        registrations.registered_at,
        webinars.start_time,
        min(registrations.registered_at) over (partition by registrations.person_key)
            as first_registered_at,
        min(webinars.start_time) filter (where registrations.attended) over (
            partition by registrations.person_key
        ) as first_attended_start
    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id

),

person_months as (

    select
        ----------  ids
        person_key,

        ----------  dates
        webinar_month,

        ----------  strings
        course,
        language,

        ----------  booleans
        bool_or(registered_at = first_registered_at) as is_new,
        bool_or(attended) as attended,
        bool_or(attended and start_time > first_attended_start) as repeat_attended,

        ----------  load metadata
        {{ scope.log_max }}::bigint as _log_id,
        {{ people_watermark_literal(scope) }} as _watermark

    from joined
    group by person_key, webinar_month, course, language

),

-- One marker row per person in scope (none on a full build): their old rows go even when no
-- registration of theirs is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ people_scope_markers(scope, 'person_months') }}

)

select * from person_months
union all
select * from scope_markers
