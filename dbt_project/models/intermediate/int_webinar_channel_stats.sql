{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['platform', 'webinar_id'],
        scope_marker_column='signal_key',
        on_schema_change='fail',
        indexes=[
            {'columns': ['platform', 'webinar_id']},
            {'columns': ['_watermark']},
        ],
        post_hook="{{ build_stamp() }}",
    )
}}

-- Per webinar and combination of channel signals (signal_key, a few dozen per webinar at most):
-- the registrations, attended and no-show replay viewers. The channel itself is NOT stored:
-- int_channel_signals maps the (few) combinations with the seed every run and the marts
-- (channel_performance, unmapped_channel_values) join it at read time, so a change to the seed
-- still reaches every old registration. Incremental keyed on webinar like fct_registrations,
-- its input: a build re-aggregates the webinars whose raw rows changed since its last build and
-- those whose `is_held` flipped (held_window; the build stamp keeps this table's as_of).
{%- set scope = incremental_scope(
    upstream=[ref('fct_registrations'), ref('int_registrations_unioned')],
    held_window=ref('dim_webinars'),
) %}

with

registrations as (

    select * from {{ ref('fct_registrations') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

signals as (

    select * from {{ ref('int_registrations_unioned') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

aggregated as (

    select
        ----------  ids
        registrations.platform,
        registrations.webinar_id,
        signals.signal_key,

        ----------  strings
        signals.tracking_code,
        signals.utm_medium,
        signals.utm_source,
        signals.referral_domain,
        signals.traffic_source,

        ----------  numerics
        count(*) as registrations,
        count(*) filter (where registrations.attended) as attended,
        count(*) filter (where registrations.watched_replay and not registrations.attended)
            as no_show_replay_viewers,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from registrations
    inner join signals
        on registrations.registration_id = signals.registration_id
    group by
        registrations.platform,
        registrations.webinar_id,
        signals.signal_key,
        signals.tracking_code,
        signals.utm_medium,
        signals.utm_source,
        signals.referral_domain,
        signals.traffic_source

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when the webinar has no registration left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'aggregated') }}

)

select * from aggregated
union all
select * from scope_markers
