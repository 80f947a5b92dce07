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

-- Incremental keyed on webinar (macros/incremental.sql): only the conferences and Zoom
-- occurrences whose raw rows (or Calendly matches) changed since the last build are re-derived.
{%- set scope = incremental_scope() %}
{#- The Calendly events matched to the legacy webinars in scope, as literals: a filter on the
    invitees' event id reaches the index of raw.calendly_invitees through the staging view's
    DISTINCT ON (a join would not). -#}
{%- set legacy_event_ids = [] %}
{%- if execute and is_incremental() and scope.legacy | length > 0 %}
    {%- set legacy_event_ids = run_query(
        "select distinct event_id from " ~ ref('int_calendly_events_matched_to_zoom')
        ~ " where " ~ in_ids('webinar_id', scope.legacy)
    ).columns[0].values() | list %}
{%- endif %}

with

bigmarker_registrations as (

    select * from {{ ref('stg_bigmarker__registrations') }}

),

calendly_invitees as (

    select * from {{ ref('stg_calendly__invitees') }}

),

matched_events as (

    select * from {{ ref('int_calendly_events_matched_to_zoom') }}

),

bigmarker as (

    select
        'bigmarker' as platform,
        conference_id as webinar_id,
        email,
        -- Plus-part removal is a legacy-only matching rule: BigMarker matches on the e-mail.
        email as match_email,
        email_hash,
        'bigmarker' as registration_source,
        registered_at,
        -- Channel signals (seed channel_map, int_channel_signals).
        tracking_code,
        null::text as utm_medium,
        utm_bmcr_source as utm_source,
        referral_domain,
        traffic_source
    from bigmarker_registrations
    where
        email is not null
        and {{ in_ids('conference_id', scope.bigmarker) if is_incremental() else 'true' }}

),

-- Only active invitees of events matched to a Zoom occurrence register: a canceled invitee is
-- no registration, and a reschedule (canceled old + active new invitee) counts once.
legacy as (

    select
        'legacy' as platform,
        matched_events.webinar_id,
        calendly_invitees.email,
        calendly_invitees.match_email,
        calendly_invitees.email_hash,
        'calendly' as registration_source,
        calendly_invitees.registered_at,
        null::text as tracking_code,
        calendly_invitees.utm_medium,
        calendly_invitees.utm_source,
        null::text as referral_domain,
        null::text as traffic_source
    from calendly_invitees
    inner join matched_events
        on calendly_invitees.event_id = matched_events.event_id
    where
        calendly_invitees.is_active
        and matched_events.webinar_id is not null
        and calendly_invitees.email is not null
        {%- if is_incremental() %}
            and {{ in_ids('calendly_invitees.event_id', legacy_event_ids) }}
            and {{ in_ids('matched_events.webinar_id', scope.legacy) }}
        {%- endif %}

),

unioned as (

    select * from bigmarker
    union all
    select * from legacy

),

-- The grain is (webinar, normalised e-mail): several bookings of one person count once.
collapsed as (

    select
        platform,
        webinar_id,
        email,
        min(match_email) as match_email,
        min(email_hash) as email_hash,
        min(registration_source) as registration_source,
        count(*) as source_rows,
        min(registered_at) as registered_at,
        -- The signals of the person's first booking (a reschedule keeps where they came from).
        (array_agg(tracking_code order by registered_at, tracking_code))[1] as tracking_code,
        (array_agg(utm_medium order by registered_at, utm_medium))[1] as utm_medium,
        (array_agg(utm_source order by registered_at, utm_source))[1] as utm_source,
        (array_agg(referral_domain order by registered_at, referral_domain))[1] as referral_domain,
        (array_agg(traffic_source order by registered_at, traffic_source))[1] as traffic_source
    from unioned
    group by platform, webinar_id, email

),

final as (

    select
        ----------  ids
        md5(platform || ':' || webinar_id || ':' || email_hash) as registration_id,
        platform,
        webinar_id,

        ----------  strings
        email,
        match_email,
        email_hash,
        registration_source,
        tracking_code,
        utm_medium,
        utm_source,
        referral_domain,
        traffic_source,
        -- The combination of signals (int_channel_signals maps each combination once).
        md5(concat_ws(
            '|', coalesce(tracking_code, '-'), coalesce(utm_medium, '-'), coalesce(utm_source, '-'),
            coalesce(referral_domain, '-'), coalesce(traffic_source, '-')
        )) as signal_key,

        ----------  numerics
        source_rows,

        ----------  timestamps
        registered_at,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from collapsed

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'final') }}

)

select * from final
union all
select * from scope_markers
