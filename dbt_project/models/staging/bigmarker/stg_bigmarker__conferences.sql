with

source as (

    {{ dedupe_latest(source('bigmarker', 'conferences')) }}

),

renamed as (

    select
        ----------  ids
        coalesce(payload ->> 'id', _record_key) as conference_id,
        nullif(payload ->> 'master_webinar_id', '') as master_webinar_id,
        nullif(payload ->> 'channel_id', '') as channel_id,

        ----------  strings
        payload ->> 'title' as title,
        -- Vendor-owned values are data (macros/vendor_values.sql): bucket + the raw value.
        {{ vendor_bucket('bigmarker_conference_type', json_text("payload -> 'type'")) }}
            as conference_type,
        {{ json_text("payload -> 'type'") }} as conference_type_raw,
        -- 'en' | 'es' | ... | 'other'; null when BigMarker sends none ('EN-us' -> 'en').
        {{ normalize_language("payload -> 'language'") }} as language,
        {{ json_text("payload -> 'language'") }} as language_raw,
        -- Rails zone name ("Eastern Time (US & Canada)"), kept as is: not an IANA name.
        {{ json_text("payload -> 'time_zone'") }} as rails_time_zone,
        {{ vendor_bucket('bigmarker_time_zone', json_text("payload -> 'time_zone'")) }}
            as time_zone_bucket,

        ----------  numerics
        (payload ->> 'duration')::numeric as duration_minutes,
        -- The vendor's own counters (never used for the numbers): null unless plain integers.
        {{ safe_integer("payload #>> '{webinar_stats,registrants}'") }} as stats_registrants,
        {{ safe_integer("payload #>> '{webinar_stats,total_attendees}'") }} as stats_total_attendees,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'start_time'") }} as start_time,
        {{ to_timestamptz("payload ->> 'end_time'") }} as end_time,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
