{{
    config(
        indexes=[
            {'columns': ['platform', 'webinar_id', 'days_before'], 'unique': true},
            {'columns': ['days_before', 'course', 'language', 'start_time']},
            {'columns': ['days_before', 'course', 'start_time']},
            {'columns': ['days_before', 'start_time']},
        ],
        post_hook="analyze {{ this }}",
    )
}}

-- Analyzed as soon as built: int_pace_forecasts reads it right after, and the planner should
-- know its statistics rather than guess them.
-- Every recent webinar's registration curve: registrations made at least `days_before` whole days
-- before its start, for days_before = 0 .. pace_max_days (registrations made even earlier count
-- in every point). Rows only where the point is already known at the run's cut-off (as_of): a
-- webinar starting in 5.5 days has its points 6 .. 42. Registrations after the start count
-- in `final_registrations` (the mart's `registered`), never in the curve.
{%- set max_days = var('pace_max_days') %}

with

-- The last `pace_history_days` of webinars (and the upcoming ones): comparables are the most
-- recent held webinars, so older history adds nothing but work to every morning.
webinars as (

    select * from {{ ref('int_webinars_unioned') }}
    where
        start_time
        >= {{ as_of_timestamp() }} - interval '{{ var("pace_history_days") }} days'
        -- Internal and test webinars are nobody's comparable (and get no forecast).
        and (platform, webinar_id) not in (
            select
                internal.platform,
                internal.webinar_id
            from {{ ref('int_webinar_catalog') }} as internal
            where internal.is_internal
        )

),

registrations as (

    select registrations.*
    from {{ ref('int_registrations_unioned') }} as registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    where registrations.registration_id is not null

),

catalog as (

    select * from {{ ref('int_webinar_catalog') }}

),

stats as (

    select * from {{ ref('int_webinar_attendance_stats') }}

),

-- Whole days between registration and start (0 = within the last 24 hours), capped at the
-- curve's first point; registrations after the start are left out of the curve.
registrations_by_day as (

    select
        registrations.platform,
        registrations.webinar_id,
        least(
            floor(extract(epoch from webinars.start_time - registrations.registered_at) / 86400)::int,
            {{ max_days }}
        ) as days_before,
        count(*) as registrations
    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    where registrations.registered_at <= webinars.start_time
    group by 1, 2, 3

),

grid as (

    select
        webinars.platform,
        webinars.webinar_id,
        webinars.start_time,
        webinars.end_time,
        points.days_before
    from webinars
    cross join generate_series(0, {{ max_days }}) as points (days_before)
    where webinars.start_time - points.days_before * interval '1 day' <= {{ as_of_timestamp() }}

),

cumulative as (

    select
        grid.platform,
        grid.webinar_id,
        grid.start_time,
        grid.end_time,
        grid.days_before,
        -- Registrations made at least `days_before` days ahead: this day's and every earlier one's.
        coalesce(sum(registrations_by_day.registrations) over (
            partition by grid.platform, grid.webinar_id
            order by grid.days_before desc
            rows between unbounded preceding and current row
        ), 0) as registrations
    from grid
    left join registrations_by_day
        on
            grid.platform = registrations_by_day.platform
            and grid.webinar_id = registrations_by_day.webinar_id
            and grid.days_before = registrations_by_day.days_before

),

final as (

    select
        ----------  ids
        cumulative.platform,
        cumulative.webinar_id,

        ----------  strings
        coalesce(catalog.course, 'unmapped') as course,
        coalesce(catalog.language, 'unmapped') as language,

        ----------  numerics
        cumulative.days_before,
        cumulative.registrations::int as registrations,
        coalesce(stats.registered, 0)::int as final_registrations,
        -- Share of the final registrations reached at this point; held webinars only.
        case
            when cumulative.start_time < {{ as_of_timestamp() }} and stats.registered > 0
                then round(cumulative.registrations::numeric / stats.registered, 6)
        end as share_of_final,
        case
            when cumulative.start_time < {{ as_of_timestamp() }} and stats.registered > 0
                then round(stats.matched_registrations::numeric / stats.registered, 6)
        end as show_up_rate,

        ----------  booleans
        cumulative.start_time < {{ as_of_timestamp() }} as is_held,

        ----------  timestamps
        cumulative.start_time,
        cumulative.end_time

    from cumulative
    left join catalog
        on
            cumulative.platform = catalog.platform
            and cumulative.webinar_id = catalog.webinar_id
    left join stats
        on
            cumulative.platform = stats.platform
            and cumulative.webinar_id = stats.webinar_id

)

select * from final
