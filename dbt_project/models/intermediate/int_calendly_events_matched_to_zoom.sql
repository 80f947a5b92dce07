{%- set tolerance = "make_interval(mins => " ~ var('match_tolerance_minutes', 15) ~ ")" -%}

with

events as (

    select * from {{ ref('stg_calendly__scheduled_events') }}

),

occurrences as (

    select
        webinar_id,
        zoom_webinar_id,
        start_time
    from {{ ref('int_webinars_unioned') }}
    where platform = 'legacy'

),

-- Rule 1: the webinar number in location.join_url picks the series; recurring series share
-- the number, so the occurrence whose start is nearest (within the tolerance) wins.
join_url_candidates as (

    select
        events.event_id,
        occurrences.webinar_id,
        abs(extract(epoch from occurrences.start_time - events.start_time)) as distance_seconds
    from events
    inner join occurrences
        on
            events.zoom_webinar_id = occurrences.zoom_webinar_id
            and occurrences.start_time between events.start_time - {{ tolerance }}
            and events.start_time + {{ tolerance }}

),

join_url_ranked as (

    select
        event_id,
        webinar_id,
        rank() over (partition by event_id order by distance_seconds) as distance_rank,
        count(*) over (partition by event_id) as candidates
    from join_url_candidates

),

join_url_best as (

    select
        event_id,
        min(webinar_id) as webinar_id,
        count(*) as nearest_candidates,
        max(candidates) as candidates
    from join_url_ranked
    where distance_rank = 1
    group by event_id

),

-- Rule 2 (no Zoom number in the location): the single occurrence starting within the
-- tolerance; several candidates are ambiguous and left for the business to fix.
start_time_candidates as (

    select
        events.event_id,
        min(occurrences.webinar_id) as webinar_id,
        count(*) as candidates
    from events
    inner join occurrences
        on
            occurrences.start_time between events.start_time - {{ tolerance }}
            and events.start_time + {{ tolerance }}
    where events.zoom_webinar_id is null
    group by events.event_id

),

classified as (

    select
        events.event_id,
        events.zoom_webinar_id as join_url_zoom_webinar_id,
        events.event_name,
        events.event_status,
        events.start_time,
        case
            when events.zoom_webinar_id is not null
                then
                    case
                        when join_url_best.nearest_candidates = 1 then 'join_url'
                        when join_url_best.nearest_candidates > 1 then 'ambiguous'
                        else 'unmatched'
                    end
            when start_time_candidates.candidates = 1 then 'start_time'
            when start_time_candidates.candidates > 1 then 'ambiguous'
            else 'unmatched'
        end as match_status,
        coalesce(
            join_url_best.webinar_id, start_time_candidates.webinar_id
        ) as candidate_webinar_id,
        coalesce(
            join_url_best.candidates, start_time_candidates.candidates, 0
        ) as candidate_count
    from events
    left join join_url_best
        on events.event_id = join_url_best.event_id
    left join start_time_candidates
        on events.event_id = start_time_candidates.event_id

),

final as (

    select
        ----------  ids
        event_id,
        case
            when match_status in ('join_url', 'start_time') then candidate_webinar_id
        end as webinar_id,
        join_url_zoom_webinar_id,

        ----------  strings
        event_name,
        event_status,
        match_status,

        ----------  numerics
        candidate_count,

        ----------  timestamps
        start_time

    from classified

)

select * from final
