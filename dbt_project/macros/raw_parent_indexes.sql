{#-
    on-run-start hook: b-tree indexes on (_parent_key, _record_key, _loaded_at, _batch_id,
    _row_seq) of the raw child tables that incremental models filter by parent (see
    dedupe_latest). Idempotent; an advisory lock serialises concurrent dbt invocations (Cosmos
    runs several at once). Belongs in webinar_dwh.warehouse.bootstrap.ensure_schema; kept here
    until it moves there.
-#}
{% macro raw_parent_indexes() -%}
    {%- set tables = [source('bigmarker', 'registrations'), source('bigmarker', 'attendees')] -%}
    do $raw_parent_indexes$
    begin
        perform pg_advisory_xact_lock(hashtext('webinar_dwh.raw_parent_indexes'));
        {%- for relation in tables %}
        if to_regclass('{{ relation }}') is not null then
            create index if not exists {{ relation.identifier }}_parent_key_idx
                on {{ relation }} (_parent_key, _record_key, _loaded_at, _batch_id, _row_seq);
        end if;
        {%- endfor %}
    end
    $raw_parent_indexes$
{%- endmacro %}
