with

source as (

    {{ dedupe_latest(source('bigmarker', 'on_demand_attendees'), key='_parent_key, _record_key') }}

),

renamed as (

    select
        ----------  ids
        _record_key as on_demand_view_id,
        _parent_key as conference_id,
        payload ->> 'id' as viewer_id,
        -- The reporting API spells it `BMID`.
        nullif(coalesce(payload ->> 'BMID', payload ->> 'bmid'), '') as bmid,

        ----------  strings
        {{ normalize_email("payload ->> 'email'") }} as email,
        {{ pii_hash(normalize_email("payload ->> 'email'")) }} as email_hash,

        ----------  numerics
        -- Seconds of the recording watched; the reporting API sends numbers as strings
        -- (anything else is null, not a failure).
        {{ safe_numeric(json_text("payload -> 'on_demand_duration'")) }} as on_demand_seconds,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'enter_time'") }} as viewed_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
