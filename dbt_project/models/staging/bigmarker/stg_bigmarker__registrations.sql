with

source as (

    {{ dedupe_latest(source('bigmarker', 'registrations'), key='_parent_key, _record_key') }}

),

renamed as (

    select
        ----------  ids
        _record_key as registration_id,
        _parent_key as conference_id,
        nullif(payload ->> 'bmid', '') as bmid,

        ----------  strings
        {{ normalize_email("payload ->> 'email'") }} as email,
        {{ pii_hash(normalize_email("payload ->> 'email'")) }} as email_hash,
        payload ->> 'first_name' as first_name,
        payload ->> 'last_name' as last_name,
        payload ->> 'time_zone' as time_zone,
        payload ->> 'country' as country,
        payload ->> 'source' as registration_source,
        -- Channel signals (seed channel_map): trimmed, lower-cased, null when empty. The
        -- registration surface / traffic source comes as `source` or `traffic_source`.
        {{ channel_signal("payload -> 'tracking_code'") }} as tracking_code,
        {{ channel_signal("payload -> 'utm_bmcr_source'") }} as utm_bmcr_source,
        {{ channel_signal("payload -> 'referral_domain'") }} as referral_domain,
        {{ channel_signal("coalesce(payload -> 'traffic_source', payload -> 'source')") }}
            as traffic_source,
        payload -> 'custom_fields' as custom_fields,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'registered_at'") }} as registered_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
