with

source as (

    {{ dedupe_latest(source('zoom', 'webinar_instances')) }}

),

renamed as (

    select
        ----------  ids
        coalesce(payload ->> 'uuid', _record_key) as zoom_instance_uuid,
        _parent_key as zoom_webinar_id,

        ----------  strings
        -- Instance lists usually carry only uuid + start_time; topic comes from the webinar.
        payload ->> 'topic' as topic,

        ----------  numerics
        (payload ->> 'duration')::numeric as duration_minutes,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'start_time'") }} as start_time,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
