-- Registrations, attendance and show-up rate per month x platform x course x language x
-- channel (held webinars when var aggregate_held_only is true, the default; never internal ones).
-- A table rebuilt every run: a change to the channel seed reaches every registration.

with

-- Per webinar and combination of signals (maintained incrementally): a few rows per webinar
-- instead of every registration; the channel is joined at read time (seed changes apply).
webinar_signals as (

    select * from {{ ref('int_webinar_channel_stats') }}

),

channels as (

    select * from {{ ref('int_channel_signals') }}

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where
        not is_internal
        and webinar_date is not null
        {%- if var('aggregate_held_only', true) %}
            and is_held
        {%- endif %}

),

joined as (

    select
        date_trunc('month', webinars.webinar_date)::date as webinar_month,
        webinars.platform,
        webinars.course,
        webinars.language,
        coalesce(channels.channel, 'unknown') as channel,
        webinar_signals.registrations,
        webinar_signals.attended,
        webinar_signals.no_show_replay_viewers
    from webinar_signals
    inner join webinars
        on
            webinar_signals.platform = webinars.platform
            and webinar_signals.webinar_id = webinars.webinar_id
    left join channels
        on webinar_signals.signal_key = channels.signal_key

),

aggregated as (

    select
        webinar_month,
        platform,
        course,
        language,
        channel,
        sum(registrations)::bigint as registrations,
        sum(attended)::bigint as attended,
        sum(no_show_replay_viewers)::bigint as no_show_replay_viewers
    from joined
    group by webinar_month, platform, course, language, channel

),

final as (

    select
        ----------  dates
        webinar_month,

        ----------  strings
        platform,
        course,
        language,
        channel,

        ----------  numerics
        registrations,
        attended,
        no_show_replay_viewers,
        round(attended::numeric / nullif(registrations, 0), 6) as show_up_rate,
        -- The channel's share of the group's registrations (shares of a group sum to 1).
        round(
            registrations::numeric
            / sum(registrations) over (partition by webinar_month, platform, course, language),
            6
        ) as share_of_registrations

    from aggregated

)

select * from final
