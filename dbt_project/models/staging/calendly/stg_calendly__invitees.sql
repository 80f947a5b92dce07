with

source as (

    {{ dedupe_latest(source('calendly', 'invitees'), key='_parent_key, _record_key') }}

),

renamed as (

    select
        ----------  ids
        coalesce({{ uri_id("payload ->> 'uri'") }}, _record_key) as invitee_id,
        -- The extractor lists invitees per event, so the parent key is the event id (the
        -- payload's `event` URI ends with it). A plain column: filters on it reach the index.
        _parent_key as event_id,

        ----------  strings
        {{ normalize_email("payload ->> 'email'") }} as email,
        {{ strip_plus_address(normalize_email("payload ->> 'email'")) }} as match_email,
        {{ pii_hash(normalize_email("payload ->> 'email'")) }} as email_hash,
        payload ->> 'name' as invitee_name,
        -- 'active' | 'canceled' | 'other' | 'unmapped' (macros/vendor_values.sql).
        {{ vendor_bucket('calendly_invitee_status', json_text("payload -> 'status'")) }}
            as invitee_status,
        {{ json_text("payload -> 'status'") }} as invitee_status_raw,
        {{ json_text("payload -> 'timezone'") }} as time_zone,
        {{ iana_time_zone_bucket(json_text("payload -> 'timezone'")) }} as time_zone_bucket,
        -- Channel signals (seed channel_map): trimmed, lower-cased, null when empty.
        {{ channel_signal("payload #> '{tracking,utm_source}'") }} as utm_source,
        {{ channel_signal("payload #> '{tracking,utm_medium}'") }} as utm_medium,
        payload #>> '{tracking,utm_campaign}' as utm_campaign,

        ----------  booleans
        coalesce((payload ->> 'rescheduled')::boolean, false) as is_rescheduled,
        -- Counts as a registration unless canceled: an unseen status is not a cancellation.
        {{ vendor_bucket('calendly_invitee_status', json_text("payload -> 'status'")) }}
        <> 'canceled' as is_active,

        ----------  timestamps
        -- Calendly's created_at is the registration (booking) time.
        {{ to_timestamptz("payload ->> 'created_at'") }} as registered_at,
        {{ to_timestamptz("payload ->> 'updated_at'") }} as updated_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
