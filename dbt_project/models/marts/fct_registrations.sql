{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['platform', 'webinar_id'],
        scope_marker_column='registration_id',
        on_schema_change='fail',
        indexes=[
            {'columns': ['platform', 'webinar_id']},
            {'columns': ['_watermark']},
        ],
    )
}}

-- The one mart that grows with every registration ever made, so it is incremental keyed on
-- webinar like its inputs (macros/incremental.sql): a build re-derives the webinars whose raw
-- rows changed since its last build, plus those whose `is_held` flipped between that build's
-- `as_of` and this one's (held_window). Its incremental base survives publishing: publish
-- swaps the previous `marts` version back into `marts_build`, and the scope, computed from
-- that table's own watermark and as_of, covers what changed since then.
{%- set scope = incremental_scope(
    upstream=[ref('int_registrations_unioned'), ref('int_attendance_by_person')],
    held_window=ref('dim_webinars'),
) %}

with

registrations as (

    select * from {{ ref('int_registrations_unioned') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

attendance as (

    select * from {{ ref('int_attendance_by_person') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

webinars as (

    select * from {{ ref('dim_webinars') }}

),

final as (

    select
        ----------  ids
        registrations.registration_id,
        registrations.webinar_id,
        registrations.platform,
        -- Keyed hash of the normalised e-mail: marts never carry a clear-text e-mail.
        registrations.email_hash as person_key,

        ----------  strings
        registrations.registration_source,

        ----------  numerics
        -- Seconds summed over all of the person's attendee rows / sessions (rejoins).
        case
            when coalesce(webinars.is_held, false) and attendance.attendee_key is not null
                then attendance.attended_seconds
            else 0
        end as seconds_attended,
        case
            when coalesce(webinars.is_held, false) and attendance.attendee_key is not null
                then attendance.attended_seconds / 60.0
            else 0
        end as minutes_attended,

        ----------  booleans
        -- Future webinars have no attendance yet, whatever the sources say.
        coalesce(webinars.is_held, false)
        and attendance.attendee_key is not null as attended,

        ----------  timestamps
        registrations.registered_at,

        ----------  load metadata
        -- Raw-load watermark of the build that (re)wrote the row: the quality gate validates
        -- the rows written since the published version (webinar_dwh.quality).
        {{ watermark_literal(scope) }} as _watermark

    from registrations
    left join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    left join attendance
        on
            registrations.platform = attendance.platform
            and registrations.webinar_id = attendance.webinar_id
            and registrations.match_email = attendance.match_email

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'final') }}

)

select * from final
union all
select * from scope_markers
