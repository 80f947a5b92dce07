{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['platform', 'webinar_id'],
        scope_marker_column='viewer_key',
        on_schema_change='fail',
        indexes=[
            {'columns': ['platform', 'webinar_id']},
            {'columns': ['_watermark']},
        ],
    )
}}

-- Who watched a conference's recording (BigMarker on-demand viewers), one row per person and
-- conference. Incremental keyed on webinar like int_attendance_by_person: a conference is
-- re-derived when a new view of it lands (views arrive for days after the webinar).
{%- set scope = incremental_scope() %}

with

viewers as (

    select * from {{ ref('stg_bigmarker__on_demand_viewers') }}

),

bigmarker as (

    select
        'bigmarker' as platform,
        conference_id as webinar_id,
        -- The same person key as int_attendance_by_person: e-mail, else the member id.
        coalesce(email, 'bmid:' || bmid, 'viewer:' || viewer_id) as viewer_key,
        email as match_email,
        on_demand_seconds,
        viewed_at
    from viewers
    {%- if is_incremental() %}
        where {{ in_ids('conference_id', scope.bigmarker) }}
    {%- endif %}

),

collapsed as (

    select
        ----------  ids
        platform,
        webinar_id,
        viewer_key,

        ----------  strings
        min(match_email) as match_email,

        ----------  numerics
        count(*) as views,  -- noqa: RF04
        coalesce(sum(on_demand_seconds), 0) as replay_seconds,

        ----------  timestamps
        min(viewed_at) as first_viewed_at,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from bigmarker
    group by platform, webinar_id, viewer_key

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'collapsed') }}

)

select * from collapsed
union all
select * from scope_markers
