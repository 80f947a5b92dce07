with

webinars as (

    select * from {{ ref('int_webinars_unioned') }}

),

catalog as (

    select * from {{ ref('int_webinar_catalog') }}

),

final as (

    select
        ----------  ids
        webinars.webinar_id,
        webinars.platform,
        webinars.zoom_webinar_id,

        ----------  strings
        webinars.title,
        catalog.course,
        catalog.language,
        catalog.mapping_method,
        webinars.time_zone,

        ----------  numerics
        webinars.duration_minutes,

        ----------  booleans
        -- Held = started before the run's data-interval end (var as_of) / the run start.
        coalesce(webinars.start_time < {{ as_of_timestamp() }}, false) as is_held,
        -- A rehearsal or test (seed internal_webinars): kept here, left out of every aggregate.
        coalesce(catalog.is_internal, false) as is_internal,

        ----------  dates and timestamps
        (
            webinars.start_time at time zone '{{ var("reporting_timezone", "Europe/Berlin") }}'
        )::date as webinar_date,
        webinars.start_time,
        webinars.end_time

    from webinars
    left join catalog
        on
            webinars.platform = catalog.platform
            and webinars.webinar_id = catalog.webinar_id

)

select * from final
