{#-
    Incremental models keyed on webinar (docs/design.md, "Warehouse roles and schemas").

    A heavy model re-derives only the webinars whose raw rows were loaded since its own last
    build; every row it writes carries that build's `_watermark`. `incremental_scope()` asks
    the warehouse, in ONE statement (one snapshot), for

    * `bigmarker`: the conference ids with a raw conference/registration/attendee row loaded at
      or after the model's watermark (`max(_watermark)` of the model's table, index-backed);
    * `legacy`: whether any Zoom or Calendly raw row was loaded since then. Legacy webinars are
      the pre-BigMarker Zoom era (bounded, rarely reloaded) and Calendly events are matched to
      Zoom occurrences by time, so they are re-derived all together;
    * `watermark`: where the next build starts: the latest `_loaded_at` visible now, but no
      later than the start of any transaction still open in this database. `_loaded_at` is
      the load transaction's start time, so a batch that is still being written when this
      build reads raw will have `_loaded_at` >= that start and is picked up next time: that is
      the lookback, exact instead of a guessed interval. With `upstream` models, no later than
      their watermarks either, so a model never gets ahead of what its inputs reflect.

    Reads use `>=`, so the batch at the watermark is read twice (harmless: re-deriving a
    webinar from the same rows gives the same rows).
-#}
{#-
    Raw tables by name, not through source(): the scope is warehouse state, not model input
    (and dbt unit tests, which mock a model's inputs, must not see these as inputs).
-#}
{% macro _raw(source_name, table) -%}
    {{ return('raw.' ~ source_name ~ '_' ~ table) }}
{%- endmacro %}

{% macro _scope_tables() -%}
    {{ return({
        'bigmarker': [
            (_raw('bigmarker', 'conferences'), '_record_key'),
            (_raw('bigmarker', 'registrations'), '_parent_key'),
            (_raw('bigmarker', 'attendees'), '_parent_key'),
        ],
        'legacy': [
            _raw('zoom', 'webinars'), _raw('zoom', 'webinar_instances'),
            _raw('zoom', 'registrants'), _raw('zoom', 'participants'),
            _raw('calendly', 'scheduled_events'), _raw('calendly', 'invitees'),
        ],
    }) }}
{%- endmacro %}

{#- The next build's starting point (see above), as a SQL expression of the current snapshot. -#}
{% macro raw_watermark_sql(upstream=[]) -%}
    {%- set tables = _scope_tables() -%}
    least(
        greatest(
            {%- for relation in (tables.bigmarker | map(attribute=0) | list) + tables.legacy %}
            (select max(_loaded_at) from {{ relation }}){{ "," if not loop.last }}
            {%- endfor %}
        ),
        (
            select min(activity.xact_start) from pg_stat_activity as activity
            where activity.datname = current_database() and activity.pid <> pg_backend_pid()
        )
        {%- for model in upstream %},
        (select max(_watermark) from {{ model }})
        {%- endfor %}
    )
{%- endmacro %}

{#-
    On a full build: `{'full': true, 'legacy': true}` (everything is derived; the watermark is
    computed inside the model's own statement). On an incremental build: one query for the
    conference ids, the legacy flag and the watermark.
-#}
{% macro incremental_scope(upstream=[]) -%}
    {%- if execute and is_incremental() -%}
        {#- A table built before this model became incremental has no watermark: rebuild it
            in full (once) instead of failing the upgrade. -#}
        {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if '_watermark' not in existing -%}
            {{ log("rebuilding " ~ this ~ " in full: it predates the incremental watermark", info=true) }}
            {%- do adapter.drop_relation(adapter.get_relation(
                database=this.database, schema=this.schema, identifier=this.identifier)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not execute or not is_incremental() -%}
        {{ return({'full': true, 'bigmarker': [], 'legacy': true, 'watermark': none,
                   'watermark_sql': raw_watermark_sql(upstream)}) }}
    {%- endif -%}
    {%- set tables = _scope_tables() -%}
    {%- set query -%}
        with since as (
            select coalesce(max(_watermark), '-infinity') as loaded_from from {{ this }}
        )
        select
            -- As JSON text: agate would hand a text[] over as one string.
            coalesce((
                select json_agg(distinct changed.webinar_id order by changed.webinar_id)::text
                from (
                    {%- for relation, key in tables.bigmarker %}
                    select {{ key }} as webinar_id from {{ relation }}
                    where _loaded_at >= (select loaded_from from since)
                    {{- " union all" if not loop.last }}
                    {%- endfor %}
                ) as changed
                where changed.webinar_id is not null
            ), '[]') as bigmarker_ids,
            (
                {%- for relation in tables.legacy %}
                exists (select from {{ relation }} where _loaded_at >= (select loaded_from from since))
                {{- " or" if not loop.last }}
                {%- endfor %}
            ) as legacy_changed,
            -- As text with its offset: agate's datetimes may drop the zone.
            ({{ raw_watermark_sql(upstream) }})::text as watermark
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {{ return({
        'full': false,
        'bigmarker': fromjson(row[0]),
        'legacy': row[1],
        'watermark': row[2],
        'watermark_sql': none,
    }) }}
{%- endmacro %}

{#- `column in ('a', 'b', ...)` for the scope's ids; `false` when there are none. -#}
{% macro in_ids(column, ids) -%}
    {%- if ids | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in (
            {%- for id in ids -%}
                '{{ id | replace("'", "''") }}'{{ ", " if not loop.last }}
            {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- Rows of webinars in scope: the changed conferences, and every legacy webinar if flagged. -#}
{% macro in_webinar_scope(scope) -%}
    ((platform = 'bigmarker' and {{ in_ids('webinar_id', scope.bigmarker) }})
    {%- if scope.legacy %} or platform = 'legacy'{% endif %})
{%- endmacro %}

{#- The build's watermark as a column value (null when raw is empty). -#}
{% macro watermark_literal(scope) -%}
    {%- if scope.full -%}
        ({{ scope.watermark_sql }})::timestamptz
    {%- elif scope.watermark is none -%}
        null::timestamptz
    {%- else -%}
        '{{ scope.watermark }}'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#-
    Incremental strategy `replace_scope`: the model's new rows for the webinars in scope replace
    ALL of the target's rows of those webinars. The model emits, besides its rows, one marker
    row per webinar in scope whose `scope_marker_column` is null: markers widen the delete to
    webinars that no longer have any row (e.g. the only Calendly invitee canceled) and are never
    inserted. Runs in dbt's transaction: readers see the old or the new rows, nothing between.
-#}
{% macro get_incremental_replace_scope_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set key = [key] if key is string else key -%}
    {%- set marker = config.require('scope_marker_column') -%}
    {%- set cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where ({{ key | join(', ') }}) in (
        select distinct {{ key | join(', ') }} from {{ source }}
    );

    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
    where {{ marker }} is not null
{%- endmacro %}
