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
        left_at,
        engaged_duration_seconds as engaged_seconds,
        chats_count,
        qas_count as questions_count,
        polls_count,
        null::numeric as attentiveness_score
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
        left_at,
        null::numeric as engaged_seconds,
        null::integer as chats_count,
        null::integer as questions_count,
        null::integer as polls_count,
        attentiveness_score
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

-- Minutes watched from merged sessions: rejoins and overlapping sessions (a second device)
-- count once. Sessions are ordered by join time; a session starting after every earlier one
-- ended opens a new island. A lone session keeps the vendor's duration; an island of
-- overlapping ones spans first join to last leave. A session without a join time is an island
-- of its own (its duration, nothing to merge with).
sessions as (

    select
        *,
        coalesce(left_at, joined_at + duration_seconds * interval '1 second') as ended_at
    from unioned

),

ordered as (

    select
        *,
        max(ended_at) over (
            partition by platform, webinar_id, attendee_key
            order by joined_at, ended_at
            rows between unbounded preceding and 1 preceding
        ) as earlier_end
    from sessions

),

islands as (

    select
        *,
        sum(
            case when joined_at is null or earlier_end is null or joined_at > earlier_end then 1 else 0 end
        ) over (
            partition by platform, webinar_id, attendee_key
            order by joined_at, ended_at
            rows unbounded preceding
        ) as island
    from ordered

),

merged as (

    select
        platform,
        webinar_id,
        attendee_key,
        case
            when count(*) = 1 or bool_or(joined_at is null) or bool_or(ended_at is null)
                then sum(duration_seconds)
            -- whole seconds, like the vendors' durations
            else round(extract(epoch from max(ended_at) - min(joined_at)))
        end as island_seconds
    from islands
    group by platform, webinar_id, attendee_key, island

),

merged_seconds as (

    select
        platform,
        webinar_id,
        attendee_key,
        coalesce(sum(island_seconds), 0) as attended_seconds
    from merged
    group by platform, webinar_id, attendee_key

),

collapsed as (

    select
        ----------  ids
        unioned.platform,
        unioned.webinar_id,
        unioned.attendee_key,

        ----------  strings
        min(unioned.match_email) as match_email,
        min(unioned.email) as email,

        ----------  numerics
        count(*) as session_count,
        -- Merged, not summed (see above).
        min(merged_seconds.attended_seconds) as attended_seconds,
        -- Engagement counters (BigMarker attendee rows; null on Zoom), summed over sessions.
        sum(unioned.engaged_seconds) as engaged_seconds,
        sum(unioned.chats_count) as chats,
        sum(unioned.questions_count) as questions,
        sum(unioned.polls_count) as polls,
        -- Zoom's attentiveness (0-100) where the account reports it, averaged over sessions.
        round(avg(unioned.attentiveness_score), 1) as attentiveness_score,

        ----------  timestamps
        min(unioned.joined_at) as first_joined_at,
        max(unioned.left_at) as last_left_at,

        ----------  load metadata
        {{ watermark_literal(scope) }} as _watermark

    from unioned
    inner join merged_seconds
        on
            unioned.platform = merged_seconds.platform
            and unioned.webinar_id = merged_seconds.webinar_id
            and unioned.attendee_key = merged_seconds.attendee_key
    group by unioned.platform, unioned.webinar_id, unioned.attendee_key

),

-- One marker row per webinar in scope (none on a full build): its old rows are replaced even
-- when no new row is left (strategy replace_scope, macros/incremental.sql).
scope_markers as (

    {{ scope_markers(scope, 'collapsed') }}

)

select * from collapsed
union all
select * from scope_markers
