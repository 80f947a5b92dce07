-- The raw values that decided a registration's channel but that no row of the seed
-- channel_map maps (those registrations are 'unknown'): what to add to the seed. Normally short.

with

-- Per webinar and combination of signals (maintained incrementally), not every registration.
webinar_signals as (

    select * from {{ ref('int_webinar_channel_stats') }}

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
        string_agg(distinct webinar_signals.platform, ', ' order by webinar_signals.platform) as platforms,

        ----------  numerics
        sum(webinar_signals.registrations)::bigint as registrations,
        count(distinct webinar_signals.platform || ':' || webinar_signals.webinar_id) as webinars,

        ----------  dates
        min(webinars.webinar_date) as first_webinar_date,
        max(webinars.webinar_date) as last_webinar_date

    from webinar_signals
    inner join channels
        on webinar_signals.signal_key = channels.signal_key
    left join webinars
        on
            webinar_signals.platform = webinars.platform
            and webinar_signals.webinar_id = webinars.webinar_id
    group by channels.deciding_signal, channels.deciding_value

)

select * from final
