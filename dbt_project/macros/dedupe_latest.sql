{#-
    Latest version of every raw record: one row per `_record_key`, the one loaded last
    (`_loaded_at`, then `_batch_id`, then `_row_seq`, all descending). Raw tables are
    append-only, so reruns and overlapping windows only add older versions that lose here.
    Every column is sorted descending (the key's direction is irrelevant to DISTINCT ON), so
    PostgreSQL can scan the raw tables' b-tree index on
    (_record_key, _loaded_at, _batch_id, _row_seq) backwards instead of sorting.

    Child entities whose `_record_key` embeds the parent id (BigMarker registrations and
    attendees, Zoom participants, Calendly invitees) pass `key='_parent_key, _record_key'`: the same rows
    (the parent is a function of the key), but a filter on the parent can then be pushed into
    the DISTINCT ON, so an incremental model reading a few conferences reads only their rows
    (index on (_parent_key, _record_key, ...) created by bootstrap.ensure_schema).
-#}
{% macro dedupe_latest(relation, key='_record_key') -%}
    select distinct on ({{ key }}) *
    from {{ relation }}
    order by
        {%- for part in key.split(',') %} {{ part | trim }} desc,{% endfor %}
        _loaded_at desc, _batch_id desc, _row_seq desc
{%- endmacro %}
