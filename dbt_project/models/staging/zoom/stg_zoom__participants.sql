with

source as (

    {{ dedupe_latest(source('zoom', 'participants'), key='_parent_key, _record_key') }}

),

renamed as (

    select
        ----------  ids
        _record_key as participant_session_id,
        _parent_key as zoom_instance_uuid,
        nullif(payload ->> 'id', '') as participant_id,
        nullif(payload ->> 'user_id', '') as participant_user_id,

        ----------  strings
        {{ normalize_email("payload ->> 'user_email'") }} as email,
        {{ strip_plus_address(normalize_email("payload ->> 'user_email'")) }} as match_email,
        {{ pii_hash(normalize_email("payload ->> 'user_email'")) }} as email_hash,
        payload ->> 'name' as participant_name,
        {{ vendor_bucket('zoom_participant_status', json_text("payload -> 'status'")) }}
            as participant_status,
        {{ json_text("payload -> 'status'") }} as participant_status_raw,

        ----------  numerics
        -- Zoom's attentiveness (0-100, a string; '' on accounts without the feature).
        {{ safe_numeric(json_text("payload -> 'attentiveness_score'")) }} as attentiveness_score,
        -- Zoom reports participant duration in seconds.
        (payload ->> 'duration')::numeric as duration_seconds,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'join_time'") }} as joined_at,
        {{ to_timestamptz("payload ->> 'leave_time'") }} as left_at,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
