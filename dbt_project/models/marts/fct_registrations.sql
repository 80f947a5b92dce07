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
            {'columns': ['person_key']},
        ],
        changed_keys_log={'table': changed_people_log(), 'column': 'person_key'},
        pre_hook="{{ create_changed_people_log() }}",
    )
}}

-- The one mart that grows with every registration ever made, so it is incremental keyed on
-- webinar like its inputs (macros/incremental.sql): a build re-derives the webinars whose raw
-- rows changed since its last build, plus those whose `is_held` flipped between that build's
-- `as_of` and this one's (held_window). Its incremental base survives publishing: publish
-- swaps the previous `marts` version back into `marts_build`, and the scope, computed from
-- that table's own watermark and as_of, covers what changed since then. The person_key of every
-- row it replaces or writes goes to the log int_audience_people reads (macros/people_scope.sql).
{%- set scope = incremental_scope(
    upstream=[ref('int_registrations_unioned'), ref('int_attendance_by_person'), ref('int_replay_by_person')],
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

replays as (

    select * from {{ ref('int_replay_by_person') }}
    {%- if is_incremental() %}
        where {{ in_webinar_scope(scope) }}
    {%- endif %}

),

webinars as (

    select * from {{ ref('dim_webinars') }}

),

-- Attendance of held webinars only (future ones have none, whatever the sources say), with the
-- parts of the engagement score (formula in the model's YAML).
joined as (

    select
        registrations.*,
        coalesce(webinars.is_held, false) and attendance.attendee_key is not null as attended,
        attendance.attended_seconds,
        attendance.engaged_seconds,
        attendance.chats,
        attendance.questions,
        attendance.polls,
        attendance.attentiveness_score,
        -- engagement_score = 100 x (0.7 x watch share + 0.3 x interaction) (YAML), written as
        -- one division, (7 x watched + 180 x duration x interaction) / (6 x duration), so that
        -- it rounds exactly (an intermediate quotient would be truncated first).
        webinars.duration_minutes,
        least(attendance.attended_seconds, 60 * webinars.duration_minutes) as watched_seconds,
        case
            when registrations.platform = 'bigmarker'
                then
                    60 * webinars.duration_minutes
                    * least(3, coalesce(attendance.chats + attendance.questions + attendance.polls, 0))
            when attendance.attentiveness_score is not null
                then 1.8 * webinars.duration_minutes * round(attendance.attentiveness_score, 1)
            -- no interaction measure: the watch share stands in for it
            else 3 * least(attendance.attended_seconds, 60 * webinars.duration_minutes)
        end as interaction_points,
        coalesce(webinars.is_held, false) and replays.viewer_key is not null as watched_replay,
        replays.replay_seconds
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
    left join replays
        on
            registrations.platform = replays.platform
            and registrations.webinar_id = replays.webinar_id
            and registrations.match_email = replays.match_email

),

final as (

    select
        ----------  ids
        registration_id,
        webinar_id,
        platform,
        -- Keyed hash of the normalised e-mail: marts never carry a clear-text e-mail.
        email_hash as person_key,

        ----------  strings
        registration_source,

        ----------  numerics
        -- Seconds from the person's merged sessions (rejoins add up, overlaps count once).
        case when attended then attended_seconds else 0 end as seconds_attended,
        case when attended then attended_seconds / 60.0 else 0 end as minutes_attended,
        case when attended then round(engaged_seconds / 60.0, 2) end as engaged_minutes,
        case when attended then chats end as chats,
        case when attended then questions end as questions,
        case when attended then polls end as polls,
        case when attended then round(attentiveness_score, 1) end as attentiveness_score,
        case
            when attended and duration_minutes > 0
                then round((7 * watched_seconds + interaction_points) / (6 * duration_minutes), 1)
        end as engagement_score,
        case when watched_replay then round(replay_seconds / 60.0, 2) end as replay_minutes,

        ----------  booleans
        attended,
        watched_replay,

        ----------  timestamps
        registered_at,

        ----------  load metadata
        -- Raw-load watermark of the build that (re)wrote the row: the quality gate validates
        -- the rows written since the published version (webinar_dwh.quality).
        {{ watermark_literal(scope) }} as _watermark

    from joined

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'final') }}

)

select * from final
union all
select * from scope_markers
