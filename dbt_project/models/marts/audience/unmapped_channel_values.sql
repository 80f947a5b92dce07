-- The raw values that decided a registration's channel but that no row of the seed
-- channel_map maps (those registrations are 'unknown'): what to add to the seed. Normally short.

with

registrations as (

    select * from {{ ref('int_registrations_unioned') }}

),

channels as (

    select * from {{ ref('int_channel_signals') }}
    where channel = 'unknown'

),

webinars as (

    select * from {{ ref('dim_webinars') }}

),

final as (

    select
        ----------  strings
        channels.deciding_signal as signal,  -- noqa: RF04
        channels.deciding_value as raw_value,
        string_agg(distinct registrations.platform, ', ' order by registrations.platform) as platforms,

        ----------  numerics
        count(*) as registrations,
        count(distinct registrations.platform || ':' || registrations.webinar_id) as webinars,

        ----------  dates
        min(webinars.webinar_date) as first_webinar_date,
        max(webinars.webinar_date) as last_webinar_date

    from registrations
    inner join channels
        on registrations.signal_key = channels.signal_key
    left join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    group by channels.deciding_signal, channels.deciding_value

)

select * from final
