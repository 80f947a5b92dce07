with

conferences as (

    select * from {{ ref('stg_bigmarker__conferences') }}

),

zoom_webinars as (

    select * from {{ ref('stg_zoom__webinars') }}

),

zoom_instances as (

    select * from {{ ref('stg_zoom__webinar_instances') }}

),

bigmarker as (

    select
        ----------  ids
        'bigmarker' as platform,
        conference_id as webinar_id,
        null::text as zoom_webinar_id,

        ----------  strings
        title,
        language as platform_language,
        rails_time_zone as time_zone,

        ----------  numerics
        duration_minutes,

        ----------  timestamps
        start_time,
        end_time

    from conferences

),

-- A legacy webinar is one occurrence of a Zoom webinar: recurring series share one number
-- (zoom_webinar_id) but every occurrence has its own instance uuid.
legacy as (

    select
        ----------  ids
        'legacy' as platform,
        zoom_instances.zoom_instance_uuid as webinar_id,
        zoom_instances.zoom_webinar_id,

        ----------  strings
        coalesce(zoom_instances.topic, zoom_webinars.topic) as title,
        zoom_webinars.language as platform_language,
        zoom_webinars.time_zone,

        ----------  numerics
        coalesce(
            zoom_instances.duration_minutes, zoom_webinars.duration_minutes
        ) as duration_minutes,

        ----------  timestamps
        zoom_instances.start_time,
        zoom_instances.start_time + make_interval(
            mins => coalesce(
                zoom_instances.duration_minutes, zoom_webinars.duration_minutes
            )::integer
        ) as end_time

    from zoom_instances
    left join zoom_webinars
        on zoom_instances.zoom_webinar_id = zoom_webinars.zoom_webinar_id

),

unioned as (

    select * from bigmarker
    union all
    select * from legacy

)

select * from unioned
