{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['platform', 'webinar_id'],
        scope_marker_column='registered',
        on_schema_change='fail',
        indexes=[
            {'columns': ['platform', 'webinar_id']},
            {'columns': ['_watermark']},
        ],
        post_hook="{{ build_stamp() }}",
    )
}}

-- Per webinar, the registrations' attendance, engagement and replay aggregates of
-- webinar_engagement (which joins them to the held webinars). Incremental keyed on webinar like
-- fct_registrations, its input: a build re-aggregates the webinars whose raw rows changed since
-- its last build and those whose `is_held` flipped (held_window; the build stamp keeps this
-- table's as_of), so the mart no longer scans every registration each morning.
{%- set scope = incremental_scope(upstream=[ref('fct_registrations')], held_window=ref('dim_webinars')) %}

with

registrations as (

    select * from {{ ref('fct_registrations') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

aggregated as (

    select
        ----------  ids
        platform,
        webinar_id,

        ----------  numerics
        count(*) as registered,
        count(*) filter (where attended) as attended,
        count(*) filter (where attended and minutes_attended >= 15) as stayed_15m,
        count(*) filter (where attended and minutes_attended >= 30) as stayed_30m,
        count(*) filter (where attended and minutes_attended >= 60) as stayed_60m,
        avg(minutes_attended) filter (where attended) as avg_minutes_attended,
        avg(engaged_minutes) filter (where attended) as avg_engaged_minutes,
        sum(chats) as chats,
        sum(questions) as questions,
        sum(polls) as polls,
        avg(attentiveness_score) as avg_attentiveness_score,
        avg(engagement_score) as avg_engagement_score,
        count(*) filter (where watched_replay) as replay_viewers,
        count(*) filter (where watched_replay and not attended) as no_show_replay_viewers,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from registrations
    group by platform, webinar_id

),

-- One marker row per webinar in scope (none on a full build): its old row is replaced even
-- when the webinar has no registration left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'aggregated') }}

)

select * from aggregated
union all
select * from scope_markers
