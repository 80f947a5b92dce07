{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['person_key'],
        scope_marker_column='webinars_registered',
        on_schema_change='fail',
        indexes=[
            {'columns': ['person_key'], 'unique': true},
            {'columns': ['_watermark']},
            {'columns': ['_log_id']},
        ],
        changed_keys_log={
            'table': audience_cohort_changes_log(),
            'columns': [
                'cohort_month', 'first_course', 'first_language', 'days_to_registration', 'days_to_attendance',
            ],
            'signed': true,
        },
        pre_hook="{{ create_delta_log(audience_cohort_changes_log(), {
            'cohort_month': 'date', 'first_course': 'text', 'first_language': 'text',
            'days_to_registration': 'numeric', 'days_to_attendance': 'numeric',
        }) }}",
        post_hook="{{ people_scope_finish(audience_people_fingerprint_sql()) }}",
    )
}}

-- One row per person (keyed hash) who registered for a webinar that is not internal: what
-- audience_people publishes, and what audience_cohorts needs per person (first registration,
-- its course and language, days to the next registration / attended webinar). Incremental
-- keyed on PERSON (macros/people_scope.sql): a build re-derives the people whose registrations
-- fct_registrations rewrote since the last build, each from ALL of their registrations; the
-- marts then read one row per person instead of sorting every registration by person.
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
    where not is_internal

),

joined as (

    select
        registrations.registration_id,
        registrations.person_key,
        registrations.registered_at,
        registrations.attended,
        registrations.watched_replay,
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

people as (

    select
        ----------  ids
        person_key,

        ----------  strings
        -- The first registration's course and language (audience_cohorts).
        min(course) filter (where registration_number = 1) as first_course,
        min(language) filter (where registration_number = 1) as first_language,

        ----------  numerics
        count(*) as webinars_registered,
        count(*) filter (where attended) as webinars_attended,
        count(*) filter (where watched_replay) as recordings_watched,
        count(distinct course) as courses_touched,
        -- Days from the first registration to the next one / to the next webinar attended.
        extract(
            epoch from min(registered_at) filter (where registration_number > 1) - min(registered_at)
        ) / 86400.0 as days_to_registration,
        extract(
            epoch from min(start_time) filter (where registration_number > 1 and attended)
            - min(registered_at)
        ) / 86400.0 as days_to_attendance,

        ----------  dates and timestamps
        (
            min(registered_at) at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}'
        )::date as first_seen_date,
        date_trunc(
            'month', min(registered_at) at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}'
        )::date as cohort_month,
        min(registered_at) as first_registered_at,
        max(registered_at) as last_registered_at,

        ----------  load metadata
        -- The end of the change log this build read (macros/people_scope.sql), and the newest
        -- fct_registrations build it reflects (a full rebuild of that table is detected by it).
        {{ scope.log_max }}::bigint as _log_id,
        {{ people_watermark_literal(scope) }} as _watermark,
        -- When this build (re)derived the row: the quality gate validates the rows of
        -- audience_people built since the published version (a full build: every row).
        now() as _built_at

    from joined
    group by person_key

),

-- One marker row per person in scope (none on a full build): their old row goes even when no
-- registration of theirs is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ people_scope_markers(scope, 'people') }}

)

select * from people
union all
select * from scope_markers
