{#-
    Aggregates maintained by deltas: counts per group (e.g. month x course x language) that a
    build updates with the rows its upstream replaced, instead of re-counting the whole upstream.

    The upstream is a person-keyed incremental model (strategy replace_scope) with config
    `changed_keys_log={'table': <log>, 'columns': [...], 'signed': true}`: in the same transaction
    as its replace, it appends each row it deletes with sign -1 and each row it writes with
    sign +1 (macros/incremental.sql).

    The aggregate is a small table (one row per group) rebuilt each time from its previous
    version plus the log's rows after the ones it already applied (`from_id`, the `_log_id` its
    rows carry) up to the log's current end (`to_id`, a literal read once): every row it writes
    carries `to_id`. Which rows were applied therefore travels with the table, in the same
    transaction; deleting the applied rows of the log (the post-hook) is only clean-up.

    Full build instead (from the whole upstream) when
    * there is no previous version, or it is empty (nothing says what it applied), or
      `--full-refresh`;
    * the upstream's table is not the one the aggregate was last built from: a full build of the
      upstream (its first, `--full-refresh`, seeds changed, its own upstream rebuilt) creates a
      new table and logs nothing. The upstream table's oid is kept in the aggregate's comment.
-#}

{#- The upstream's pre-hook: the log exists before its first incremental build writes to it.
    No index: it only ever holds the rows since the last build, read whole. -#}
{% macro create_delta_log(log_table, columns) -%}
    create table if not exists {{ log_table }} (
        id bigint generated always as identity,
        sign smallint not null
        {%- for name, data_type in columns.items() %},
        {{ name }} {{ data_type }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro _relation_oid_sql(relation) -%}
    select coalesce(to_regclass('{{ relation }}')::oid::text, '')
{%- endmacro %}

{#- `{'full': bool, 'from_id': int, 'to_id': int}` for the aggregate being built (see above). -#}
{% macro delta_state(upstream, log_table) -%}
    {%- if not execute -%}
        {{ return({'full': true, 'from_id': 0, 'to_id': 0}) }}
    {%- endif -%}
    {%- set to_id = run_query(
        "select case when to_regclass('" ~ log_table ~ "') is null then 0 "
        ~ "else (select coalesce(max(id), 0) from " ~ log_table ~ ") end"
    ).rows[0][0] -%}
    {%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- set reason = none -%}
    {%- if previous is none -%}
        {%- set reason = 'first build' -%}
    {%- elif flags.FULL_REFRESH -%}
        {%- set reason = '--full-refresh' -%}
    {%- else -%}
        {%- set row = run_query(
            "select obj_description('" ~ this ~ "'::regclass, 'pg_class') is not distinct from ("
            ~ _relation_oid_sql(upstream) ~ "), (select max(_log_id) from " ~ this ~ "), "
            ~ "to_regclass('" ~ log_table ~ "') is not null"
        ).rows[0] -%}
        {%- if not row[0] -%}
            {%- set reason = upstream.identifier ~ ' was rebuilt in full since its last build' -%}
        {%- elif row[1] is none -%}
            {%- set reason = 'its last build is empty' -%}
        {%- elif not row[2] -%}
            {%- set reason = 'no change log' -%}
        {%- endif -%}
    {%- endif -%}
    {%- if reason is not none -%}
        {{ log(this.identifier ~ ": built in full (" ~ reason ~ ")", info=true) }}
        {{ return({'full': true, 'from_id': 0, 'to_id': to_id}) }}
    {%- endif -%}
    {%- set from_id = row[1] -%}
    {%- set changes = run_query(
        "select count(*) from " ~ log_table ~ " where id > " ~ from_id ~ " and id <= " ~ to_id
    ).rows[0][0] -%}
    {{ log(this.identifier ~ ": applying " ~ changes ~ " changed rows of " ~ upstream.identifier, info=true) }}
    {{ return({'full': false, 'from_id': from_id, 'to_id': to_id}) }}
{%- endmacro %}

{#- The rows this build counts: on a full build the whole upstream, each row once (sign 1); on a
    delta build the log's rows it has not applied yet. -#}
{% macro delta_rows(state, log_table, upstream) -%}
    {%- if state.full -%}
        (select 1 as sign, * from {{ upstream }})
    {%- else -%}
        (select * from {{ log_table }} where id > {{ state.from_id }} and id <= {{ state.to_id }})
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: the upstream table this build reflects goes into the table comment, and the log's
    rows this build applied (up to its rows' `_log_id`) are deleted. -#}
{% macro delta_state_finish(upstream, log_table) -%}
    {%- if execute -%}
        do $delta_state$
        begin
            if to_regclass('{{ log_table }}') is not null then
                delete from {{ log_table }} where id <= (select coalesce(max(_log_id), 0) from {{ this }});
            end if;
            execute format('comment on table %s is %L', '{{ this }}', ({{ _relation_oid_sql(upstream) }}));
        end
        $delta_state$
    {%- endif -%}
{%- endmacro %}

{#- The change logs of the audience aggregates (int_audience_monthly, int_audience_cohorts). -#}
{% macro audience_month_changes_log() -%}
    {{ return('intermediate.audience_month_changes') }}
{%- endmacro %}

{% macro audience_cohort_changes_log() -%}
    {{ return('intermediate.audience_cohort_changes') }}
{%- endmacro %}
