with

source as (

    {{ dedupe_latest(source('calendly', 'scheduled_events')) }}

),

renamed as (

    select
        ----------  ids
        coalesce({{ uri_id("payload ->> 'uri'") }}, _record_key) as event_id,
        {{ uri_id("payload ->> 'event_type'") }} as event_type_id,
        -- A Zoom location's join_url carries the webinar number (zoom.us/j/<n>, /w/<n>, /s/<n>).
        substring(
            payload #>> '{location,join_url}' from 'zoom\.us/[jws]/(\d+)'
        ) as zoom_webinar_id,

        ----------  strings
        payload ->> 'uri' as event_uri,
        payload ->> 'name' as event_name,
        {{ vendor_bucket('calendly_event_status', json_text("payload -> 'status'")) }}
            as event_status,
        {{ json_text("payload -> 'status'") }} as event_status_raw,
        payload #>> '{location,type}' as location_type,
        payload #>> '{location,join_url}' as join_url,

        ----------  numerics
        {{ safe_integer("payload #>> '{invitees_counter,active}'") }} as invitees_active,
        {{ safe_integer("payload #>> '{invitees_counter,total}'") }} as invitees_total,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'start_time'") }} as start_time,
        {{ to_timestamptz("payload ->> 'end_time'") }} as end_time,
        {{ to_timestamptz("payload ->> 'created_at'") }} as created_at,
        {{ to_timestamptz("payload ->> 'updated_at'") }} as updated_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
