with

source as (

    {{ dedupe_latest(source('bigmarker', 'attendees'), key='_parent_key, _record_key') }}

),

renamed as (

    select
        ----------  ids
        _record_key as attendee_row_id,
        _parent_key as conference_id,
        payload ->> 'id' as attendee_id,
        nullif(payload ->> 'bmid', '') as bmid,

        ----------  strings
        {{ normalize_email("payload ->> 'email'") }} as email,
        {{ pii_hash(normalize_email("payload ->> 'email'")) }} as email_hash,
        payload ->> 'country' as country,
        payload ->> 'device_name' as device_name,

        ----------  numerics
        (payload ->> 'total_duration')::numeric as total_duration_seconds,
        (payload ->> 'engaged_duration')::numeric as engaged_duration_seconds,
        (payload ->> 'chats_count')::integer as chats_count,
        (payload ->> 'qas_count')::integer as qas_count,
        (payload ->> 'polls_count')::integer as polls_count,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'entered_at'") }} as entered_at,
        -- `leaved_at` (sic) is BigMarker's spelling.
        {{ to_timestamptz("payload ->> 'leaved_at'") }} as left_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
