{#-
    Data tests of incremental tables check what the last build wrote, not the whole history.

    dbt wraps the model of every generic data test in `get_where_subquery` (this overrides
    dbt's own). For a relation with a `_watermark` column (the incremental models, see
    macros/incremental.sql) the test reads only the rows of the latest build:
    `_watermark >= <max(_watermark)>` (index-backed). Builds re-derive whole webinars, so keys
    that contain (platform, webinar_id) are tested completely for every webinar written;
    audience_people likewise reads the people of its latest build (`_built_at`);
    relationships and accepted_values are row-local anyway. A full build writes one watermark,
    so `dbt build --full-refresh` still tests every row. Tests of raw tables (sources) read the
    last day of loads (`_loaded_at`, index-backed): raw only ever grows, and what was tested
    yesterday cannot change. `--vars '{test_scope: all}'` tests whole tables on any build. A
    test's own `where` config is applied as in dbt.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scope = none -%}
    {%- if execute and var('test_scope', 'last_build') == 'last_build' and relation is not string -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {#- The bound as a literal: the planner then reads the few rows through the index on the
            column (with a subquery it assumes a third of the table and scans all of it). -#}
        {#- The column holding the build that wrote each row: `_watermark`, or `_built_at` for
            audience_people (the people the latest build re-derived; its key is unique in
            int_audience_people by index). -#}
        {%- set build_column = ('_watermark' if '_watermark' in columns
                                else '_built_at' if '_built_at' in columns else none) -%}
        {%- if build_column -%}
            {%- set since = run_query("select max(" ~ build_column ~ ")::text from " ~ relation).rows[0][0] -%}
            {%- set scope = build_column ~ " >= '" ~ since ~ "'::timestamptz" if since else none -%}
        {%- elif relation.schema == 'raw' and '_loaded_at' in columns -%}
            {%- set since = run_query(
                "select (max(_loaded_at) - interval '1 day')::text from " ~ relation
            ).rows[0][0] -%}
            {%- set scope = "_loaded_at >= '" ~ since ~ "'::timestamptz" if since else none -%}
        {%- endif -%}
    {%- endif -%}
    {%- if scope -%}
        {%- set where = scope ~ (" and (" ~ where ~ ")" if where else "") -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
