-- The channel of every combination of raw signals registrations carry (a few hundred, however
-- many registrations): the first signal present in the fixed precedence decides, its value is
-- matched against the business's seed channel_map (highest priority wins); no row matches:
-- 'unknown' (listed in unmapped_channel_values); no signal at all: 'direct'. A table rebuilt
-- every run, so a change to the seed reaches every registration, old ones included. The
-- combinations come from int_webinar_channel_stats (per webinar and combination, maintained
-- incrementally), not from every registration: the rebuild reads thousands of rows, not millions.

with

webinar_signals as (

    select * from {{ ref('int_webinar_channel_stats') }}

),

channel_map as (

    select * from {{ ref('channel_map') }}

),

combinations as (

    select distinct
        signal_key,
        tracking_code,
        utm_medium,
        utm_source,
        referral_domain,
        traffic_source
    from webinar_signals

),

deciding as (

    select
        *,
        case
            when tracking_code is not null then 'tracking_code'
            when utm_medium is not null then 'utm_medium'
            when utm_source is not null then 'utm_source'
            when referral_domain is not null then 'referral_domain'
            when traffic_source is not null then 'source'
        end as deciding_signal,
        coalesce(tracking_code, utm_medium, utm_source, referral_domain, traffic_source) as deciding_value
    from combinations

),

matches as (

    select
        deciding.signal_key,
        channel_map.channel,
        row_number() over (
            partition by deciding.signal_key
            order by channel_map.priority desc, length(channel_map.pattern) desc, channel_map.channel
        ) as match_rank
    from deciding
    inner join channel_map
        on
            deciding.deciding_signal = channel_map.signal
            and deciding.deciding_value like lower(trim(channel_map.pattern))

),

final as (

    select
        ----------  ids
        deciding.signal_key,

        ----------  strings
        deciding.tracking_code,
        deciding.utm_medium,
        deciding.utm_source,
        deciding.referral_domain,
        deciding.traffic_source,
        deciding.deciding_signal,
        deciding.deciding_value,
        case
            when deciding.deciding_signal is null then 'direct'
            else coalesce(matches.channel, 'unknown')
        end as channel

    from deciding
    left join matches
        on
            deciding.signal_key = matches.signal_key
            and matches.match_rank = 1

)

select * from final
