with

webinars as (

    select * from {{ ref('int_webinars_unioned') }}

),

catalog_map as (

    select * from {{ ref('webinar_catalog_map') }}

),

internal_webinars as (

    select * from {{ ref('internal_webinars') }}

),

-- Internal and test webinars (seed internal_webinars): an exact id, else a title pattern.
internal as (

    select distinct
        webinars.platform,
        webinars.webinar_id
    from webinars
    inner join internal_webinars
        on
            (internal_webinars.platform is null or webinars.platform = internal_webinars.platform)
            and (
                webinars.webinar_id = internal_webinars.webinar_id
                or (
                    internal_webinars.webinar_id is null
                    and webinars.title ilike internal_webinars.title_pattern
                )
            )

),

-- Rule 1: an exact (platform, webinar_id) row beats every title pattern.
id_matches as (

    select
        webinars.platform,
        webinars.webinar_id,
        catalog_map.course,
        catalog_map.language,
        catalog_map.priority,
        catalog_map.title_pattern,
        'webinar_id' as mapping_method,
        1 as rule_rank
    from webinars
    inner join catalog_map
        on
            webinars.webinar_id = catalog_map.webinar_id
            and (catalog_map.platform is null or webinars.platform = catalog_map.platform)

),

-- Rule 2: title ILIKE pattern; the lowest priority number wins.
pattern_matches as (

    select
        webinars.platform,
        webinars.webinar_id,
        catalog_map.course,
        catalog_map.language,
        catalog_map.priority,
        catalog_map.title_pattern,
        'title_pattern' as mapping_method,
        2 as rule_rank
    from webinars
    inner join catalog_map
        on
            webinars.title ilike catalog_map.title_pattern
            and (catalog_map.platform is null or webinars.platform = catalog_map.platform)
    where catalog_map.webinar_id is null

),

candidates as (

    select * from id_matches
    union all
    select * from pattern_matches

),

ranked as (

    select
        *,
        row_number() over (
            partition by platform, webinar_id
            order by rule_rank asc, priority asc nulls last, title_pattern collate "C" asc
        ) as candidate_rank
    from candidates

),

final as (

    select
        ----------  ids
        webinars.platform,
        webinars.webinar_id,

        ----------  strings
        coalesce(ranked.course, 'unmapped') as course,
        -- The seed's language first, then the platform's own field; never dropped.
        coalesce(ranked.language, webinars.platform_language, 'unmapped') as language,
        coalesce(ranked.mapping_method, 'unmapped') as mapping_method,
        ranked.title_pattern as matched_title_pattern,

        ----------  numerics
        ranked.priority as matched_priority,

        ----------  booleans
        -- A rehearsal or test: kept in the per-webinar marts, left out of every aggregate.
        internal.webinar_id is not null as is_internal

    from webinars
    left join ranked
        on
            webinars.platform = ranked.platform
            and webinars.webinar_id = ranked.webinar_id
            and ranked.candidate_rank = 1
    left join internal
        on
            webinars.platform = internal.platform
            and webinars.webinar_id = internal.webinar_id

)

select * from final
