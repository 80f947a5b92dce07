-- One row per vendor-owned categorical value the models did not know (bucket 'other'), or
-- missing where the vendor documents the field (bucket 'unmapped'): what landed where and which
-- webinars it touches. Never blocks anything; run_report logs it and the dashboard shows it.
-- Buckets and what they do to the numbers: macros/vendor_values.sql, docs/design.md.
{%- set max_examples = 5 %}

with

conferences as (

    select * from {{ ref('stg_bigmarker__conferences') }}

),

zoom_webinars as (

    select * from {{ ref('stg_zoom__webinars') }}

),

zoom_registrants as (

    select * from {{ ref('stg_zoom__registrants') }}

),

zoom_participants as (

    select * from {{ ref('stg_zoom__participants') }}

),

calendly_events as (

    select * from {{ ref('stg_calendly__scheduled_events') }}

),

calendly_invitees as (

    select * from {{ ref('stg_calendly__invitees') }}

),

matched_events as (

    select * from {{ ref('int_calendly_events_matched_to_zoom') }}

),

legacy_occurrences as (

    select
        webinar_id,
        zoom_webinar_id
    from {{ ref('int_webinars_unioned') }}
    where platform = 'legacy'

),

-- Zoom series-level values touch every occurrence of the series (the series number itself
-- while no occurrence has been held yet).
zoom_series as (

    select
        zoom_webinars.*,
        coalesce(legacy_occurrences.webinar_id, zoom_webinars.zoom_webinar_id) as webinar_id
    from zoom_webinars
    left join legacy_occurrences
        on zoom_webinars.zoom_webinar_id = legacy_occurrences.zoom_webinar_id

),

-- Only the columns the notices read: these CTEs are read more than once, so PostgreSQL
-- materializes them, and a `*` would compute every staging column (the e-mail hashes among
-- them) for every registrant and invitee ever loaded.
zoom_registrations as (

    select
        zoom_registrants.registrant_status_raw,
        zoom_registrants.registrant_status,
        coalesce(legacy_occurrences.webinar_id, zoom_registrants.zoom_webinar_id) as webinar_id
    from zoom_registrants
    left join legacy_occurrences
        on zoom_registrants.zoom_webinar_id = legacy_occurrences.zoom_webinar_id

),

-- Calendly values touch the Zoom occurrence the event is matched to (else the event itself).
invitees as (

    select
        calendly_invitees.invitee_status_raw,
        calendly_invitees.invitee_status,
        calendly_invitees.time_zone,
        calendly_invitees.time_zone_bucket,
        coalesce(matched_events.webinar_id, calendly_invitees.event_id) as webinar_id
    from calendly_invitees
    left join matched_events
        on calendly_invitees.event_id = matched_events.event_id

),

events as (

    select
        calendly_events.*,
        coalesce(matched_events.webinar_id, calendly_events.event_id) as webinar_id
    from calendly_events
    left join matched_events
        on calendly_events.event_id = matched_events.event_id

),

{#- (field, platform, cte, raw value column, bucket column, webinar column, buckets reported).
    A missing language is normal (Zoom has none; the catalog seed decides): only 'other'. -#}
{%- set fields = [
    ('bigmarker.conference.language', 'bigmarker', 'conferences',
        'language_raw', 'language', 'conference_id', ['other']),
    ('bigmarker.conference.type', 'bigmarker', 'conferences',
        'conference_type_raw', 'conference_type', 'conference_id', ['other', 'unmapped']),
    ('bigmarker.conference.time_zone', 'bigmarker', 'conferences',
        'rails_time_zone', 'time_zone_bucket', 'conference_id', ['other', 'unmapped']),
    ('zoom.webinar.language', 'legacy', 'zoom_series',
        'language_raw', 'language', 'webinar_id', ['other']),
    ('zoom.webinar.type', 'legacy', 'zoom_series',
        'webinar_type_raw', 'webinar_type_bucket', 'webinar_id', ['other', 'unmapped']),
    ('zoom.webinar.timezone', 'legacy', 'zoom_series',
        'time_zone', 'time_zone_bucket', 'webinar_id', ['other', 'unmapped']),
    ('zoom.registrant.status', 'legacy', 'zoom_registrations',
        'registrant_status_raw', 'registrant_status', 'webinar_id', ['other', 'unmapped']),
    ('zoom.participant.status', 'legacy', 'zoom_participants',
        'participant_status_raw', 'participant_status', 'zoom_instance_uuid', ['other', 'unmapped']),
    ('calendly.event.status', 'legacy', 'events',
        'event_status_raw', 'event_status', 'webinar_id', ['other', 'unmapped']),
    ('calendly.invitee.status', 'legacy', 'invitees',
        'invitee_status_raw', 'invitee_status', 'webinar_id', ['other', 'unmapped']),
    ('calendly.invitee.timezone', 'legacy', 'invitees',
        'time_zone', 'time_zone_bucket', 'webinar_id', ['other', 'unmapped']),
] %}

observed as (

    {% for field, platform, cte, raw_column, bucket_column, id_column, buckets in fields %}
        select
            '{{ field }}' as field,
            '{{ platform }}' as platform,
            {{ raw_column }} as raw_value,
            {{ bucket_column }} as bucket,
            {{ id_column }} as webinar_id
        from {{ cte }}
        where {{ bucket_column }} in ({{ "'" ~ (buckets | join("', '")) ~ "'" }})
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

cleaned as (

    select
        field,
        platform,
        -- A vendor value is never an e-mail; should one look like it, it is not shown.
        case
            when raw_value is null then '(missing)'
            when raw_value like '%@%' then '(hidden: looks like an e-mail)'
            else left(raw_value, 200)
        end as raw_value,
        bucket,
        webinar_id
    from observed

),

grouped as (

    select
        field,
        platform,
        raw_value,
        min(bucket) as bucket,
        count(distinct webinar_id) as webinars,
        count(*) as records,
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
