{#-
    Incremental models keyed on PERSON (int_audience_people): a build re-derives only the people
    whose registrations changed since its last build, from all of their registrations.

    Which people changed: fct_registrations (config `changed_keys_log`, strategy replace_scope
    below) appends to the log table `changed_people_log()` the person_key of every row it
    deletes (the old rows of the webinars it re-derives) and of every row it inserts. A person
    whose registration moved, vanished (canceled invitee) or changed (held flip, late attendee,
    late recording viewer) is therefore in the log. Both versions of fct_registrations (publish
    swaps it between marts and marts_build) write to the one log: a superset, harmless, since a
    person re-derived from the current registrations gives the same row.

    The consumers (int_audience_people, then int_audience_person_months) read the log up to its
    current end (`log_max`, a literal) and write it as `_log_id` on their rows; the last one's
    post-hook (`people_scope_finish()`) deletes the log up to what both read. A failed build
    deletes nothing: the next one re-reads those people.

    Full build instead (once) when
    * fct_registrations was itself rebuilt in full after the consumer's last build (a full build
      logs nothing): its oldest `_watermark` is newer than the consumer's;
    * the seeds or vars that change people's rows without any registration changing (internal
      webinars, the webinar catalog, the reporting time zone) differ from the last build's: their
      fingerprint is kept in the consumer's table comment.
-#}
{% macro changed_people_log() -%}
    {{ return('intermediate.changed_people') }}
{%- endmacro %}

{#- fct_registrations' pre-hook: the log exists before its first incremental build writes to it. -#}
{% macro create_changed_people_log() -%}
    create table if not exists {{ changed_people_log() }} (
        id bigint generated always as identity primary key,
        person_key text not null
    )
{%- endmacro %}

{% macro people_scope(registrations, fingerprint_sql) -%}
    {%- if not execute -%}
        {{ return({'full': true, 'log_max': 0, 'fingerprint': none, 'watermark': none}) }}
    {%- endif -%}
    {%- set fingerprint = run_query(fingerprint_sql).rows[0][0] -%}
    {#- As text with its offset: agate's datetimes may drop the zone. -#}
    {%- set watermark = run_query("select max(_watermark)::text from " ~ registrations).rows[0][0] -%}
    {%- set log_max = run_query(
        "select case when to_regclass('" ~ changed_people_log() ~ "') is null then 0 "
        ~ "else (select coalesce(max(id), 0) from " ~ changed_people_log() ~ ") end"
    ).rows[0][0] -%}
    {%- if is_incremental() -%}
        {%- set row = run_query(
            "select obj_description('" ~ this ~ "'::regclass, 'pg_class'), "
            ~ "(select max(_watermark) from " ~ this ~ ") >= "
            ~ "coalesce((select min(_watermark) from " ~ registrations ~ "), '-infinity'), "
            ~ "to_regclass('" ~ changed_people_log() ~ "') is not null"
        ).rows[0] -%}
        {%- if row[0] != fingerprint or not row[1] or not row[2] -%}
            {{ log("rebuilding " ~ this ~ " in full: seeds changed or " ~ registrations
                   ~ " was rebuilt in full since its last build", info=true) }}
            {%- do adapter.drop_relation(adapter.get_relation(
                database=this.database, schema=this.schema, identifier=this.identifier)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if is_incremental() -%}
        {%- do run_query("analyze " ~ changed_people_log()) -%}
        {%- set people = run_query(
            "select count(distinct person_key) from " ~ changed_people_log() ~ " where id <= " ~ log_max
        ).rows[0][0] -%}
        {{ log(this.identifier ~ ": re-deriving " ~ people ~ " people whose registrations changed", info=true) }}
    {%- endif -%}
    {{ return({'full': not is_incremental(), 'log_max': log_max, 'fingerprint': fingerprint,
               'watermark': watermark}) }}
{%- endmacro %}

{#- The people in scope: a semi-join with the log, read up to `log_max` (a literal). -#}
{% macro people_in_scope(scope) -%}
    (select distinct person_key from {{ changed_people_log() }} where id <= {{ scope.log_max }})
{%- endmacro %}

{% macro in_people_scope(scope) -%}
    person_key in {{ people_in_scope(scope) }}
{%- endmacro %}

{#- The newest fct_registrations `_watermark` the build saw, as a column value. -#}
{% macro people_watermark_literal(scope) -%}
    {%- if scope.watermark is none -%}
        null::timestamptz
    {%- else -%}
        '{{ scope.watermark }}'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#- The marker rows of strategy replace_scope for a person-keyed model: one per person in
    scope, every column null but person_key (see scope_markers in macros/incremental.sql). -#}
{% macro people_scope_markers(scope, rows) -%}
    {%- if execute and is_incremental() -%}
        select
        {%- for column in adapter.get_columns_in_relation(this) %}
            {% if column.name == 'person_key' -%}
                scope_people.person_key
            {%- else -%}
                null::{{ column.data_type }} as {{ adapter.quote(column.name) }}
            {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ people_in_scope(scope) }} as scope_people
    {%- else -%}
        select * from {{ rows }} where false
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of a consumer: the fingerprint of the seeds it was built with goes into the table
    comment; with `empty_log_with` (the other consumers, which ran before), the log up to what
    all of them read is done with and deleted. -#}
{% macro people_scope_finish(fingerprint_sql, empty_log_with=none) -%}
    {%- if execute -%}
        {%- set fingerprint = run_query(fingerprint_sql).rows[0][0] -%}
        do $people_scope$
        begin
            {%- if empty_log_with is not none %}
            if to_regclass('{{ changed_people_log() }}') is not null then
                delete from {{ changed_people_log() }}
                where id <= least(
                    (select coalesce(max(_log_id), 0) from {{ this }})
                    {%- for relation in empty_log_with %},
                    (select coalesce(max(_log_id), 0) from {{ relation }})
                    {%- endfor %}
                );
            end if;
            {%- endif %}
            execute format('comment on table %s is %L', '{{ this }}', '{{ fingerprint }}');
        end
        $people_scope$
    {%- endif -%}
{%- endmacro %}

{#- What changes people's rows without a registration changing: the seeds behind dim_webinars'
    is_internal / course / language, and the reporting time zone (first_seen_date, cohorts). -#}
{% macro audience_people_fingerprint_sql() -%}
    select md5(concat_ws(
        '|',
        (select string_agg(seed::text, ',' order by seed::text) from {{ ref('internal_webinars') }} as seed),
        (select string_agg(seed::text, ',' order by seed::text) from {{ ref('webinar_catalog_map') }} as seed),
        '{{ var("reporting_timezone", "Europe/Berlin") }}'
    ))
{%- endmacro %}
