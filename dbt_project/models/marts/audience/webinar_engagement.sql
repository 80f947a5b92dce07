-- Per held webinar: how long registered attendees stayed (the funnel's "stayed at least N
-- minutes"), how engaged they were, and who watched the recording. Registered people only
-- (walk-ins are in webinar_attendance); internal webinars carry is_internal like there.

with

webinars as (

    select * from {{ ref('dim_webinars') }}
    where is_held

),

aggregated as (

    -- Per-webinar aggregates of the registrations, maintained incrementally (only the webinars
    -- that changed are re-aggregated each run).
    select * from {{ ref('int_webinar_engagement_stats') }}

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
