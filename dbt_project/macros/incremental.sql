{#-
    Incremental models keyed on webinar (docs/design.md, "Warehouse roles and schemas").

    A heavy model re-derives only the webinars whose raw rows were loaded since its own last
    build; every row it writes carries that build's `_watermark`. `incremental_scope()` asks
    the warehouse, in ONE statement (one snapshot), for

    * `bigmarker`: the conference ids with a raw conference/registration/attendee/on-demand row loaded at
      or after the model's watermark (`max(_watermark)` of the model's table, index-backed);
    * `legacy`: the Zoom occurrence uuids (legacy webinar ids) with a participant or instance row
      loaded since then, plus every occurrence whose Calendly registrations may have moved: those
      within twice the matching tolerance of a changed occurrence's or a changed Calendly event's
      start (an event matches occurrences within the tolerance of its start);
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
            (_raw('bigmarker', 'on_demand_attendees'), '_parent_key'),
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
    On a full build: `{'full': true}` (everything is derived; the watermark is computed inside
    the model's own statement). On an incremental build: ONE query for the conference ids, the
    legacy occurrence ids and the watermark (see the header), plus, with `held_window`, the
    webinars whose `is_held` flipped since the model's last build.

    `held_window` (a relation with platform, webinar_id, start_time: `ref('dim_webinars')`) is
    for models that apply the run's cut-off (`is_held = start_time < as_of`) row by row: a
    webinar whose start lies between the `as_of` of the model's last build and this one's
    changes without any raw row changing. The last build's `as_of` is kept in the table's
    comment (the `build_stamp()` post-hook of every mart), so it travels with the table when
    publish swaps it between marts and marts_build.
-#}
{% macro incremental_scope(upstream=[], held_window=none) -%}
    {%- set previous_as_of = none -%}
    {%- if execute and is_incremental() -%}
        {#- A table built before this model became incremental has no watermark (or, with a
            held window, no as_of comment): rebuild it in full (once) instead of failing. -#}
        {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if held_window is not none and '_watermark' in existing -%}
            {%- set previous_as_of = _previous_as_of() -%}
        {%- endif -%}
        {%- if '_watermark' not in existing or (held_window is not none and previous_as_of is none) -%}
            {{ log("rebuilding " ~ this ~ " in full: it predates the incremental state", info=true) }}
            {%- do adapter.drop_relation(adapter.get_relation(
                database=this.database, schema=this.schema, identifier=this.identifier)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not execute or not is_incremental() -%}
        {{ return({'full': true, 'bigmarker': [], 'legacy': [], 'watermark': none,
                   'watermark_sql': raw_watermark_sql(upstream)}) }}
    {%- endif -%}
    {%- set tables = _scope_tables() -%}
    {%- set tolerance = "make_interval(mins => 2 * " ~ var('match_tolerance_minutes', 15) ~ ")" -%}
    {#- The model's watermark first, then used as a literal: the planner sees how few raw rows
        are that recent and reads them through the `_loaded_at` indexes (with a subquery it
        assumes a third of each table and plans for millions of rows). -#}
    {%- set loaded_from = run_query(
        "select coalesce(max(_watermark), '-infinity')::text from " ~ this
    ).rows[0][0] -%}
    {%- set loaded_since = "_loaded_at >= '" ~ loaded_from ~ "'::timestamptz" -%}
    {%- set query -%}
        with bigmarker_changed as (
            {%- for relation, key in tables.bigmarker %}
            select {{ key }} as webinar_id from {{ relation }}
            where {{ loaded_since }}
            {{- " union" if not loop.last }}
            {%- endfor %}
        ),

        -- Start times around which the Calendly -> Zoom matching may have changed: changed
        -- occurrences and (every loaded version of) changed Calendly events.
        legacy_times as (
            select {{ to_timestamptz("payload ->> 'start_time'") }} as start_time
            from {{ _raw('zoom', 'webinar_instances') }}
            where {{ loaded_since }}
            union
            select {{ to_timestamptz("payload ->> 'start_time'") }}
            from {{ _raw('calendly', 'scheduled_events') }}
            where _record_key in (
                select _record_key from {{ _raw('calendly', 'scheduled_events') }}
                where {{ loaded_since }}
                union
                select _parent_key from {{ _raw('calendly', 'invitees') }}
                where {{ loaded_since }}
            )
        ),

        -- A legacy webinar is a Zoom occurrence (instance uuid). In scope: occurrences with
        -- new participant or instance rows, and every occurrence a changed event or occurrence
        -- could be (or have been) matched with: an event matches occurrences starting within
        -- the tolerance of its start, so an occurrence within twice the tolerance of a changed
        -- start may gain or lose that event's invitees.
        legacy_changed as (
            select _parent_key as webinar_id from {{ _raw('zoom', 'participants') }}
            where {{ loaded_since }}
            union
            select _record_key from {{ _raw('zoom', 'webinar_instances') }}
            where {{ loaded_since }}
            union
            select instances._record_key
            from {{ _raw('zoom', 'webinar_instances') }} as instances
            inner join legacy_times
                on {{ to_timestamptz("instances.payload ->> 'start_time'") }}
                between legacy_times.start_time - {{ tolerance }}
                and legacy_times.start_time + {{ tolerance }}
        )

        {%- if held_window is not none %},

        -- Webinars whose `is_held` differs between the last build's as_of and this one's.
        held_flipped as (
            select platform, webinar_id from {{ held_window }}
            where
                start_time >= least('{{ previous_as_of }}'::timestamptz, {{ as_of_timestamp() }})
                and start_time < greatest('{{ previous_as_of }}'::timestamptz, {{ as_of_timestamp() }})
        )
        {%- endif %}

        select
            {%- for platform in ['bigmarker', 'legacy'] %}
            -- As JSON text: agate would hand a text[] over as one string.
            coalesce((
                select json_agg(distinct ids.webinar_id order by ids.webinar_id)::text
                from (
                    select webinar_id from {{ platform }}_changed
                    {%- if held_window is not none %}
                    union select webinar_id from held_flipped where platform = '{{ platform }}'
                    {%- endif %}
                ) as ids
                where ids.webinar_id is not null
            ), '[]') as {{ platform }}_ids,
            {%- endfor %}
            -- As text with its offset: agate's datetimes may drop the zone.
            ({{ raw_watermark_sql(upstream) }})::text as watermark
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set scope = {
        'full': false,
        'bigmarker': fromjson(row[0]),
        'legacy': fromjson(row[1]),
        'watermark': row[2],
        'watermark_sql': none,
    } -%}
    {{ log(this.identifier ~ ": re-deriving " ~ scope.bigmarker | length ~ " BigMarker and "
           ~ scope.legacy | length ~ " legacy webinars changed since its last build", info=true) }}
    {{ return(scope) }}
{%- endmacro %}

{#- The `as_of` recorded by the model's last build (table comment), or none. -#}
{% macro _previous_as_of() -%}
    {%- set row = run_query(
        "select obj_description('" ~ this ~ "'::regclass, 'pg_class')"
    ).rows[0] -%}
    {%- set comment = row[0] -%}
    {%- if comment and comment.startswith('{') -%}
        {{ return(fromjson(comment).get('as_of')) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The build stamp every mart's post-hook writes (macros/build_stamp.sql) carries this
    build's `as_of`, which `_previous_as_of()` reads back. -#}

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

{#- The scope as rows (platform, webinar_id), for the marker rows: literals, so the markers cost
    nothing whatever the table size (a marker for a webinar without rows deletes nothing). -#}
{% macro scope_ids(scope) -%}
    {%- set ids = [] -%}
    {%- for id in scope.bigmarker %}{% do ids.append(('bigmarker', id)) %}{% endfor -%}
    {%- for id in scope.legacy %}{% do ids.append(('legacy', id)) %}{% endfor -%}
    {%- if ids | length == 0 -%}
        select null::text, null::text where false
    {%- else -%}
        values
        {%- for platform, id in ids %}
            ('{{ platform }}', '{{ id | replace("'", "''") }}'){{ "," if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#-
    The marker rows of strategy `replace_scope`: one per webinar in scope, every column null but
    (platform, webinar_id), in the target's column order (its columns are the model's: schema
    changes fail the incremental build). A full build needs none: `rows` names the model's
    final CTE, whose columns the empty select takes.
-#}
{% macro scope_markers(scope, rows) -%}
    {%- if execute and is_incremental() -%}
        select
        {%- for column in adapter.get_columns_in_relation(this) %}
            {% if column.name in ('platform', 'webinar_id') -%}
                scope_ids.{{ column.name }}
            {%- else -%}
                null::{{ column.data_type }} as {{ adapter.quote(column.name) }}
            {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
        from ({{ scope_ids(scope) }}) as scope_ids (platform, webinar_id)
    {%- else -%}
        select * from {{ rows }} where false
    {%- endif -%}
{%- endmacro %}

{#- Rows of webinars in scope: the changed conferences and legacy occurrences. A semi-join with
    the scope's rows, which PostgreSQL runs as one index probe per webinar; the equivalent
    `(platform = 'bigmarker' and webinar_id in (...)) or (platform = 'legacy' and ...)` made
    it filter the whole (platform, webinar_id) index (1.5 s instead of 0.08 s at 3 M rows). -#}
{% macro in_webinar_scope(scope) -%}
    (platform, webinar_id) in ({{ scope_ids(scope) }})
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
    -- Statistics of the new rows first: without them the planner guesses thousands of keys and
    -- scans the whole target instead of reading the few webinars through its key index.
    analyze {{ source }};
    {%- set by_index = replace_scope_key_indexed(target, key[0]) %}
    {%- if by_index %}
    -- And the keys in scope are looked up through that index even when they are thousands (the
    -- people of a morning: 18k of 3 M rows at scale 10): a hash join would read the whole
    -- target (680 ms there, 130 ms through the index). For these statements only, and only
    -- when the index exists (a target built before it was added is left to the planner: a
    -- nested loop without an index would scan the target once per key).
    set local enable_hashjoin = off;
    set local enable_mergejoin = off;
    {%- endif %}
    {%- set log = config.get('changed_keys_log') %}
    {%- if log %}
    {%- set log_columns = log.get('columns', [log.get('column')]) %}
    {%- set log_csv = log_columns | join(', ') %}
    {%- endif %}

    {%- if log and log.get('signed') %}

    -- Config `changed_keys_log` with `signed`: the rows replaced go to the log with sign -1 as
    -- they are deleted (one pass), the rows written with +1 below: the changes a
    -- delta-maintained aggregate applies (macros/aggregate_deltas.sql).
    with replaced as (
        delete from {{ target }}
        where ({{ key | join(', ') }}) in (
            select distinct {{ key | join(', ') }} from {{ source }}
        )
        returning {{ log_csv }}
    )

    insert into {{ log.table }} (sign, {{ log_csv }})
    select -1, {{ log_csv }} from replaced;
    {%- else %}
    {%- if log %}

    -- Config `changed_keys_log` ({'table': …, 'column': …}): the column's values of the rows
    -- replaced and of the rows written go to the log (macros/people_scope.sql).
    insert into {{ log.table }} ({{ log_csv }})
    select distinct {{ log_csv }} from {{ target }}
    where
        ({{ key | join(', ') }}) in (select distinct {{ key | join(', ') }} from {{ source }})
        and ({{ log_csv }}) is not null;
    {%- endif %}

    delete from {{ target }}
    where ({{ key | join(', ') }}) in (
        select distinct {{ key | join(', ') }} from {{ source }}
    );
    {%- endif %}

    {%- if by_index %}

    reset enable_hashjoin;
    reset enable_mergejoin;
    {%- endif %}

    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
    where {{ marker }} is not null
    {%- if log %};
    {%- if log.get('signed') %}

    insert into {{ log.table }} (sign, {{ log_csv }})
    select 1, {{ log_csv }} from {{ source }}
    where {{ marker }} is not null
    {%- else %}

    insert into {{ log.table }} ({{ log_csv }})
    select distinct {{ log_csv }} from {{ source }}
    where {{ marker }} is not null and ({{ log_csv }}) is not null
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Whether `relation` has an index whose first column is `column` (replace_scope's key lookups). -#}
{% macro replace_scope_key_indexed(relation, column) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select exists (select from pg_index as i join pg_attribute as a "
        ~ "on a.attrelid = i.indrelid and a.attnum = i.indkey[0] "
        ~ "where i.indrelid = '" ~ relation ~ "'::regclass and a.attname = '" ~ column ~ "')"
    ).rows[0][0] -%}
    {{ return(found) }}
{%- endmacro %}
