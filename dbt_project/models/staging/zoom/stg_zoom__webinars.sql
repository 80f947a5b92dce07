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
        payload ->> 'timezone' as time_zone,
        -- Zoom has no language field of its own; kept for payloads that carry one.
        nullif(lower(trim(payload ->> 'language')), '') as language,

        ----------  numerics
        (payload ->> 'type')::integer as webinar_type,
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
