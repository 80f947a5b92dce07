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
        max(left_at) as last_left_at

    from unioned
    group by platform, webinar_id, attendee_key

)

select * from collapsed
