-- Per held webinar: how long registered attendees stayed (the funnel's "stayed at least N
-- minutes"), how engaged they were, and who watched the recording. Registered people only
-- (walk-ins are in webinar_attendance); internal webinars carry is_internal like there.

with

registrations as (

    select * from {{ ref('fct_registrations') }}

),

webinars as (

    select * from {{ ref('dim_webinars') }}
    where is_held

),

aggregated as (

    select
        platform,
        webinar_id,
        count(*) as registered,
        count(*) filter (where attended) as attended,
        count(*) filter (where attended and minutes_attended >= 15) as stayed_15m,
        count(*) filter (where attended and minutes_attended >= 30) as stayed_30m,
        count(*) filter (where attended and minutes_attended >= 60) as stayed_60m,
        avg(minutes_attended) filter (where attended) as avg_minutes_attended,
        avg(engaged_minutes) filter (where attended) as avg_engaged_minutes,
        sum(chats) as chats,
        sum(questions) as questions,
        sum(polls) as polls,
        avg(attentiveness_score) as avg_attentiveness_score,
        avg(engagement_score) as avg_engagement_score,
        count(*) filter (where watched_replay) as replay_viewers,
        count(*) filter (where watched_replay and not attended) as no_show_replay_viewers
    from registrations
    group by platform, webinar_id

),

final as (

    select
        ----------  ids
        webinars.webinar_id,
        webinars.platform,

        ----------  strings
        webinars.title,
        webinars.course,
        webinars.language,

        ----------  numerics
        coalesce(aggregated.registered, 0) as registered,
        coalesce(aggregated.attended, 0) as attended,
        coalesce(aggregated.stayed_15m, 0) as stayed_15m,
        coalesce(aggregated.stayed_30m, 0) as stayed_30m,
        coalesce(aggregated.stayed_60m, 0) as stayed_60m,
        round(aggregated.avg_minutes_attended, 2) as avg_minutes_attended,
        round(aggregated.avg_engaged_minutes, 2) as avg_engaged_minutes,
        aggregated.chats,
        aggregated.questions,
        aggregated.polls,
        round(aggregated.avg_attentiveness_score, 1) as avg_attentiveness_score,
        round(aggregated.avg_engagement_score, 1) as avg_engagement_score,
        coalesce(aggregated.replay_viewers, 0) as replay_viewers,
        coalesce(aggregated.no_show_replay_viewers, 0) as no_show_replay_viewers,

        ----------  booleans
        webinars.is_internal,

        ----------  dates
        webinars.webinar_date

    from webinars
    left join aggregated
        on
            webinars.platform = aggregated.platform
            and webinars.webinar_id = aggregated.webinar_id

)

select * from final
