with

matched_events as (

    select * from {{ ref('int_calendly_events_matched_to_zoom') }}

),

invitees as (

    select * from {{ ref('stg_calendly__invitees') }}

),

invitee_counts as (

    select
        event_id,
        count(*) filter (where is_active) as active_invitees,
        count(*) filter (where not is_active) as canceled_invitees
    from invitees
    group by event_id

),

final as (

    select
        ----------  ids
        matched_events.event_id as calendly_event_id,
        matched_events.join_url_zoom_webinar_id as zoom_webinar_id,

        ----------  strings
        matched_events.event_name,
        matched_events.event_status,
        matched_events.match_status,
        case
            when matched_events.match_status = 'ambiguous'
                then 'several Zoom occurrences fit: set the Zoom link on the Calendly event'
            when matched_events.join_url_zoom_webinar_id is null
                then 'no Zoom link and no Zoom occurrence at this start time'
            else 'no occurrence of the linked Zoom webinar near this start time'
        end as issue,

        ----------  numerics
        matched_events.candidate_count,
        coalesce(invitee_counts.active_invitees, 0) as active_invitees,
        coalesce(invitee_counts.canceled_invitees, 0) as canceled_invitees,

        ----------  dates and timestamps
        (
            matched_events.start_time
            at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}'
        )::date as event_date,
        matched_events.start_time

    from matched_events
    left join invitee_counts
        on matched_events.event_id = invitee_counts.event_id
    where matched_events.match_status in ('ambiguous', 'unmatched')

)

select * from final
