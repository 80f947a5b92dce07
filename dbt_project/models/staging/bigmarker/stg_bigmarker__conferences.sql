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
        payload ->> 'type' as conference_type,
        nullif(lower(trim(payload ->> 'language')), '') as language,
        -- Rails zone name ("Eastern Time (US & Canada)"), kept as is: not an IANA name.
        payload ->> 'time_zone' as rails_time_zone,

        ----------  numerics
        (payload ->> 'duration')::numeric as duration_minutes,
        (payload #>> '{webinar_stats,registrants}')::integer as stats_registrants,
        (payload #>> '{webinar_stats,total_attendees}')::integer as stats_total_attendees,

        ----------  timestamps
        {{ to_timestamptz("payload ->> 'start_time'") }} as start_time,
        {{ to_timestamptz("payload ->> 'end_time'") }} as end_time,

        ----------  load metadata
        _batch_id,
        _loaded_at

    from source

)

select * from renamed
