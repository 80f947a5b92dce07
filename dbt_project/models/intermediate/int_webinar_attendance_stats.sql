{{
    config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        unique_key=['platform', 'webinar_id'],
        scope_marker_column='registered',
        on_schema_change='fail',
        indexes=[
            {'columns': ['platform', 'webinar_id'], 'unique': true},
            {'columns': ['_watermark']},
        ],
    )
}}

-- Per-webinar counts that do not depend on the run's cut-off (`is_held` is applied in the
-- webinar_attendance mart), so a webinar is re-derived only when its raw rows were reloaded.
-- Incremental keyed on webinar (macros/incremental.sql); never ahead of its two inputs.
{%- set scope = incremental_scope(
    upstream=[ref('int_registrations_unioned'), ref('int_attendance_by_person'), ref('int_replay_by_person')]
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

replays as (

    select * from {{ ref('int_replay_by_person') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

-- A registration attended when an attendee of the webinar has its match e-mail (each
-- attendee row is one person, so a registration matches at most one).
registration_stats as (

    select
        registrations.platform,
        registrations.webinar_id,
        count(*) as registered,
        count(attendance.attendee_key) as matched_registrations,
        sum(attendance.attended_seconds) as matched_seconds,
        -- No-shows (registered, not live) who watched the recording.
        count(replays.viewer_key) filter (where attendance.attendee_key is null) as no_show_replay_viewers
    from registrations
    left join attendance
        on
            registrations.platform = attendance.platform
            and registrations.webinar_id = attendance.webinar_id
            and registrations.match_email = attendance.match_email
    left join replays
        on
            registrations.platform = replays.platform
            and registrations.webinar_id = replays.webinar_id
            and registrations.match_email = replays.match_email
    group by registrations.platform, registrations.webinar_id

),

-- Walk-ins: attendees matching no registration of the webinar; never part of `attended`.
walk_ins as (

    select
        attendance.platform,
        attendance.webinar_id,
        count(distinct attendance.attendee_key) as walk_ins
    from attendance
    left join registrations
        on
            attendance.platform = registrations.platform
            and attendance.webinar_id = registrations.webinar_id
            and attendance.match_email = registrations.match_email
    where registrations.registration_id is null
    group by attendance.platform, attendance.webinar_id

),

-- Everyone reached live or by the recording, each person once: live attendees (registered or
-- walk-ins) plus the viewers who were not live.
reach as (

    select
        coalesce(attendance.platform, replays.platform) as platform,
        coalesce(attendance.webinar_id, replays.webinar_id) as webinar_id,
        count(distinct replays.viewer_key) as on_demand_viewers,
        count(*) as reached
    from attendance
    full outer join replays
        on
            attendance.platform = replays.platform
            and attendance.webinar_id = replays.webinar_id
            and attendance.match_email = replays.match_email
    group by
        coalesce(attendance.platform, replays.platform),
        coalesce(attendance.webinar_id, replays.webinar_id)

),

final as (

    select
        ----------  ids
        coalesce(registration_stats.platform, walk_ins.platform, reach.platform) as platform,
        coalesce(registration_stats.webinar_id, walk_ins.webinar_id, reach.webinar_id) as webinar_id,

        ----------  numerics
        coalesce(registration_stats.registered, 0) as registered,
        coalesce(registration_stats.matched_registrations, 0) as matched_registrations,
        -- Whole seconds: rounding in the mart sees the exact value.
        registration_stats.matched_seconds,
        coalesce(walk_ins.walk_ins, 0) as walk_ins,
        coalesce(registration_stats.no_show_replay_viewers, 0) as no_show_replay_viewers,
        coalesce(reach.on_demand_viewers, 0) as on_demand_viewers,
        coalesce(reach.reached, 0) as reached,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from registration_stats
    full outer join walk_ins
        on
            registration_stats.platform = walk_ins.platform
            and registration_stats.webinar_id = walk_ins.webinar_id
    full outer join reach
        on
            coalesce(registration_stats.platform, walk_ins.platform) = reach.platform
            and coalesce(registration_stats.webinar_id, walk_ins.webinar_id) = reach.webinar_id

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'final') }}

)

select * from final
union all
select * from scope_markers
