{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['platform', 'webinar_id'],
        scope_marker_column='attendee_key',
        on_schema_change='fail',
        indexes=[
            {'columns': ['platform', 'webinar_id']},
            {'columns': ['_watermark']},
        ],
    )
}}

-- Incremental keyed on webinar, like int_registrations_unioned (macros/incremental.sql).
{%- set scope = incremental_scope() %}

with

bigmarker_attendees as (

    select * from {{ ref('stg_bigmarker__attendees') }}

),

zoom_participants as (

    select * from {{ ref('stg_zoom__participants') }}

),

bigmarker as (

    select
        'bigmarker' as platform,
        conference_id as webinar_id,
        -- People without an e-mail still count (as walk-ins), identified as well as we can.
        coalesce(email, 'bmid:' || bmid, 'attendee:' || attendee_id) as attendee_key,
        email,
        email as match_email,
        total_duration_seconds as duration_seconds,
        entered_at as joined_at,
        left_at
    from bigmarker_attendees
    {%- if is_incremental() %}
        where {{ in_ids('conference_id', scope.bigmarker) }}
    {%- endif %}

),

-- Every Zoom rejoin is another participant row; the person is the plus-stripped e-mail.
legacy as (

    select
        'legacy' as platform,
        zoom_instance_uuid as webinar_id,
        coalesce(
            match_email, 'zoom-id:' || participant_id, 'zoom-name:' || participant_name
        ) as attendee_key,
        email,
        match_email,
        duration_seconds,
        joined_at,
        left_at
    from zoom_participants
    {%- if is_incremental() %}
        where {{ in_ids('zoom_instance_uuid', scope.legacy) }}
    {%- endif %}

),

unioned as (

    select * from bigmarker
    union all
    select * from legacy

),

collapsed as (

    select
        ----------  ids
        platform,
        webinar_id,
        attendee_key,

        ----------  strings
        min(match_email) as match_email,
        min(email) as email,

        ----------  numerics
        count(*) as session_count,
        coalesce(sum(duration_seconds), 0) as attended_seconds,

        ----------  timestamps
        min(joined_at) as first_joined_at,
        max(left_at) as last_left_at,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from unioned
    group by platform, webinar_id, attendee_key

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'collapsed') }}

)

select * from collapsed
union all
select * from scope_markers
