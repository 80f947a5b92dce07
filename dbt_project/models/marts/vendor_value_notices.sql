-- One row per vendor-owned categorical value the models did not know (bucket 'other'), or
-- missing where the vendor documents the field (bucket 'unmapped'): what landed where and which
-- webinars it touches. Never blocks anything; run_report logs it and the dashboard shows it.
-- Buckets and what they do to the numbers: macros/vendor_values.sql, docs/design.md. The values
-- are observed per parent by int_vendor_value_observations (re-read only for parents with new
-- raw rows); here each parent is mapped to the webinars it touches.
{%- set max_examples = 5 %}

with

observations as (

    select * from {{ ref('int_vendor_value_observations') }}
    where observation_kind <> '_build'

),

legacy_occurrences as (

    select
        webinar_id,
        zoom_webinar_id
    from {{ ref('int_webinars_unioned') }}
    where platform = 'legacy'

),

matched_events as (

    select * from {{ ref('int_calendly_events_matched_to_zoom') }}

),

-- A Zoom series' values touch every occurrence of the series (the series number itself while
-- no occurrence has been held yet); Calendly values the Zoom occurrence the event is matched to
-- (else the event itself); BigMarker conferences and Zoom occurrences are webinars.
cleaned as (

    select
        observations.field,
        observations.platform,
        observations.raw_value,
        observations.bucket,
        observations.records,
        case observations.observation_kind
            when 'zoom_series'
                then coalesce(legacy_occurrences.webinar_id, observations.parent_id)
            when 'calendly_event'
                then coalesce(matched_events.webinar_id, observations.parent_id)
            else observations.parent_id
        end as webinar_id
    from observations
    left join legacy_occurrences
        on
            observations.observation_kind = 'zoom_series'
            and observations.parent_id = legacy_occurrences.zoom_webinar_id
    left join matched_events
        on
            observations.observation_kind = 'calendly_event'
            and observations.parent_id = matched_events.event_id

),

grouped as (

    select
        field,
        platform,
        raw_value,
        min(bucket) as bucket,
        count(distinct webinar_id) as webinars,
        sum(records)::bigint as records,
        (array_agg(distinct webinar_id order by webinar_id))[1:{{ max_examples }}]
            as example_webinar_ids
    from cleaned
    group by field, platform, raw_value

),

final as (

    select
        ----------  strings
        field,
        platform,
        raw_value,
        bucket,
        case
            when field like '%.language'
                then 'language shown as ''other'' unless the catalog seed maps the webinar'
            when field = 'calendly.invitee.status'
                then 'counted as a registration (only ''canceled'' is a cancellation)'
            else 'reported only: the numbers do not depend on this field'
        end as effect,
        array_to_string(example_webinar_ids, ', ') as example_webinar_ids,

        ----------  numerics
        webinars,
        records

    from grouped

)

select * from final
