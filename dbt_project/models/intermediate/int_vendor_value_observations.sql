-- Per parent (BigMarker conference, Zoom webinar series, Zoom occurrence, Calendly event): the
-- vendor-owned values of its rows that landed in a reporting bucket ('other': unseen;
-- 'unmapped': missing where the vendor documents it), counted per field and raw value. Usually
-- no row but the `_build` row. vendor_value_notices maps parents to webinars and sums them up.
-- A build re-reads only the parents with rows loaded since its last one (their staging rows,
-- through the raw tables' parent index) and keeps the other parents' observations
-- (macros/vendor_value_scope.sql): the notices no longer scan every registrant and invitee.
{%- set scope = vendor_value_scope() %}

{#- (field, platform, staging model, raw value column, bucket column, parent kind, parent
    column, buckets reported). A missing language is normal (Zoom has none; the catalog seed
    decides): only 'other'. -#}
{%- set fields = [
    ('bigmarker.conference.language', 'bigmarker', 'stg_bigmarker__conferences',
        'language_raw', 'language', 'bigmarker_conference', 'conference_id', ['other']),
    ('bigmarker.conference.type', 'bigmarker', 'stg_bigmarker__conferences',
        'conference_type_raw', 'conference_type', 'bigmarker_conference', 'conference_id', ['other', 'unmapped']),
    ('bigmarker.conference.time_zone', 'bigmarker', 'stg_bigmarker__conferences',
        'rails_time_zone', 'time_zone_bucket', 'bigmarker_conference', 'conference_id', ['other', 'unmapped']),
    ('zoom.webinar.language', 'legacy', 'stg_zoom__webinars',
        'language_raw', 'language', 'zoom_series', 'zoom_webinar_id', ['other']),
    ('zoom.webinar.type', 'legacy', 'stg_zoom__webinars',
        'webinar_type_raw', 'webinar_type_bucket', 'zoom_series', 'zoom_webinar_id', ['other', 'unmapped']),
    ('zoom.webinar.timezone', 'legacy', 'stg_zoom__webinars',
        'time_zone', 'time_zone_bucket', 'zoom_series', 'zoom_webinar_id', ['other', 'unmapped']),
    ('zoom.registrant.status', 'legacy', 'stg_zoom__registrants',
        'registrant_status_raw', 'registrant_status', 'zoom_series', 'zoom_webinar_id', ['other', 'unmapped']),
    ('zoom.participant.status', 'legacy', 'stg_zoom__participants',
        'participant_status_raw', 'participant_status', 'zoom_instance', 'zoom_instance_uuid',
        ['other', 'unmapped']),
    ('calendly.event.status', 'legacy', 'stg_calendly__scheduled_events',
        'event_status_raw', 'event_status', 'calendly_event', 'event_id', ['other', 'unmapped']),
    ('calendly.invitee.status', 'legacy', 'stg_calendly__invitees',
        'invitee_status_raw', 'invitee_status', 'calendly_event', 'event_id', ['other', 'unmapped']),
    ('calendly.invitee.timezone', 'legacy', 'stg_calendly__invitees',
        'time_zone', 'time_zone_bucket', 'calendly_event', 'event_id', ['other', 'unmapped']),
] %}

with

observed as (

    {% for field, platform, model, raw_column, bucket_column, kind, parent_column, buckets in fields %}
        select
            '{{ field }}' as field,
            '{{ platform }}' as platform,
            '{{ kind }}' as observation_kind,
            {{ parent_column }} as parent_id,
            {{ raw_column }} as raw_value,
            {{ bucket_column }} as bucket
        from {{ ref(model) }}
        where
            {{ bucket_column }} in ({{ "'" ~ (buckets | join("', '")) ~ "'" }})
            and {{ in_observation_scope(scope, kind, parent_column) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counted as (

    select
        field,
        platform,
        observation_kind,
        parent_id,
        -- A vendor value is never an e-mail; should one look like it, it is not shown.
        case
            when raw_value is null then '(missing)'
            when raw_value like '%@%' then '(hidden: looks like an e-mail)'
            else left(raw_value, 200)
        end as raw_value,
        bucket,
        count(*) as records
    from observed
    group by 1, 2, 3, 4, 5, 6

),

final as (

    select
        ----------  strings
        field,
        platform,
        observation_kind,
        parent_id,
        raw_value,
        bucket,

        ----------  numerics
        records,

        ----------  load metadata
        null::timestamptz as _watermark

    from counted

    {%- if not scope.full %}

        union all

        -- The parents outside this build's scope keep their observations.
        select
            field,
            platform,
            observation_kind,
            parent_id,
            raw_value,
            bucket,
            records,
            _watermark
        from {{ this }}
        where {{ observations_kept(scope) }}
    {%- endif %}

    union all

    -- Where the next build starts reading (raw rows loaded at or after it).
    select
        null as field,
        null as platform,
        '_build' as observation_kind,
        null as parent_id,
        null as raw_value,
        null as bucket,
        null::bigint as records,
        {%- if scope.watermark is none %}
            null::timestamptz as _watermark
        {%- else %}
            '{{ scope.watermark }}'::timestamptz as _watermark
        {%- endif %}

)

select * from final
