-- How fresh the published marts are, for the dashboard header and BI tools (bi_reader cannot
-- read `meta`). Reads the parent entity of each source: its latest load is when the source
-- was last pulled successfully.
with

bigmarker_conferences as (

    select * from {{ ref('stg_bigmarker__conferences') }}

),

calendly_events as (

    select * from {{ ref('stg_calendly__scheduled_events') }}

),

zoom_webinars as (

    select * from {{ ref('stg_zoom__webinars') }}

),

loads as (

    select
        'bigmarker' as source_name,
        max(_loaded_at) as last_loaded_at,
        count(*) as parent_records
    from bigmarker_conferences

    union all

    select
        'calendly' as source_name,
        max(_loaded_at) as last_loaded_at,
        count(*) as parent_records
    from calendly_events

    union all

    select
        'zoom' as source_name,
        max(_loaded_at) as last_loaded_at,
        count(*) as parent_records
    from zoom_webinars

),

final as (

    select
        ----------  ids
        source_name,

        ----------  numerics
        parent_records,

        ----------  timestamps
        last_loaded_at,
        -- The cut-off the marts were computed for (the run's data-interval end).
        {{ as_of_timestamp() }} as data_as_of,
        now() as built_at

    from loads

)

select * from final
