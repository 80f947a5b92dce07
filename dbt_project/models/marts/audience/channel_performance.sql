-- Registrations, attendance and show-up rate per month x platform x course x language x
-- channel (held webinars when var aggregate_held_only is true, the default; never internal ones).
-- A table rebuilt every run: a change to the channel seed reaches every registration.

with

registrations as (

    select * from {{ ref('fct_registrations') }}

),

signals as (

    select
        registration_id,
        signal_key
    from {{ ref('int_registrations_unioned') }}

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
        registrations.attended,
        registrations.watched_replay
    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    left join signals
        on registrations.registration_id = signals.registration_id
    left join channels
        on signals.signal_key = channels.signal_key

),

aggregated as (

    select
        webinar_month,
        platform,
        course,
        language,
        channel,
        count(*) as registrations,
        count(*) filter (where attended) as attended,
        count(*) filter (where watched_replay and not attended) as no_show_replay_viewers
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
