with

source as (

    {{ dedupe_latest(source('zoom', 'webinars')) }}

),

renamed as (

    select
        ----------  ids
        coalesce(payload ->> 'id', _record_key) as zoom_webinar_id,
        payload ->> 'uuid' as zoom_webinar_uuid,

        ----------  strings
        payload ->> 'topic' as topic,
        {{ json_text("payload -> 'timezone'") }} as time_zone,
        {{ iana_time_zone_bucket(json_text("payload -> 'timezone'")) }} as time_zone_bucket,
        -- Zoom has no language field of its own; kept for payloads that carry one.
        {{ normalize_language("payload -> 'language'") }} as language,
        {{ json_text("payload -> 'language'") }} as language_raw,
        {{ vendor_bucket('zoom_webinar_type', json_text("payload -> 'type'")) }}
            as webinar_type_bucket,
        {{ json_text("payload -> 'type'") }} as webinar_type_raw,

        ----------  numerics
        -- Zoom's numeric type (5, 6, 9); null when the vendor sends anything else.
        {{ safe_integer("payload ->> 'type'") }} as webinar_type,
        (payload ->> 'duration')::numeric as duration_minutes,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'start_time'") }} as start_time,
        {{ to_timestamptz("payload ->> 'created_at'") }} as created_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
