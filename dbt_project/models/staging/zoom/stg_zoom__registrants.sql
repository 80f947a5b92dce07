with

source as (

    {{ dedupe_latest(source('zoom', 'registrants'), key='_parent_key, _record_key') }}

),

renamed as (

    select
        ----------  ids
        _record_key as registrant_key,
        _parent_key as zoom_webinar_id,
        payload ->> 'id' as registrant_id,

        ----------  strings
        {{ normalize_email("payload ->> 'email'") }} as email,
        {{ strip_plus_address(normalize_email("payload ->> 'email'")) }} as match_email,
        {{ pii_hash(normalize_email("payload ->> 'email'")) }} as email_hash,
        payload ->> 'first_name' as first_name,
        payload ->> 'last_name' as last_name,
        {{ vendor_bucket('zoom_registrant_status', json_text("payload -> 'status'")) }}
            as registrant_status,
        {{ json_text("payload -> 'status'") }} as registrant_status_raw,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'create_time'") }} as registered_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
